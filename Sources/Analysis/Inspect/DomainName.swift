import Foundation

/// Helpers on DNS names given as raw labels: the registered domain, the part under it, and how
/// random it looks.
enum DomainName {
    /// Second-level labels that ccTLD registries sell under ("example.co.uk", "example.com.au").
    /// Without the Public Suffix List this covers the common cases; a missed suffix only makes
    /// the "registered domain" one label shorter, which still groups a tunnel's names together.
    static let secondLevelSuffixes: Set<String> = [
        "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "mil", "gob", "nic", "ltd", "plc", "sch",
        "gen", "biz", "info", "nom", "ad", "lg", "ed", "gr",
    ]

    /// Lowercases ASCII letters; other octets unchanged.
    static func lowercased(_ label: [UInt8]) -> [UInt8] {
        label.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
    }

    /// How many trailing labels make the registered domain: 2 ("example.com"), 3 under a
    /// ccTLD's second-level suffix ("example.co.uk"), all of them for shorter names.
    static func registeredLabelCount(_ labels: [[UInt8]]) -> Int {
        guard labels.count > 2 else { return labels.count }
        let tld = lowercased(labels[labels.count - 1])
        let second = String(decoding: lowercased(labels[labels.count - 2]), as: UTF8.self)
        if tld.count == 2, secondLevelSuffixes.contains(second) { return 3 }
        return 2
    }

    /// The registered domain in presentation form, lowercased.
    static func registeredDomain(_ labels: [[UInt8]]) -> String {
        let count = registeredLabelCount(labels)
        return PacketView.DNS.presentation(labels.suffix(count).map(lowercased))
    }

    /// The labels under the registered domain.
    static func subdomainLabels(_ labels: [[UInt8]]) -> ArraySlice<[UInt8]> {
        labels.prefix(labels.count - registeredLabelCount(labels))
    }

    /// True when every octet is a letter, digit, hyphen or underscore.
    static func isHostnameLabel(_ label: [UInt8]) -> Bool {
        label.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F
        }
    }

    /// Shannon entropy in bits per octet of a histogram of `total` octets.
    static func entropy(_ histogram: [UInt32], total: Int) -> Double {
        guard total > 0 else { return 0 }
        let n = Double(total)
        var bits = 0.0
        for count in histogram where count > 0 {
            let p = Double(count) / n
            bits -= p * log2(p)
        }
        return bits
    }

    /// A 64-bit FNV-1a hash of labels (lowercased), to count distinct names in fixed space.
    static func hash(_ labels: ArraySlice<[UInt8]>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for label in labels {
            for octet in label {
                hash ^= UInt64((0x41...0x5A).contains(octet) ? octet | 0x20 : octet)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0x2E
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
