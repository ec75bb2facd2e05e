/// The filter of the alerts page, and the time range every live page carries in its links
/// (times as typed: the CLI's forms).
public struct ConsoleFilter: Sendable, Equatable {
    public var vm: String?
    public var signature: String?
    public var since: String?
    public var until: String?

    public init(vm: String? = nil, signature: String? = nil, since: String? = nil, until: String? = nil) {
        self.vm = vm
        self.signature = signature
        self.since = since
        self.until = until
    }
}

/// Where pages link to: the live console's routes, or the files of a static report (relative,
/// so a report directory can be moved, mailed or archived whole).
struct ConsoleLinks: Sendable {
    var isStatic: Bool
    /// The live pages' time range, kept from page to page.
    var range = ConsoleFilter()

    var overview: String { isStatic ? "index.html" : "/" + query([]) }
    var actions: String { isStatic ? "actions.html" : "/actions" + query([]) }

    func vm(_ id: UInt32) -> String { isStatic ? "vm-\(id).html" : "/vm/\(id)" + query([]) }

    func alerts(_ filter: ConsoleFilter) -> String {
        if isStatic { return "alerts.html" }
        return "/alerts" + query([("vm", filter.vm), ("signature", filter.signature)])
    }

    func alert(_ id: String) -> String { isStatic ? "alert-\(id).html" : "/alerts/\(id)" }
    func alertPcap(_ id: String) -> String { isStatic ? "pcap/alert-\(id).pcap" : "/alerts/\(id)/pcap" }

    private func query(_ extra: [(String, String?)]) -> String {
        let items = (extra + [("since", range.since), ("until", range.until)]).compactMap { k, v in
            v.flatMap { $0.isEmpty ? nil : "\(k)=\(Self.encode($0))" }
        }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }

    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
