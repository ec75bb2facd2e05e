import Foundation
import Testing
@testable import Console

/// What the console accepts as its address and password, and how it reads a request.
@Suite("Console: address, password, query")
struct ConsoleSettingsTests {
    @Test("HOST:PORT, [IPv6]:PORT and off; loopback or not")
    func listen() throws {
        #expect(try ConsoleListen.parse("off") == nil)
        #expect(try ConsoleListen.parse("127.0.0.1:9467") == ConsoleListen(host: "127.0.0.1", port: 9467))
        #expect(try ConsoleListen.parse("[::1]:80") == ConsoleListen(host: "::1", port: 80))
        #expect(try ConsoleListen.parse("localhost:0")?.isLoopback == true)
        #expect(try ConsoleListen.parse("127.1.2.3:1")?.isLoopback == true)
        #expect(try ConsoleListen.parse("0.0.0.0:9467")?.isLoopback == false)
        #expect(try ConsoleListen.parse("[::]:9467")?.isLoopback == false)
        #expect(try ConsoleListen.parse("192.0.2.10:8080")?.isLoopback == false)
        #expect(ConsoleListen(host: "::1", port: 80).description == "[::1]:80")
        for bad in ["", "9467", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", ":80", "host.example:80", "::1:80", "[::1]80"] {
            #expect(throws: ConsoleError.self, "\(bad)") { try ConsoleListen.parse(bad) }
        }
    }

    @Test("basic authentication: the password, whatever the user name, nothing else")
    func password() throws {
        let p = try ConsolePassword(password: "s3cret pass")
        func basic(_ s: String) -> String { "Basic " + Data(s.utf8).base64EncodedString() }
        #expect(p.accepts(authorization: basic("analyst:s3cret pass")))
        #expect(p.accepts(authorization: basic(":s3cret pass")))
        #expect(p.accepts(authorization: basic("a:b:s3cret pass")) == false, "the password follows the first colon")
        #expect(p.accepts(authorization: basic("analyst:s3cret pas")) == false)
        #expect(p.accepts(authorization: basic("analyst:s3cret passs")) == false)
        #expect(p.accepts(authorization: basic("s3cret pass")) == false, "no user part")
        #expect(p.accepts(authorization: nil) == false)
        #expect(p.accepts(authorization: "Bearer s3cret pass") == false)
        #expect(p.accepts(authorization: "Basic %%%") == false)
        #expect(throws: ConsoleError.self) { try ConsolePassword(password: "") }
    }

    @Test("a password file: its first line, and only when others cannot read it")
    func passwordFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("console-pw-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pw"
        try "first line\r\nsecond\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let p = try ConsolePassword.load(path: file)
        #expect(p.accepts(authorization: "Basic " + Data("x:first line".utf8).base64EncodedString()))
        chmod(file, 0o644)
        #expect(throws: ConsoleError.self) { try ConsolePassword.load(path: file) }
        try "\nsecond\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        #expect(throws: ConsoleError.self) { try ConsolePassword.load(path: file) }
        #expect(throws: ConsoleError.self) { try ConsolePassword.load(path: dir + "/none") }
    }

    @Test("query strings as forms send them")
    func query() {
        let q = ConsoleRequest.parseQuery("signature=BMA+SCAN+port%2Bscan&vm=cam1&vm=cam2&since=&bad=%ZZ&=x")
        #expect(q["signature"] == "BMA SCAN port+scan")
        #expect(q["vm"] == "cam1", "the first of repeated names")
        #expect(q["since"] == "")
        #expect(ConsoleRequest(query: q).value("since") == nil, "empty is not given")
        #expect(q["bad"] == "", "undecodable is empty, not a crash")
        #expect(q[""] == nil)
    }

    @Test("EVE timestamps to ns, and back")
    func timestamps() {
        #expect(StoredAlert.nanoseconds("2021-03-11T15:22:15.831389+0000") == 1_615_476_135_831_389_000)
        #expect(StoredAlert.nanoseconds("2021-03-11T16:22:15.831389+01:00") == 1_615_476_135_831_389_000)
        #expect(StoredAlert.nanoseconds("1970-01-01T00:00:00Z") == 0)
        #expect(StoredAlert.nanoseconds("2021-13-11T15:22:15Z") == nil)
        #expect(StoredAlert.nanoseconds("yesterday") == nil)
        #expect(HTML.time(1_615_476_135_831_389_000) == "2021-03-11 15:22:15")
    }

    @Test("text in pages is escaped")
    func escaping() {
        #expect(HTML.escape("<script>\"a\" & 'b'</script>") == "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;")
        #expect(ConsoleLinks.encode("BMA SCAN/é") == "BMA%20SCAN%2F%C3%A9")
    }
}
