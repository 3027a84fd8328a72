/// The closing report: one row per device, the totals, the faults by kind, and the
/// line `N passed, M failed`, where the checks are one per device plus one for the
/// processes (every restart worked, nothing died without being killed).
public struct CampaignSummary: Sendable {
    public let verdicts: [DeviceVerdict]
    public let faults: [FaultRecord]
    public let unexpectedExits: [String]
    public let restartFailures: [String]
    public let wallSeconds: Double

    public init(verdicts: [DeviceVerdict], faults: [FaultRecord], unexpectedExits: [String], restartFailures: [String],
                wallSeconds: Double) {
        self.verdicts = verdicts
        self.faults = faults
        self.unexpectedExits = unexpectedExits
        self.restartFailures = restartFailures
        self.wallSeconds = wallSeconds
    }

    public var processesPassed: Bool { unexpectedExits.isEmpty && restartFailures.isEmpty }
    public var passed: Int { verdicts.filter(\.passed).count + (processesPassed ? 1 : 0) }
    public var failed: Int { verdicts.filter { !$0.passed }.count + (processesPassed ? 0 : 1) }

    public func total(_ value: KeyPath<DeviceVerdict, Int64>) -> Int64 { verdicts.reduce(0) { $0 + $1[keyPath: value] } }

    public var lines: [String] {
        var lines = [Self.row(["device", "buffer", "captured", "stored", "dup", "missing", "unexpected", "pending", "dropped", "verdict"])]
        for verdict in verdicts {
            lines.append(Self.row([
                verdict.device, verdict.buffer.map { Self.hex($0) } ?? "-", "\(verdict.captured)", "\(verdict.stored)",
                "\(verdict.duplicates)", "\(verdict.missing)", "\(verdict.unexpected)", "\(verdict.pending)", "\(verdict.dropped)",
                verdict.passed ? "pass" : "FAIL",
            ]))
        }
        for verdict in verdicts where !verdict.passed {
            lines.append("FAIL \(verdict.device): \(verdict.problems.map(\.description).joined(separator: "; "))")
        }
        lines.append("totals: captured \(total(\.captured)), stored \(total(\.stored)), duplicates \(total(\.duplicates)), "
                     + "missing \(total(\.missing)), unexpected \(total(\.unexpected)), pending \(total(\.pending)), dropped \(total(\.dropped))")
        let byKind = FaultKind.allCases.map { kind in "\(kind.rawValue) \(faults.filter { $0.kind == kind }.count)" }
        lines.append("faults: \(faults.count) (\(byKind.joined(separator: ", "))); restarted \(faults.filter { $0.restartedPID != nil }.count)")
        lines.append("processes: \(restartFailures.count) failed restart(s), \(unexpectedExits.count) unexpected exit(s)"
                     + (processesPassed ? " — pass" : " — FAIL"))
        for failure in restartFailures { lines.append("FAIL restart: \(failure)") }
        for exit in unexpectedExits { lines.append("FAIL unexpected exit: \(exit)") }
        lines.append("checks: \(verdicts.count) device(s) + 1 process check; wall time \(Reporter.format(wallSeconds)) s")
        lines.append("\(passed) passed, \(failed) failed")
        return lines
    }

    static func hex(_ buffer: Int64) -> String {
        let digits = String(UInt64(bitPattern: buffer), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static let widths = [16, 16, 9, 9, 5, 8, 11, 8, 8, 8]

    private static func row(_ cells: [String]) -> String {
        zip(cells, widths).enumerated().map { index, pair in
            let (cell, width) = pair
            let padding = String(repeating: " ", count: max(0, width - cell.count))
            return index < 2 ? cell + padding : padding + cell
        }.joined(separator: " ")
    }
}
