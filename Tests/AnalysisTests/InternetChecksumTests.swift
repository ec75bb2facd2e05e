import Testing
@testable import PacketCapture

@Suite("internet checksum")
struct InternetChecksumTests {
    @Test("RFC 1071 example sums to 0xddf2")
    func rfcExample() {
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(InternetChecksum.sum(bytes, 0..<bytes.count) == 0xDDF2)
        #expect(InternetChecksum.checksum(ofSum: 0xDDF2) == 0x220D)
    }

    @Test("odd lengths pad with zero")
    func oddLength() {
        #expect(InternetChecksum.sum([0x12, 0x34, 0x56], 0..<3) == 0x6834)
    }

    @Test("incremental update equals recomputation, over random data")
    func incrementalMatchesFull() {
        var random = SeededGenerator(seed: 1624)
        for _ in 0..<2_000 {
            var data = (0..<Int.random(in: 2...64, using: &random) * 2).map { _ in UInt8.random(in: 0...255, using: &random) }
            let checksum = InternetChecksum.checksum(ofSum: InternetChecksum.sum(data, 0..<data.count))
            let field = Int.random(in: 0..<(data.count / 2 - 1), using: &random) * 2
            let oldSum = InternetChecksum.sum(data, field..<field + 4)
            for index in field..<field + 4 { data[index] = UInt8.random(in: 0...255, using: &random) }
            let newSum = InternetChecksum.sum(data, field..<field + 4)
            let updated = InternetChecksum.adjusted(checksum, oldSum: oldSum, newSum: newSum)
            // Valid means: data plus checksum sums to 0xFFFF.
            let total = UInt32(InternetChecksum.sum(data, 0..<data.count)) + UInt32(updated)
            #expect(InternetChecksum.fold(UInt64(total)) == 0xFFFF)
        }
    }
}
