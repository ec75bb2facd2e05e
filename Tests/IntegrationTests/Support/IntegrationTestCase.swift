import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Base of the integration tests: a scratch directory per test, and every process a test starts
/// stopped in `tearDown` (SIGTERM to its process group, then SIGKILL), even when the test failed
/// or threw.
class IntegrationTestCase: XCTestCase {
    private var children: [ChildProcess] = []
    private var scratchDirectories: [ScratchDirectory] = []
    private var startedAt = Date()
    private static let janitor: Void = DPDKRuntime.removeStaleFiles()

    override func setUpWithError() throws {
        try super.setUpWithError()
        Self.janitor
        startedAt = Date()
    }

    override func tearDownWithError() throws {
        for child in children.reversed() { child.kill(signal: SIGTERM, grace: 5) }
        children.removeAll()
        let failed = (testRun?.failureCount ?? 0) + (testRun?.unexpectedExceptionCount ?? 0) > 0
        for dir in scratchDirectories {
            if failed || ScratchDirectory.keep {
                print("\(name): scratch directory kept at \(dir.path)")
            } else {
                dir.remove()
            }
        }
        scratchDirectories.removeAll()
        print("\(name): wall time \(String(format: "%.2f", Date().timeIntervalSince(startedAt))) s")
        try super.tearDownWithError()
    }

    // MARK: Resources that tearDown releases

    func makeScratch() throws -> ScratchDirectory {
        let label = name.split(whereSeparator: { " .]".contains($0) }).last.map(String.init) ?? "test"
        let dir = try ScratchDirectory(label: label)
        scratchDirectories.append(dir)
        return dir
    }

    func startBmad(
        _ config: BmadConfiguration, in scratch: ScratchDirectory, name: String = "bmad",
        options: BmadProcess.Options = .init()
    ) throws -> BmadProcess {
        let bmad = try BmadProcess(config, in: scratch, name: name, options: options)
        children.append(bmad.child)
        return bmad
    }

    func startVM(
        _ name: String, socket: String, options: TestpmdVM.Options, in scratch: ScratchDirectory
    ) throws -> TestpmdVM {
        let vm = try TestpmdVM(name: name, socket: socket, options: options, in: scratch)
        children.append(vm.child)
        return vm
    }

    /// Waits for a vhost-user server socket (bmad creates it about a second after start).
    func waitForSocket(_ path: String, of bmad: BmadProcess, timeout: TimeInterval = 20) throws {
        try waitUntil("\(path) exists", timeout: timeout, context: { bmad.child.outputTail() }) {
            if !bmad.isRunning { throw ChildProcessError.exitedEarly("bmad", bmad.child.exitStatus!, bmad.child.outputTail()) }
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
        }
    }

    // MARK: Known bugs

    private var expectedFailureReason: String?
    private var expectedFailures = 0

    /// Runs `body`, whose assertions are known to fail because of `reason` (a bmad bug): their
    /// failures are printed, not recorded. If none fails, the test fails so that the marker is
    /// removed once the bug is fixed. (swift-corelibs-xctest has no XCTExpectFailure.)
    func expectFailure(_ reason: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) rethrows {
        expectedFailureReason = reason
        expectedFailures = 0
        do {
            try body()
        } catch {
            expectedFailureReason = nil
            throw error
        }
        expectedFailureReason = nil
        if expectedFailures == 0 {
            XCTFail("expected failure did not occur (\(reason)): the bug looks fixed, remove expectFailure", file: file, line: line)
        }
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        if let reason = expectedFailureReason {
            expectedFailures += 1
            print("\(filePath):\(lineNumber): expected failure (\(reason)): \(description)")
            return
        }
        super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
    }
}
