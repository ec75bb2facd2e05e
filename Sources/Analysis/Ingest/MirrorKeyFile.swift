import BMAContract
import Foundation

/// The analyzer's mirror keys (`serve --sensor-keys FILE`): one key per line,
/// `SENSOR KEY_ID HEX32`, `#` starts a comment. A sensor has one or two keys (while a key is
/// replaced: the old and the new one). The file must not be readable by every user.
public enum MirrorKeyFile {
    public static func load(path: String) throws(SensorRegistryError) -> [String: [MirrorKey]] {
        var st = stat()
        guard stat(path, &st) == 0, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SensorRegistryError(message: "cannot read the key file '\(path)'")
        }
        guard st.st_mode & 0o007 == 0 else {
            throw SensorRegistryError(message: "the key file '\(path)' is accessible to every user (chmod 600 or 640)")
        }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String = "keys") throws(SensorRegistryError) -> [String: [MirrorKey]] {
        var keys: [String: [MirrorKey]] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 3, SensorRegistry.isValidName(String(fields[0])), let id = Int(fields[1]),
                  let key = MirrorKey(id: id, hex: fields[2]) else {
                throw SensorRegistryError(message: "\(name):\(number + 1): expected SENSOR KEY_ID(1-255) KEY(32 hex digits)")
            }
            keys[String(fields[0]), default: []].append(key)
        }
        return keys
    }
}
