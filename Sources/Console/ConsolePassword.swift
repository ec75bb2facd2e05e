import Foundation

/// HTTP basic authentication for the console: the password is the first line of a file that
/// only its owner (and group) may read; any user name is accepted.
public struct ConsolePassword: Sendable {
    let password: [UInt8]

    public init(password: String) throws(ConsoleError) {
        guard !password.isEmpty else { throw ConsoleError("the password is empty") }
        self.password = Array(password.utf8)
    }

    /// Reads `path`; refuses a file that others may read (the password would not be one).
    public static func load(path: String) throws(ConsoleError) -> ConsolePassword {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ConsoleError("\(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o007 == 0 else {
            throw ConsoleError("\(path): mode \(String(st.st_mode & 0o777, radix: 8)) lets others read it; chmod 600 (or 640)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ConsoleError("\(path): cannot read") }
        // Bytes, not Characters: "\r\n" is one Character and would not split at "\n".
        var line = Array(data.prefix { $0 != 0x0A })
        if line.last == 0x0D { line.removeLast() }
        do { return try ConsolePassword(password: String(decoding: line, as: UTF8.self)) } catch {
            throw ConsoleError("\(path): the first line (the password) is empty")
        }
    }

    /// Whether an `Authorization` header carries the password (compared in constant time).
    public func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let given = Array(decoded[decoded.index(after: colon)...])
        var difference = UInt8(given.count == password.count ? 0 : 1)
        for i in 0..<password.count { difference |= password[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
