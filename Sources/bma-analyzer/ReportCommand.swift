import Analysis
import ArgumentParser
import Console
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the console's pages for a time range as static HTML files, with each alert's packets as pcap.",
        discussion: """
        Writes index.html (the fleet), vm-ID.html per VM, alerts.html, alert-ID.html per alert with \
        pcap/alert-ID.pcap, and actions.html into --out; links are relative, so the directory can be \
        archived or mailed whole. Without --since and --until: the last day of what the store holds.
        """)

    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"

    @Option(parsing: .unconditional, help: "From: Unix seconds, 2026-12-01T10:00Z, -15m, -2h, -1d, today, yesterday.")
    var since: String?

    @Option(parsing: .unconditional, help: "Until (same forms).")
    var until: String?

    @Option(help: "Only this VM: its id (101), vm101, or its name.")
    var vm: String?

    @Option(help: "Directory to write the report into (created if missing).")
    var out: String

    func run() throws {
        let sinceNs = try since.map { s throws(AnalyzerFailure) in try TimeArgument.parse(s, option: "--since") }
        let untilNs = try until.map { s throws(AnalyzerFailure) in try TimeArgument.parse(s, option: "--until") }
        if let sinceNs, let untilNs, sinceNs > untilNs { throw AnalyzerFailure.usage("--since \(since!) is after --until \(until!)") }
        try ExistingStore.require(directory)
        let selection = try vm.map { v throws(AnalyzerFailure) in try VMSelection.resolve(v, store: directory, requireKnown: true) }
        if vm != nil, selection?.id == nil { throw AnalyzerFailure.notFound("--vm '\(vm!)': no such VM in store \(directory)") }
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = try CaptureStore(directory: directory, configuration: config)
        defer { store.close() }
        let console = ConsoleStore(store: store, vmNames: StoreVMNames.load(directory))
        let fallback = console.defaultRange()
        let end = untilNs ?? (sinceNs == nil ? fallback.until : max(UInt64(Date().timeIntervalSince1970 * 1e9), fallback.until))
        let start = sinceNs ?? (untilNs == nil ? fallback.since : (end > TimeRange.day ? end - TimeRange.day : 0))
        let summary: StaticReport.Summary
        do {
            summary = try StaticReport.write(store: console, range: TimeRange(since: start, until: end), vm: selection?.id,
                                             to: out, storeLabel: directory)
        } catch let error as ConsoleError {
            throw AnalyzerFailure(error.message)
        }
        print("report written to \(out)/index.html: \(summary.files.count) files, \(summary.vms) VMs, \(summary.alerts) alerts")
    }
}
