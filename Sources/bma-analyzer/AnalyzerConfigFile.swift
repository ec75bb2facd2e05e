import ControlProtocol
import Foundation
import Yams

/// `serve`'s YAML configuration (/etc/bma/analyzer.yaml, documented in
/// config/analyzer.example.yaml). Each key is one of serve's options, spelled with "_"
/// (`retention_bytes: 200G` is `--retention-bytes 200G`); the file becomes arguments placed before
/// the command line's, so flags given there win (lists such as `sensors` are added to).
enum AnalyzerConfigFile {
    static let defaultPath = "/etc/bma/analyzer.yaml"

    enum Kind { case text, size, integer, number, flag, invertibleFlag, pairs(separator: String), structured }

    /// Every key the file may hold, and what it takes.
    static let keys: [String: Kind] = [
        "listen": .text, "sensors": .pairs(separator: "="), "sensor_keys": .text, "loopback_sensor": .invertibleFlag,
        "geneve_port": .integer, "vxlan_port": .integer, "erspan": .flag, "socket": .text, "status_interval": .number,
        "metrics_listen": .text, "console_listen": .text, "console_password_file": .text,
        "store": .text, "retention_bytes": .size, "min_free_bytes": .size, "rotate_bytes": .size, "rotate_seconds": .integer,
        "flush_interval": .number, "packet_comments": .flag, "store_group": .text, "eve": .text,
        "vm_names": .pairs(separator: "="), "modules": .pairs(separator: "="), "response": .structured,
    ]

    /// The singular flag of a list key.
    static let listFlags = ["sensors": "--sensor", "vm_names": "--vm-name", "modules": "--module"]

    /// `serve ARGS` with the configuration file's arguments first: `--config PATH`, else the
    /// default file when it exists.
    static func expand(_ arguments: [String]) throws(AnalyzerFailure) -> [String] {
        guard arguments.first == "serve", !arguments.contains("--help"), !arguments.contains("-h") else { return arguments }
        var path: String?
        for (i, a) in arguments.enumerated() {
            if a == "--config" { path = i + 1 < arguments.count ? arguments[i + 1] : nil }
            if a.hasPrefix("--config=") { path = String(a.dropFirst("--config=".count)) }
        }
        if path == nil, FileManager.default.fileExists(atPath: defaultPath) { path = defaultPath }
        guard let path else { return arguments }
        return ["serve"] + (try self.arguments(path: path)) + arguments.dropFirst()
    }

    static func arguments(path: String) throws(AnalyzerFailure) -> [String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            // describe() names the path itself: say it once.
            let reason = AnalyzerFailure.describe(error)
            let why = reason.hasPrefix(path + ": ") ? String(reason.dropFirst(path.count + 2)) : reason
            throw .notFound("\(path): cannot read the configuration file: \(why)")
        }
        return try arguments(yaml: text, path: path)
    }

    static func arguments(yaml text: String, path: String) throws(AnalyzerFailure) -> [String] {
        func fail(_ field: String, _ message: String) -> AnalyzerFailure { .usage("\(path): \(field): \(message)") }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw .usage("\(path): not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        }
        guard let node else { return [] }
        guard let root = node.mapping else { throw .usage("\(path): the configuration must be a YAML mapping (listen:, store:, ...)") }
        var out: [String] = []
        for (k, v) in root {
            guard let key = k.string else { throw fail("\(k)", "keys must be strings") }
            guard let kind = keys[key] else {
                let hint = Suggestion.closest(to: key, among: Array(keys.keys)).map { "; did you mean '\($0)'?" } ?? ""
                throw fail(key, "unknown field\(hint)")
            }
            let flag = "--" + key.replacingOccurrences(of: "_", with: "-")
            switch kind {
            case .pairs(let separator):
                guard let map = v.mapping else { throw fail(key, "must be a mapping (name: value)") }
                for (name, value) in map {
                    // A list (sensors: {hv1: [192.0.2.1, 192.0.2.2]}) is the flag's comma-separated form.
                    let joined = value.sequence.map { $0.compactMap(\.string).joined(separator: ",") } ?? value.string
                    guard let n = name.string, let s = joined, !n.isEmpty, !s.isEmpty else {
                        throw fail("\(key).\(name.string ?? "?")", "must be a non-empty text")
                    }
                    out += [listFlags[key]!, n + separator + s]
                }
            case .structured:
                // A section with its own fields (response:), handed over as JSON.
                guard v.mapping != nil else { throw fail(key, "must be a mapping") }
                out += [flag, try JSONText.from(v, field: key, fail: fail)]
            case .flag, .invertibleFlag:
                guard let b = v.bool else { throw fail(key, "'\(v.string ?? "")' is not true or false") }
                if b { out.append(flag) } else if case .invertibleFlag = kind { out.append("--no-" + flag.dropFirst(2)) }
            case .text, .size, .integer, .number:
                guard let s = v.string, v.mapping == nil, v.sequence == nil else { throw fail(key, "must be a single value") }
                switch kind {
                case .size where ByteSize.parse(s) == nil: throw fail(key, "'\(s)' is not a size (bytes, or 512M, 200G, 2T)")
                case .integer where Int(s) == nil: throw fail(key, "'\(s)' is not an integer")
                case .number where Double(s) == nil: throw fail(key, "'\(s)' is not a number")
                default: break
                }
                out += [flag, s]
            }
        }
        return out
    }
}

/// A YAML section as JSON text: mappings, sequences, and scalars as booleans, numbers or strings.
enum JSONText {
    static func from(_ node: Node, field: String, fail: (String, String) -> AnalyzerFailure) throws(AnalyzerFailure) -> String {
        let value = try json(node, field: field, fail: fail)
        return value.encodedString()
    }

    private static func json(_ node: Node, field: String, fail: (String, String) -> AnalyzerFailure) throws(AnalyzerFailure) -> JSONValue {
        if let m = node.mapping {
            var o: [String: JSONValue] = [:]
            for (k, v) in m {
                guard let key = k.string else { throw fail(field, "keys must be strings") }
                o[key] = try json(v, field: "\(field).\(key)", fail: fail)
            }
            return .object(o)
        }
        if let s = node.sequence {
            var a: [JSONValue] = []
            for (i, v) in s.enumerated() { a.append(try json(v, field: "\(field)[\(i)]", fail: fail)) }
            return .array(a)
        }
        guard let scalar = node.scalar else { throw fail(field, "unsupported YAML node") }
        if scalar.style == .plain {
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .number(Double(i)) }
            if let d = node.float { return .number(d) }
            if node.null != nil { return .null }
        }
        return .string(scalar.string)
    }
}
