import OutpostWire
import OutpostAgent

/// One device's figures for the report.
public struct DeviceSnapshot: Sendable, Equatable {
    public var device: DeviceID
    public var buffer: BufferID
    /// The highest seq the buffer ever gave out: every reading it captured, across runs.
    public var lastSeq: Int64
    /// Readings not yet acknowledged by the centre (on disk or waiting for their commit).
    public var pending: Int64
    public var dropped: Int64
    /// Readings the centre acknowledged while this process ran.
    public var ackedThisRun: Int64
}
