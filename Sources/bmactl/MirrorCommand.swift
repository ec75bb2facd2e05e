import ArgumentParser
import BMAContract
import Control
import Foundation

struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror", abstract: "Force mirroring, or cancel it.", subcommands: [Force.self, Cancel.self])

    struct Force: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mirror a VM (or one of its flows) regardless of its score, for a while.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The VM (name or id).")
        var vm: String

        @Option(help: ArgumentHelp("How long to mirror.", valueName: "seconds"))
        var seconds: Double

        @Option(help: ArgumentHelp(
            "Only this flow: source and destination address, protocol (name or number), source and destination port.",
            valueName: "src,dst,proto,sport,dport"))
        var flow: String?

        func validate() throws {
            guard seconds.isFinite, seconds > 0 else { throw ValidationError("--seconds must be a positive number") }
            if let flow { _ = try Self.flow(flow) }
        }

        /// `10.0.0.1,10.0.0.2,udp,5353,53` → `{src, dst, proto, src_port, dst_port}`.
        static func flow(_ text: String) throws(ValidationError) -> MirrorForceRequest.Flow {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 5, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
                throw ValidationError("--flow needs five fields: SRC,DST,PROTO,SPORT,DPORT (got '\(text)')")
            }
            func port(_ s: String, _ what: String) throws(ValidationError) -> UInt16 {
                guard let p = UInt16(s) else {
                    throw ValidationError("--flow: the \(what) port must be 0-65535, got '\(s)'")
                }
                return p
            }
            return MirrorForceRequest.Flow(source: parts[0], destination: parts[1], protocolName: parts[2].lowercased(),
                                           sourcePort: try port(parts[3], "source"), destinationPort: try port(parts[4], "destination"))
        }

        func run() throws {
            let request = MirrorForceRequest(vm: VMReference(text: vm), seconds: seconds, flow: try flow.map(Self.flow))
            try global.run(request) { result in
                guard result["until"] != nil else { return Output.lines(KeyValueText.lines(result)) }
                let who = result["vm"].map(Field.text) ?? vm
                let what = flow == nil ? "all traffic of \(who)" : "flow \(flow!) of \(who)"
                Output.line("mirroring \(what) until \(TimeText.instant(result["until"]))")
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a forced mirroring of a VM (or of one of its flows) before it expires.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The VM (name or id).")
        var vm: String

        @Option(help: ArgumentHelp("Only this flow, as given to `mirror force`.", valueName: "src,dst,proto,sport,dport"))
        var flow: String?

        func validate() throws {
            if let flow { _ = try Force.flow(flow) }
        }

        func run() throws {
            try global.run(MirrorForceRequest(vm: VMReference(text: vm), seconds: 0, flow: try flow.map(Force.flow))) { result in
                let who = result["vm"].map(Field.text) ?? vm
                Output.line("forced mirroring of \(flow.map { "flow \($0) of " } ?? "")\(who) cancelled")
            }
        }
    }
}

enum TimeText {
    /// `until` and similar instants: a Unix time as local ISO 8601 (plus "in 30s"), a string
    /// as sent.
    static func instant(_ v: JSONValue?) -> String {
        guard let t = Field.number(v) else { return Field.text(v) }
        guard t > 1_000_000_000 else { return Units.plain(t) }
        let date = Date(timeIntervalSince1970: t)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss ZZZZZ"
        let left = t - Date().timeIntervalSince1970
        return f.string(from: date) + (left > 0 ? " (in \(Units.duration(left.rounded())))" : "")
    }
}
