import Foundation

/// Why a text is not JSON.
public struct JSONParseError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// The byte offset where reading stopped, when known.
    public var offset: Int?

    public var description: String { offset.map { "\(message) at byte \($0)" } ?? message }
}

/// JSON text through Foundation's JSONDecoder and JSONEncoder, the project's one JSON
/// implementation. Reading checks the nesting depth first (the protocol's limit, which also
/// bounds the decoder's recursion); writing gives one line: keys sorted, control characters
/// escaped, exact integers without a fraction, non-finite numbers as null.
extension JSONValue {
    /// Nesting deeper than this is refused.
    public static let maxDepth = 128

    /// Reads one JSON value (RFC 8259) from UTF-8 bytes; surrounding whitespace is allowed,
    /// anything else after the value is an error. Never traps on any input.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws(JSONParseError) -> JSONValue
    where Bytes.Element == UInt8 {
        let data = Data(bytes)
        try checkStructure(data)
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw JSONParseError(message: describe(error), offset: nil)
        }
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Refuses nesting deeper than `maxDepth` without decoding anything, and the trailing
    /// commas (`[1,]`) RFC 8259 forbids but Foundation's decoder accepts.
    static func checkStructure(_ data: Data) throws(JSONParseError) {
        var depth = 0, inString = false, escaped = false
        var previous: UInt8 = 0 // the last byte outside strings that is not whitespace
        for (offset, byte) in data.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    previous = byte
                }
                continue
            }
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { continue }
            defer { previous = byte }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { throw JSONParseError(message: "nested too deeply (more than \(maxDepth) levels)", offset: offset) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if previous == UInt8(ascii: ",") { throw JSONParseError(message: "a comma before '\(Character(Unicode.Scalar(byte)))'", offset: offset) }
                depth -= 1
            default: break
            }
        }
    }

    /// A decoding error's own words, without Foundation's type dump.
    static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            let underlying = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    public func encodedBytes() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every JSONValue encodes (non-finite numbers as null): this cannot fail.
        return Array((try? e.encode(self)) ?? Data("null".utf8))
    }

    public func encodedString() -> String {
        String(decoding: encodedBytes(), as: UTF8.self)
    }

    /// The value followed by a newline: one line of the control protocol.
    public func encodedLine() -> [UInt8] {
        var out = encodedBytes()
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
