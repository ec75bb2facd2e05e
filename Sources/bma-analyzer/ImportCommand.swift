import Analysis
import ArgumentParser
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store and inspect capture files (pcap or pcapng).",
        discussion: """
        Frames that are mirror traffic (Geneve, VXLAN or ERSPAN II as a collector's NIC saw them) are \
        decapsulated with their metadata. Other frames are taken as a VM's own traffic (--vm names \
        which VM). pcapng files written by bma-analyzer keep their metadata.
        """)

    @OptionGroup var store: StoreOptions

    @Option(help: "VM id for frames that are not mirror traffic.")
    var vm: UInt32 = 0

    @Argument(help: "Capture files.")
    var files: [String]

    func run() throws {
        let node = try store.openNode()
        var total = 0
        for path in files {
            let count: Int
            do { count = try CaptureImport.forEach(path: path, vm: vm) { node.process($0) } } catch {
                node.stop()
                FileHandle.standardError.write(Data("bma-analyzer: \(path): \(error)\n".utf8))
                throw ExitCode(1)
            }
            total += count
            print("\(path): \(count) packets")
        }
        node.stop()
        let s = node.status(ingest: nil)
        if let why = s.storage.storage_alert {
            print("storage: \(s.storage.dropped) packets could not be stored: \(why)")
        }
        print("imported \(total) packets into \(store.directory); alerts: \(s.alerts_emitted)"
              + (s.alerts_by_module.isEmpty ? "" : " (" + s.alerts_by_module.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
    }
}
