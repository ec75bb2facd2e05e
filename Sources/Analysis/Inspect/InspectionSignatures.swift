/// The signatures BMA's inspection modules raise.
///
/// Signature ids live in BMA's own block, 9,200,000 – 9,201,999, outside the ranges that
/// public rule sets use (Snort/Suricata's below 1,000,000, local rules 1,000,000 – 1,999,999,
/// Emerging Threats 2,000,000 – 2,999,999), so BMA alerts and Suricata alerts can share one
/// index:
///
/// | range | module |
/// |---|---|
/// | 9,200,100 – 9,200,199 | scan (port and host scans) |
/// | 9,200,200 – 9,200,299 | dns-tunnel |
/// | 9,200,300 – 9,200,399 | exfiltration |
/// | 9,200,400 – 9,200,499 | beaconing |
/// | 9,200,500 – 9,200,599 | performance |
/// | 9,201,000 – 9,201,999 | external modules (the default id of each; their own ids pass through) |
///
/// Severities follow Suricata: 1 high, 2 medium, 3 low.
public enum InspectionSignatures {
    public static let portScan = Alert.Signature(
        signature: "BMA SCAN vertical port scan of one host", signature_id: 9_200_100,
        category: "Detection of a Network Scan", severity: 2)
    public static let hostScan = Alert.Signature(
        signature: "BMA SCAN horizontal sweep of many hosts", signature_id: 9_200_101,
        category: "Detection of a Network Scan", severity: 2)

    public static let dnsTunnel = Alert.Signature(
        signature: "BMA DNS tunnel suspected (encoded subdomains of one domain)", signature_id: 9_200_200,
        category: "Covert Channel", severity: 1)

    public static let exfiltration = Alert.Signature(
        signature: "BMA EXFIL large one-way upload to a new destination", signature_id: 9_200_300,
        category: "Data Exfiltration", severity: 1)

    public static let beaconing = Alert.Signature(
        signature: "BMA C2 periodic beaconing to one destination", signature_id: 9_200_400,
        category: "Command and Control", severity: 2)

    public static let slowHandshake = Alert.Signature(
        signature: "BMA PERF high TCP handshake RTT", signature_id: 9_200_500,
        category: "Network Performance", severity: 3)
    public static let retransmissions = Alert.Signature(
        signature: "BMA PERF high TCP retransmission rate", signature_id: 9_200_501,
        category: "Network Performance", severity: 3)
    public static let resets = Alert.Signature(
        signature: "BMA PERF many TCP resets", signature_id: 9_200_502,
        category: "Network Performance", severity: 3)
    public static let zeroWindows = Alert.Signature(
        signature: "BMA PERF TCP zero windows (receiver stalled)", signature_id: 9_200_503,
        category: "Network Performance", severity: 3)

    /// The default id of an external module's wrapped output.
    public static let externalDefaultID = 9_201_000

    public static let all: [Alert.Signature] = [
        portScan, hostScan, dnsTunnel, exfiltration, beaconing, slowHandshake, retransmissions, resets, zeroWindows,
    ]
}
