/// MQTT topic-filter matching (`+` one level, `#` the rest), as a broker applies it.
public enum TopicFilter {
    /// True when `topic` matches `filter`. A `$share/{group}/` prefix on the filter is ignored,
    /// and topics starting with `$` match no filter starting with a wildcard (MQTT 3.1.1 §4.7.2).
    public static func matches(_ filter: String, _ topic: String) -> Bool {
        var filterLevels = filter.split(separator: "/", omittingEmptySubsequences: false)
        if filterLevels.first == "$share", filterLevels.count > 2 { filterLevels.removeFirst(2) }
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = filterLevels.first, first == "+" || first == "#" { return false }
        var index = 0
        while index < filterLevels.count {
            let level = filterLevels[index]
            if level == "#" { return index == filterLevels.count - 1 }
            guard index < topicLevels.count else { return false }
            if level != "+" && level != topicLevels[index] { return false }
            index += 1
        }
        return index == topicLevels.count
    }
}
