extension KeyedEncodingContainer {
    /// Writes `null` for nil: a response member the protocol documents is always present.
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
