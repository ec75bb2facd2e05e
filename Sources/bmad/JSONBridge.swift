import Control
import Foundation

/// Conversions between Codable/JSON data and the control protocol's JSONValue.
enum JSONBridge {
    static func value<T: Encodable>(_ v: T) -> JSONValue {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        guard let data = try? enc.encode(v), let j = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return j
    }

    static func value(data: Data) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .null
    }

    static func data(_ v: JSONValue) -> Data {
        (try? JSONEncoder().encode(v)) ?? Data("null".utf8)
    }

    static func decode<T: Decodable>(_ type: T.Type, from v: JSONValue) throws -> T {
        try JSONDecoder().decode(type, from: data(v))
    }
}
