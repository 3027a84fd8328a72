extension ReadingsPage: JSONBodyEncodable where Item: JSONBodyEncodable {
    func write(to body: inout JSONBody) throws {
        body.open("{")
        body.key("bucket")
        body.string(bucket)
        body.key("device")
        body.string(device)
        body.key("items")
        try body.array(items)
        body.key("metric")
        body.string(metric)
        body.key("nextCursor")
        body.string(nextCursor)
        body.close("}")
    }
}

extension ReadingsStore.Aggregate: JSONBodyEncodable {
    func write(to body: inout JSONBody) throws {
        body.open("{")
        body.key("avg")
        try body.number(avg)
        body.key("count")
        body.integer(count)
        body.key("max")
        try body.number(max)
        body.key("min")
        try body.number(min)
        body.key("start")
        body.date(start)
        body.close("}")
    }
}

extension ReadingsStore.RawReading: JSONBodyEncodable {
    func write(to body: inout JSONBody) throws {
        body.open("{")
        body.key("ts")
        body.date(ts)
        body.key("value")
        try body.number(value)
        body.close("}")
    }
}
