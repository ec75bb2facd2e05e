extension PacketView {
    /// A DNS message's header and its first question.
    public struct DNS: Sendable, Equatable {
        public struct Question: Sendable, Equatable {
            /// The labels as sent (raw octets: tunnels put arbitrary bytes in them).
            public var labels: [[UInt8]]
            public var type: UInt16
            public var qclass: UInt16

            /// Presentation form: labels joined by ".", printable ASCII kept, "." and "\" escaped
            /// with a backslash, other octets as \DDD (as dig prints them); "." for the root.
            public var name: String { DNS.presentation(labels) }
            /// Bytes of the name on the wire, uncompressed (length octets included).
            public var nameLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }
        }

        /// Common record types by number, for reports.
        public static let typeNames: [UInt16: String] = [
            1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
            28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB",
            65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY", 257: "CAA",
        ]
        /// Compression pointers followed in one name at most.
        public static let maximumPointerJumps = 16
        public static let maximumNameLength = 255

        public var id: UInt16
        public var isResponse: Bool
        public var opcode: UInt8
        public var responseCode: UInt8
        public var questionCount: Int
        public var answerCount: Int
        public var authorityCount: Int
        public var additionalCount: Int
        /// The first question; nil when there is none or it does not decode.
        public var question: Question?
        /// True when the message announced a question that did not decode.
        public var questionMalformed: Bool

        public static func typeName(_ type: UInt16) -> String { typeNames[type] ?? "TYPE\(type)" }

        /// Decodes the message in `bytes[start..<end]`; nil when even the 12-byte header is not
        /// there. Never reads outside that range.
        init?(bytes: [UInt8], start: Int, end: Int) {
            let end = min(end, bytes.count)
            guard start >= 0, end - start >= 12 else { return nil }
            func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
            id = u16(start)
            let flags = u16(start + 2)
            isResponse = flags & 0x8000 != 0
            opcode = UInt8((flags >> 11) & 0x0F)
            responseCode = UInt8(flags & 0x0F)
            questionCount = Int(u16(start + 4))
            answerCount = Int(u16(start + 6))
            authorityCount = Int(u16(start + 8))
            additionalCount = Int(u16(start + 10))
            question = nil
            questionMalformed = false
            guard questionCount > 0 else { return }
            guard let (labels, after) = Self.readName(bytes, message: start, at: start + 12, end: end),
                  after + 4 <= end else {
                questionMalformed = true
                return
            }
            question = Question(labels: labels, type: u16(after), qclass: u16(after + 2))
        }

        /// Reads a possibly compressed name at `offset`; returns its labels and the offset just
        /// after the name where it started (after the first pointer, if any). Pointers must point
        /// backwards, at most `maximumPointerJumps` of them, and the name may not exceed 255
        /// octets: loops and bombs end in nil.
        static func readName(_ bytes: [UInt8], message: Int, at offset: Int, end: Int) -> ([[UInt8]], Int)? {
            var labels: [[UInt8]] = []
            var position = offset
            var resume: Int?
            var jumps = 0
            var total = 1
            while true {
                guard position >= message, position < end else { return nil }
                let length = Int(bytes[position])
                switch length & 0xC0 {
                case 0x00:
                    if length == 0 { return (labels, resume ?? position + 1) }
                    guard length <= end - position - 1 else { return nil }
                    total += length + 1
                    guard total <= maximumNameLength else { return nil }
                    labels.append(Array(bytes[(position + 1)...(position + length)]))
                    position += length + 1
                case 0xC0:
                    guard position + 1 < end, jumps < maximumPointerJumps else { return nil }
                    let target = message + ((length & 0x3F) << 8 | Int(bytes[position + 1]))
                    guard target < position else { return nil }
                    if resume == nil { resume = position + 2 }
                    jumps += 1
                    position = target
                default:
                    return nil  // 0x40 / 0x80: extended label types, obsolete
                }
            }
        }

        static func presentation(_ labels: [[UInt8]]) -> String {
            guard !labels.isEmpty else { return "." }
            var text = ""
            for (index, label) in labels.enumerated() {
                if index > 0 { text.append(".") }
                for octet in label {
                    switch octet {
                    case UInt8(ascii: "."), UInt8(ascii: "\\"):
                        text.append("\\")
                        text.append(Character(Unicode.Scalar(octet)))
                    case 0x21...0x7E:
                        text.append(Character(Unicode.Scalar(octet)))
                    default:
                        let digits = String(octet)
                        text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
                    }
                }
            }
            return text
        }
    }
}
