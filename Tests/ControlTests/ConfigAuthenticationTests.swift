import BMAContract
import Control
import Foundation
import XCTest

/// `mirror.authentication`: the key is read from a private file, for Geneve only.
final class ConfigAuthenticationTests: XCTestCase {
    private func config(_ authentication: String, encapsulation: String = "geneve") -> String {
        """
        uplink: u
        mirror:
          devargs: net_null9
          encapsulation: \(encapsulation)
          collectors: [192.0.2.10]
          authentication: \(authentication)
        vms: [{name: a, id: 1, devargs: x}]
        """
    }

    private func keyFile(_ text: String, mode: mode_t = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "bma-key-\(getpid())-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testKeyFromAPrivateFile() throws {
        let path = try keyFile("000102030405060708090a0b0c0d0e0f\n")
        let c = try ConfigLoader.parse(config("{key_id: 4, key_file: '\(path)'}"))
        XCTAssertEqual(c.mirror?.authentication, MirrorKey(id: 4, hex: "000102030405060708090a0b0c0d0e0f"))
        XCTAssertNil(try ConfigLoader.parse(config("null").replacingOccurrences(of: "  authentication: null\n", with: "")).mirror?.authentication,
                     "off by default")
    }

    func testErrorsNameTheField() throws {
        let good = try keyFile("000102030405060708090a0b0c0d0e0f")
        let open = try keyFile("000102030405060708090a0b0c0d0e0f", mode: 0o644)
        let short = try keyFile("0001020304")
        let cases: [(String, String, String)] = [
            (config("{key_id: 1, key_file: '\(good)'}", encapsulation: "vxlan"), "mirror.authentication", "geneve"),
            (config("{key_file: '\(good)'}"), "mirror.authentication.key_id", "required"),
            (config("{key_id: 0, key_file: '\(good)'}"), "mirror.authentication.key_id", ""),
            (config("{key_id: 1}"), "mirror.authentication.key_file", "required"),
            (config("{key_id: 1, key_file: '/nonexistent/key'}"), "mirror.authentication.key_file", "cannot read"),
            (config("{key_id: 1, key_file: '\(open)'}"), "mirror.authentication.key_file", "every user"),
            (config("{key_id: 1, key_file: '\(short)'}"), "mirror.authentication.key_file", "32 hex digits"),
            (config("{key_id: 1, key_file: '\(good)', key: x}"), "mirror.authentication.key", ""),
        ]
        for (yaml, field, words) in cases {
            XCTAssertThrowsError(try ConfigLoader.parse(yaml), yaml) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(field) && (words.isEmpty || text.contains(words)), "\(text)")
            }
        }
    }
}
