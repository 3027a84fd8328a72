/// The cameras this aggregator records now, each with its relay, SRTP key and the agent's
/// offer: live view joins a recorded camera's stream here instead of asking the agent for a
/// second one. Kept in memory only (the key never leaves this process but to Janus).
public actor RecordingIngress {
    struct Session: Sendable {
        let relay: RTPRelay
        let srtpKey: String
        let offer: String
    }

    private var sessions: [String: Session] = [:]

    public init() {}

    func set(_ device: String, _ session: Session?) { sessions[device] = session }
    func session(_ device: String) -> Session? { sessions[device] }
}
