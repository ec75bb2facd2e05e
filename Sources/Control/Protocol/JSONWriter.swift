/// Writes a `JSONValue` as compact JSON on a single line: object keys sorted, control characters
/// escaped (so no newline can appear inside), exact integers without a fraction, and the
/// non-finite numbers JSON cannot express written as `null`.
extension JSONValue {
    public func encodedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, to: &out)
        return out
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

enum JSONWriter {
    static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let d): writeNumber(d, to: &out)
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(o[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeNumber(_ d: Double, to out: inout [UInt8]) {
        if let i = JSONValue.exactInteger(d) {
            out.append(contentsOf: String(i).utf8)
        } else if d.isFinite {
            // Swift prints the shortest text that reads back as the same Double ("0.1", "1e+20").
            out.append(contentsOf: d.description.utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            // Copy runs of bytes that need no escape in one go.
            guard let base = utf8.baseAddress else { return }
            var runStart = 0
            var i = 0
            while i < utf8.count {
                let byte = base[i]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {  // control, '"', '\\'
                    out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart))
                    writeEscape(byte, to: &out)
                    runStart = i + 1
                }
                i += 1
            }
            out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: utf8.count - runStart))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeEscape(_ byte: UInt8, to out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [backslash, UInt8(ascii: "\"")])
        case backslash: out.append(contentsOf: [backslash, backslash])
        case UInt8(ascii: "\n"): out.append(contentsOf: [backslash, UInt8(ascii: "n")])
        case UInt8(ascii: "\r"): out.append(contentsOf: [backslash, UInt8(ascii: "r")])
        case UInt8(ascii: "\t"): out.append(contentsOf: [backslash, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [backslash, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [backslash, UInt8(ascii: "f")])
        default:
            out.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
    }
}
