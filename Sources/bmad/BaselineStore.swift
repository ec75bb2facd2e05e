import Control
import Dataplane
import Foundation

/// Learned baselines in the state directory, one file per VM (baseline-NAME.json), written
/// crash-safely so that a restart does not learn from zero.
struct BaselineStore {
    let store: StateStore

    static func fileName(_ vm: String) -> String { "baseline-\(vm).json" }

    func save(_ dataplane: Dataplane, log: (String) -> Void) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        for (i, vm) in dataplane.setup.vms.enumerated() {
            guard let doc = dataplane.exportBaseline(vm: i) else {
                log("bmad: \(vm.name): baseline not saved (its worker did not answer)")
                continue
            }
            do {
                try store.write(try enc.encode(doc), to: BaselineStore.fileName(vm.name))
            } catch {
                log("bmad: \(vm.name): baseline not saved: \(error)")
            }
        }
    }

    /// Restores every VM's saved baseline; a missing file is a first start, a bad one is reported
    /// and the VM learns afresh.
    func load(into dataplane: Dataplane, log: (String) -> Void) {
        for (i, vm) in dataplane.setup.vms.enumerated() {
            // A bmad killed in the middle of a save leaves its temporary file: never read, removed here.
            _ = try? store.removeLeftovers(of: BaselineStore.fileName(vm.name))
            do {
                guard let data = try store.read(BaselineStore.fileName(vm.name)) else { continue }
                let doc = try JSONDecoder().decode(BaselineDocument.self, from: data)
                try dataplane.importBaseline(vm: i, doc)
                log("bmad: \(vm.name): baseline restored (\(doc.learned_packets) packets learned, \(doc.services.count) services, \(doc.hosts.count) hosts)")
            } catch {
                log("bmad: \(vm.name): saved baseline ignored, learning afresh: \(error)")
            }
        }
    }
}
