import Foundation
import Testing
@testable import Analysis

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64
    init(_ start: UInt64 = 1_700_000_000_000_000_000) { value = start }
    var now: UInt64 { lock.withLock { value } }
    func advance(seconds: Double) { lock.withLock { value += UInt64(seconds * 1e9) } }
    var function: @Sendable () -> UInt64 { { [self] in now } }
}

/// Collects what the sink hands to its store.
final class StoreRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Alert] = []
    var alerts: [Alert] { lock.withLock { items } }
    var closure: @Sendable (Alert) -> Void { { [self] alert in lock.withLock { items.append(alert) } } }
}

@Suite("alerts: sink")
struct AlertSinkTests {
    static func alert(sid: Int = 9_200_100, vm: String = "vm7", count: Int = 1, dest: String = "10.0.0.9") -> Alert {
        Alert(timestamp: "2023-11-14T22:13:20.000000+0000", flow_id: 42, community_id: nil, src_ip: "10.0.0.5", src_port: 40_000,
              dest_ip: dest, dest_port: 22, proto: "TCP", host: "host-a", vm: vm,
              alert: Alert.Signature(signature: "test \(sid)", signature_id: sid, category: "Test", severity: 2),
              bma: Alert.BMA(module: "test", reasons: ["port-scan"], score: 1.5, count: count, details: ["k": "v"]), pcap: nil)
    }

    @Test("the first alert goes out at once; repeats in the window fold into one summary at its end")
    func dedup() throws {
        let clock = ManualClock()
        let store = StoreRecorder()
        let sink = try AlertSink(clock: clock.function, store: store.closure)
        sink.submit(Self.alert())
        #expect(store.alerts.count == 1)
        for index in 0..<5 {
            clock.advance(seconds: 10)
            sink.submit(Self.alert(count: 2, dest: "10.0.0.\(index)"))
        }
        sink.tick()
        #expect(store.alerts.count == 1)  // window not over (50 s)
        clock.advance(seconds: 10)
        sink.tick()
        #expect(store.alerts.count == 2)
        let summary = store.alerts[1]
        #expect(summary.bma.count == 10 && summary.dest_ip == "10.0.0.4")
        #expect(summary.bma.details["summary"] == "5 repeats within 60 s")
        #expect(summary.bma.details["first_repeat"] == "2023-11-14T22:13:20.000000+0000")
        // The next one opens a new window and goes out at once.
        clock.advance(seconds: 1)
        sink.submit(Self.alert())
        #expect(store.alerts.count == 3 && store.alerts[2].bma.count == 1)
        let stats = sink.stats
        #expect(stats.received == 7 && stats.emitted == 3 && stats.summaries == 1 && stats.folded == 5)
    }

    @Test("keys are (signature id, VM)")
    func keys() throws {
        let store = StoreRecorder()
        let sink = try AlertSink(clock: ManualClock().function, store: store.closure)
        sink.submit(Self.alert(sid: 1))
        sink.submit(Self.alert(sid: 2))
        sink.submit(Self.alert(sid: 1, vm: "vm8"))
        sink.submit(Self.alert(sid: 1))
        #expect(store.alerts.map(\.alert.signature_id) == [1, 2, 1])
    }

    @Test("a window without repeats ends without a summary")
    func noRepeats() throws {
        let clock = ManualClock()
        let store = StoreRecorder()
        let sink = try AlertSink(clock: clock.function, store: store.closure)
        sink.submit(Self.alert())
        clock.advance(seconds: 120)
        sink.tick()
        #expect(store.alerts.count == 1)
    }

    @Test("at most N per hour per key; what is held back is counted into the next one")
    func hourlyLimit() throws {
        let clock = ManualClock()
        let store = StoreRecorder()
        var configuration = AlertSink.Configuration()
        configuration.maxPerHour = 3
        configuration.windowNs = 60_000_000_000
        let sink = try AlertSink(configuration: configuration, clock: clock.function, store: store.closure)
        // One alert every 2 minutes for an hour: 30 windows, each its own first alert.
        for _ in 0..<30 {
            sink.submit(Self.alert())
            clock.advance(seconds: 120)
            sink.tick()
        }
        // Three went out; the other 27 were held back, and once the first left the hour (at
        // 3,600 s) they went out as one summary carrying their count.
        #expect(store.alerts.count == 4)
        #expect(sink.stats.rateLimited == 27)
        let heldBack = store.alerts[3]
        #expect(heldBack.bma.count == 27 && heldBack.bma.details["rate_limited"] == "27")
        #expect(heldBack.bma.details["summary"] == "held back by the hourly limit")
        // The hour now holds three again: the next is held back.
        sink.submit(Self.alert())
        #expect(store.alerts.count == 4 && sink.stats.rateLimited == 28)
    }

    @Test("flush emits pending summaries at once")
    func flush() throws {
        let clock = ManualClock()
        let store = StoreRecorder()
        let sink = try AlertSink(clock: clock.function, store: store.closure)
        sink.submit(Self.alert())
        sink.submit(Self.alert(count: 3))
        sink.flush()
        #expect(store.alerts.count == 2 && store.alerts[1].bma.count == 3)
    }

    @Test("keys are bounded; an evicted key's summary still goes out")
    func boundedKeys() throws {
        let store = StoreRecorder()
        var configuration = AlertSink.Configuration()
        configuration.maxKeys = 10
        let sink = try AlertSink(configuration: configuration, clock: ManualClock().function, store: store.closure)
        sink.submit(Self.alert(sid: 0))
        sink.submit(Self.alert(sid: 0, count: 4))
        for sid in 1...20 { sink.submit(Self.alert(sid: sid)) }
        #expect(sink.stats.evictedKeys == 11)
        #expect(store.alerts.contains { $0.alert.signature_id == 0 && $0.bma.count == 4 })
    }

    @Test("thread-safe: eight threads submitting at once")
    func concurrent() throws {
        let directory = try TemporaryDirectory()
        let store = StoreRecorder()
        let sink = try AlertSink(configuration: AlertSink.Configuration(evePath: directory.file("eve.json")), store: store.closure)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<2_000 {
                sink.submit(Self.alert(sid: index % 50, vm: "vm\(thread)"))
                if index % 100 == 0 { sink.tick() }
            }
        }
        sink.close()
        let stats = sink.stats
        #expect(stats.received == 16_000)
        #expect(stats.emitted == 400 + stats.summaries)
        #expect(store.alerts.count == stats.emitted)
        let lines = try String(contentsOfFile: directory.file("eve.json"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == stats.emitted && stats.linesWritten == stats.emitted)
        let counted = store.alerts.reduce(0) { $0 + $1.bma.count }
        #expect(counted == 16_000)
    }
}
