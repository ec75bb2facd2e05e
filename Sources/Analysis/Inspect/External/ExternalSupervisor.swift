import BMAContract
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The thread that runs an external module's program: starts it, feeds it pcap, reads its
/// lines, and kills and restarts it when it misbehaves. Everything here but `start`/`stop`
/// runs on that one thread; it talks to callers only through `ExternalShared`.
final class ExternalSupervisor: @unchecked Sendable {
    enum KillReason {
        case hung, flooding, longLine, stopping
    }

    let configuration: ExternalModule.Configuration
    let shared: ExternalShared
    let mapper: ExternalAlertMapper
    private let encoder: PcapEncoder
    private let startLock = NSLock()
    private var started = false
    private let finished = DispatchSemaphore(value: 0)

    // Thread-confined state of the current child.
    private var child: ExternalChildProcess?
    private var childStartNs: UInt64 = 0
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    /// End offsets in `pending` of each packet's record, to count packets lost with a child.
    private var pendingPacketEnds: [Int] = []
    private var closeStdinWhenWritten = false
    /// The pcap file header goes out with the first batch, so that an idle child has no
    /// pending input (and cannot be judged hung for not reading it).
    private var headerWritten = false
    private var written: UInt64 = 0
    private var consumed: UInt64 = 0
    private var lastProgressNs: UInt64 = 0
    private var lineBuffer: [UInt8] = []
    private var lineWindowStartNs: UInt64 = 0
    private var linesInWindow = 0
    private var killedNow = false
    /// Packets written to the current child, numbered from 1.
    private var references = CircularBuffer<ExternalPacketReference>()
    private var firstReferenceNumber = 1
    private var packetsSent = 0
    private var stderrTail: [UInt8] = []
    // Restart policy.
    private var failures = 0
    private var nextStartNs: UInt64 = 0

    init(configuration: ExternalModule.Configuration, shared: ExternalShared, mapper: ExternalAlertMapper) {
        self.configuration = configuration
        self.shared = shared
        self.mapper = mapper
        encoder = PcapEncoder(header: PcapFileHeader(
            resolution: configuration.nanosecondTimestamps ? .nanoseconds : .microseconds,
            snapLength: configuration.snapLength, linkType: .ethernet))
    }

    func start() {
        let shouldStart: Bool = startLock.withLock {
            guard !started else { return false }
            started = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "bma-external-\(configuration.name)"
        thread.start()
    }

    func stop(timeoutNs: UInt64) {
        let wasStarted: Bool = startLock.withLock { started }
        let alreadyStopping: Bool = shared.lock.withLock {
            defer { shared.stopping = true }
            return shared.stopping
        }
        guard wasStarted, !alreadyStopping else { return }
        shared.wake()
        _ = finished.wait(timeout: .now() + .nanoseconds(Int(min(timeoutNs, UInt64(Int.max)))))
    }

    // MARK: The loop

    private func run() {
        // Writes to a dead child's pipe raise SIGPIPE on this thread: block it here so the write
        // fails with EPIPE instead of killing the process.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

        while true {
            let now = SystemClock.monotonicNanoseconds()
            if shared.lock.withLock({ shared.stopping }) {
                if child != nil { terminate(.stopping, now: now) }
                break
            }
            let queue = shared.queueState()
            if child == nil, now >= nextStartNs, shouldStart(queue: queue, now: now) {
                startChild(now: now)
            }
            if child != nil { refill(queue: queue, now: now) }
            waitForEvents(queue: queue, now: now)
            guard child != nil else { continue }
            let after = SystemClock.monotonicNanoseconds()
            serviceChild(now: after)
            consumeSIGPIPE(pipeSignal)
        }
        shared.update { $0.running = false; $0.pid = nil }
    }

    private func batchReady(_ queue: (count: Int, oldestNs: UInt64?), now: UInt64) -> Bool {
        guard let oldest = queue.oldestNs else { return false }
        return queue.count >= configuration.batchPackets || now &- oldest >= configuration.batchDelayNs
    }

    private func shouldStart(queue: (count: Int, oldestNs: UInt64?), now: UInt64) -> Bool {
        switch configuration.mode {
        case .stream: true
        case .perBatch: batchReady(queue, now: now)
        }
    }

    private func waitForEvents(queue: (count: Int, oldestNs: UInt64?), now: UInt64) {
        var fds: [pollfd] = [pollfd(fd: shared.wakeRead, events: Int16(POLLIN), revents: 0)]
        if let child {
            if child.stdout >= 0 { fds.append(pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0)) }
            if child.stderr >= 0 { fds.append(pollfd(fd: child.stderr, events: Int16(POLLIN), revents: 0)) }
            if child.stdin >= 0, pendingOffset < pending.count {
                fds.append(pollfd(fd: child.stdin, events: Int16(POLLOUT), revents: 0))
            }
        }
        var timeoutMs: Int32 = 100
        if queue.count > 0 { timeoutMs = 20 }
        if child == nil, nextStartNs > now { timeoutMs = min(timeoutMs, Int32(clamping: (nextStartNs - now) / 1_000_000 + 1)) }
        _ = Glibc.poll(&fds, nfds_t(fds.count), timeoutMs)
        if fds[0].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 256)
            while read(shared.wakeRead, &sink, sink.count) > 0 {}
        }
    }

    private func consumeSIGPIPE(_ set: sigset_t) {
        var set = set
        var pendingSignals = sigset_t()
        sigpending(&pendingSignals)
        if sigismember(&pendingSignals, SIGPIPE) == 1 {
            var zero = timespec()
            _ = sigtimedwait(&set, nil, &zero)
        }
    }

    // MARK: Starting and feeding

    private func startChild(now: UInt64) {
        do {
            let process = try ExternalChildProcess.spawn(configuration.command, environment: configuration.environment)
            child = process
            childStartNs = now
            pending = []
            pendingOffset = 0
            pendingPacketEnds = []
            closeStdinWhenWritten = false
            written = 0
            consumed = 0
            lastProgressNs = now
            lineBuffer = []
            lineWindowStartNs = now
            linesInWindow = 0
            references = CircularBuffer()
            firstReferenceNumber = 1
            packetsSent = 0
            stderrTail = []
            headerWritten = false
            let restart = failures > 0
            shared.update {
                $0.starts += 1
                if restart { $0.restarts += 1 }
                $0.running = true
                $0.pid = process.pid
            }
            if configuration.mode == .perBatch {
                appendBatch()
                closeStdinWhenWritten = true
            }
        } catch {
            shared.update {
                $0.spawnFailures += 1
                $0.lastError = String(describing: error)
            }
            scheduleRestart(failed: true, now: now)
        }
    }

    /// Stream mode: moves a batch from the queue into the bytes to write once the previous one
    /// is (mostly) out.
    private func refill(queue: (count: Int, oldestNs: UInt64?), now: UInt64) {
        guard configuration.mode == .stream, let child, child.stdin >= 0 else { return }
        guard pending.count - pendingOffset < 64 * 1024, batchReady(queue, now: now) else { return }
        appendBatch()
    }

    private func appendBatch() {
        if pendingOffset > 0 {
            pending.removeFirst(pendingOffset)
            pendingPacketEnds = pendingPacketEnds.map { $0 - pendingOffset }.filter { $0 > 0 }
            pendingOffset = 0
        }
        let items = shared.dequeue(upTo: max(1, configuration.batchPackets))
        if !headerWritten, !items.isEmpty || configuration.mode == .perBatch {
            encoder.appendFileHeader(to: &pending)
            headerWritten = true
        }
        for item in items {
            encoder.appendRecord(item.record, to: &pending)
            pendingPacketEnds.append(pending.count)
            references.append(item.reference)
            packetsSent += 1
            if references.count > max(1, configuration.rememberedPackets) {
                references.removeFirst()
                firstReferenceNumber += 1
            }
        }
    }

    // MARK: Servicing

    private func serviceChild(now: UInt64) {
        guard let child else { return }
        killedNow = false
        readOutput(child, now: now)
        if killedNow { return }
        readStderr(child)
        writeInput(child, now: now)
        if let exit = child.poll() {
            // Whatever it wrote before exiting still counts.
            readOutput(child, now: now, untilEnd: true)
            if killedNow { return }
            finish(exit: exit, now: now)
            return
        }
        checkHang(child, now: now)
        if failures > 0, now &- childStartNs >= configuration.healthyAfterNs { failures = 0 }
    }

    private func readOutput(_ child: ExternalChildProcess, now: UInt64, untilEnd: Bool = false) {
        var chunks = 0
        while child.stdout >= 0, untilEnd || chunks < 16 {
            let start = lineBuffer.count
            guard let count = ExternalChildProcess.readSome(child.stdout, into: &lineBuffer, max: 64 * 1024) else { break }
            if count == 0 {
                child.closeStdout()
                break
            }
            chunks += 1
            lastProgressNs = now
            splitLines(from: start, now: now)
            if killedNow { return }
            if untilEnd && chunks > 4_096 { break }  // a child that exited cannot write forever
        }
    }

    /// Handles the complete lines in `lineBuffer` (the new bytes start at `start`).
    private func splitLines(from start: Int, now: UInt64) {
        var lineStart = 0
        var index = start
        while index < lineBuffer.count {
            if lineBuffer[index] == 0x0A {
                let line = lineBuffer[lineStart..<index]
                lineStart = index + 1
                handleLine(line, now: now)
                if killedNow { return }
            }
            index += 1
        }
        if lineStart > 0 { lineBuffer.removeFirst(lineStart) }
        if lineBuffer.count > configuration.maxLineBytes { terminate(.longLine, now: now) }
    }

    private func handleLine(_ line: ArraySlice<UInt8>, now: UInt64) {
        if line.count > configuration.maxLineBytes {
            terminate(.longLine, now: now)
            return
        }
        if now &- lineWindowStartNs >= 1_000_000_000 {
            lineWindowStartNs = now
            linesInWindow = 0
        }
        linesInWindow += 1
        if linesInWindow > configuration.maxLinesPerSecond {
            terminate(.flooding, now: now)
            return
        }
        let first = firstReferenceNumber
        let outcome = mapper.map(line, packets: { number in
            let index = number - first
            return index >= 0 && index < self.references.count ? self.references[self.references.index(self.references.startIndex, offsetBy: index)] : nil
        }, latest: references.last)
        shared.lock.withLock {
            shared.stats.lines += 1
            switch outcome {
            case let .alert(alert):
                if shared.outbox.count < shared.outboxLimit {
                    shared.outbox.append(alert)
                    shared.stats.alerts += 1
                } else {
                    shared.stats.alertsDropped += 1
                }
            case .ignored:
                shared.stats.ignoredLines += 1
            case .invalid:
                shared.stats.invalidLines += 1
            }
        }
    }

    private func readStderr(_ child: ExternalChildProcess) {
        var chunks = 0
        while child.stderr >= 0, chunks < 4 {
            guard let count = ExternalChildProcess.readSome(child.stderr, into: &stderrTail, max: 16 * 1024) else { break }
            if count == 0 { child.closeStderr(); break }
            chunks += 1
        }
        let keep = 4_096
        if stderrTail.count > keep { stderrTail.removeFirst(stderrTail.count - keep) }
    }

    private func writeInput(_ child: ExternalChildProcess, now: UInt64) {
        while child.stdin >= 0, pendingOffset < pending.count {
            guard let count = child.writeSome(pending[pendingOffset...]) else {
                // The child closed its stdin: it will get no more input.
                child.closeStdin()
                break
            }
            if count == 0 { break }
            pendingOffset += count
            written += UInt64(count)
            let done = pendingPacketEnds.prefix { $0 <= pendingOffset }.count
            if done > 0 {
                pendingPacketEnds.removeFirst(done)
                shared.update { $0.packetsWritten += done }
            }
            shared.update { $0.bytesWritten += UInt64(count) }
        }
        if pendingOffset == pending.count, pendingOffset > 0 {
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
        if closeStdinWhenWritten, pendingOffset >= pending.count, child.stdin >= 0 {
            child.closeStdin()
        }
    }

    private func checkHang(_ child: ExternalChildProcess, now: UInt64) {
        let unread = child.unreadInput
        let nowConsumed = written - UInt64(unread)
        if nowConsumed > consumed {
            consumed = nowConsumed
            lastProgressNs = now
        }
        let inputPending = pendingOffset < pending.count || unread > 0 || configuration.mode == .perBatch
        if !inputPending {
            lastProgressNs = now
        } else if now &- lastProgressNs > configuration.hangTimeoutNs {
            terminate(.hung, now: now)
        }
    }

    // MARK: Ending

    private func finish(exit: ExternalChildProcess.Exit, now: UInt64) {
        guard let child else { return }
        // Anything the child left behind in its group goes too.
        _ = Glibc.kill(-child.pid, SIGKILL)
        let clean = configuration.mode == .perBatch && exit.isClean
        let lost = pendingPacketEnds.count
        shared.update {
            $0.lastExit = exit.description
            if clean { $0.cleanExits += 1 } else { $0.crashes += 1 }
            $0.packetsLost += lost
            $0.running = false
            $0.pid = nil
            $0.stderrTail = String(decoding: stderrTail, as: UTF8.self)
        }
        child.closeAll()
        self.child = nil
        scheduleRestart(failed: !clean, now: now)
    }

    private func terminate(_ reason: KillReason, now: UInt64) {
        guard let child else { return }
        killedNow = true
        child.kill()
        readStderr(child)
        let lost = pendingPacketEnds.count
        shared.update {
            switch reason {
            case .hung: $0.killedHung += 1
            case .flooding: $0.killedFlooding += 1
            case .longLine: $0.killedLongLine += 1
            case .stopping: break
            }
            $0.packetsLost += lost
            $0.lastExit = child.exit?.description
            $0.running = false
            $0.pid = nil
            $0.stderrTail = String(decoding: stderrTail, as: UTF8.self)
        }
        child.closeAll()
        self.child = nil
        pending = []
        pendingOffset = 0
        pendingPacketEnds = []
        scheduleRestart(failed: reason != .stopping, now: now)
    }

    private func scheduleRestart(failed: Bool, now: UInt64) {
        guard failed else {
            failures = 0
            nextStartNs = now
            return
        }
        failures += 1
        let shift = UInt64(min(failures - 1, 20))
        let backoff = min(configuration.restartBackoffNs << shift, configuration.maxRestartBackoffNs)
        nextStartNs = now &+ backoff
    }
}
