import XCTest

/// A test case that can mark assertions known to fail because of a bug in the code under test.
/// swift-corelibs-xctest has no XCTExpectFailure; this is its equivalent for these tests.
class DataplaneTestCase: XCTestCase {
    private var expectedFailureReason: String?
    private var expectedFailures = 0

    /// Runs `body`, whose assertions are known to fail because of `reason`: their failures are
    /// printed, not recorded. If none fails, the test fails, so that the marker is removed once the
    /// bug is fixed.
    func XCTExpectFailure(_ reason: String, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> Void) rethrows {
        expectedFailureReason = reason
        expectedFailures = 0
        defer { expectedFailureReason = nil }
        try body()
        expectedFailureReason = nil
        if expectedFailures == 0 {
            XCTFail("expected failure did not occur (\(reason)): the bug looks fixed, remove XCTExpectFailure",
                    file: file, line: line)
        }
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int,
                                expected: Bool) {
        if let reason = expectedFailureReason {
            expectedFailures += 1
            print("\(filePath):\(lineNumber): expected failure (\(reason)): \(description)")
            return
        }
        super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
    }
}
