import ControlProtocol
import Foundation

/// The VM names an operator gave (`--vm-name`, `vm_names:` in analyzer.yaml), kept in the store
/// as `vm-names.json` ({"101": "camera1"}) so that `query` and `alerts` take a VM by name or by
/// id, whichever the operator has at hand: alerts are stored under the name, packets by id.
enum StoreVMNames {
    static let fileName = "vm-names.json"

    static func load(_ directory: String) -> [UInt32: String] {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path),
              let raw = try? JSONDecoder().decode([String: String].self, from: data) else { return [:] }
        var names: [UInt32: String] = [:]
        for (k, v) in raw { if let id = UInt32(k) { names[id] = v } }
        return names
    }

    /// Adds `names` to what the store knows (a later name for an id replaces the earlier one).
    static func remember(_ names: [UInt32: String], in directory: String) throws(AnalyzerFailure) {
        guard !names.isEmpty else { return }
        var all = load(directory)
        for (id, name) in names { all[id] = name }
        let path = (directory as NSString).appendingPathComponent(fileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(Dictionary(uniqueKeysWithValues: all.map { (String($0.key), $0.value) }))
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            // The store is private: files 0640 like its segments and index.
            chmod(path, 0o640)
        } catch {
            throw AnalyzerFailure(AnalyzerFailure.describe(error))
        }
    }
}

/// `--vm` of query and alerts: an id (101), `vm101`, or a name the store knows.
struct VMSelection {
    var id: UInt32?
    /// How alerts may name it: its name and `vm<ID>`.
    var alertNames: Set<String>
    /// For messages: "camera1 (101)".
    var label: String

    static func resolve(_ text: String, store directory: String, requireKnown: Bool) throws(AnalyzerFailure) -> VMSelection {
        let names = StoreVMNames.load(directory)
        let digits = text.hasPrefix("vm") ? String(text.dropFirst(2)) : text
        if let id = UInt32(digits) {
            let name = names[id]
            return VMSelection(id: id, alertNames: Set(["vm\(id)"] + (name.map { [$0] } ?? [])),
                               label: name.map { "\($0) (\(id))" } ?? "\(id)")
        }
        if let (id, name) = names.first(where: { $0.value == text }) {
            return VMSelection(id: id, alertNames: [name, "vm\(id)"], label: "\(name) (\(id))")
        }
        if requireKnown || !names.isEmpty && suggestion(text, names) != nil {
            var message = "no VM named '\(text)' in store \(directory)"
            if let s = suggestion(text, names) { message += "; did you mean '\(s)'?" }
            message += names.isEmpty ? " (it knows no names: give an id, or --vm-name ID=NAME to serve or import)"
                : " (known: " + names.sorted { $0.key < $1.key }.map { "\($0.value)=\($0.key)" }.joined(separator: ", ") + ")"
            throw .notFound(message)
        }
        return VMSelection(id: nil, alertNames: [text], label: text)
    }

    private static func suggestion(_ text: String, _ names: [UInt32: String]) -> String? {
        Suggestion.closest(to: text, among: Array(names.values))
    }
}
