import CDPDK
#if canImport(Glibc)
import Glibc
#endif

/// A change to a worker's state requested by the control side, applied by the worker between
/// bursts: the worker is the only writer of its VMs' baselines and force state.
public enum WorkerOp: UInt32, Sendable {
    case none, resetBaseline, freeze, unfreeze, setSensitivity, setGlobalSensitivity, force, copyOut, copyIn
}

struct WorkerCommand {
    var op: WorkerOp = .none
    var vm: Int = 0
    /// setSensitivity: the VM's own, nil = it follows the global one. setGlobalSensitivity: the
    /// global one (never nil).
    var sensitivity: Double? = nil
    /// force: until when (packet time, ns); 0 clears.
    var until: UInt64 = 0
    /// force: a flow hash, 0 = the whole VM.
    var flowHash: UInt32 = 0
    /// copyOut/copyIn: a detector the control side owns, with the same capacities.
    var detector: UnsafeMutablePointer<Detector>? = nil
}

/// A one-slot mailbox. One state word holds a sequence number and a status: the control side
/// writes the command and publishes it as `posted`; the worker claims it (`posted` → `taken`,
/// compare-and-swap), applies it and marks it `done`. A control side that gives up waiting
/// cancels it (`posted` → `cancelled`, compare-and-swap): then the worker never runs it. If the
/// worker claimed it first, the control side waits for `done`, which comes within one command.
/// command: control writes, worker reads after claiming. state: both, through CAS.
final class WorkerMailbox: @unchecked Sendable {
    let command: UnsafeMutablePointer<WorkerCommand>
    let state: UnsafeMutablePointer<UInt64>
    private var sequence: UInt64 = 0

    static let posted: UInt64 = 1, taken: UInt64 = 2, done: UInt64 = 3, cancelled: UInt64 = 0

    init() {
        command = .allocate(capacity: 1)
        command.initialize(to: WorkerCommand())
        state = .allocate(capacity: 1)
        state.initialize(to: 0)
    }

    deinit {
        command.deallocate()
        state.deallocate()
    }

    /// Control side: posts a command and waits up to `timeoutMs` for the worker to apply it.
    /// Returns false only when the command was cancelled unapplied. When the worker is not
    /// running, `direct` applies it on the caller's thread.
    func post(_ c: WorkerCommand, running: Bool, timeoutMs: Int = 2000, direct: (WorkerCommand) -> Void) -> Bool {
        guard running else {
            direct(c)
            return true
        }
        command.pointee = c
        sequence &+= 1
        let base = sequence << 2
        bma_store_release_u64(state, base | WorkerMailbox.posted)
        var waited = 0
        while bma_load_acquire_u64(state) != base | WorkerMailbox.done {
            if waited >= timeoutMs * 10 {
                if bma_cas_u64(state, base | WorkerMailbox.posted, base | WorkerMailbox.cancelled) != 0 { return false }
                // Claimed meanwhile: it is being applied right now.
                while bma_load_acquire_u64(state) != base | WorkerMailbox.done { usleep(10) }
                return true
            }
            usleep(100)
            waited += 1
        }
        return true
    }

    /// Worker side, between bursts: runs a posted command, if any.
    @inline(__always) func serve(_ apply: (WorkerCommand) -> Void) {
        let s = bma_load_acquire_u64(state)
        guard s & 3 == WorkerMailbox.posted else { return }
        let base = s & ~3
        guard bma_cas_u64(state, s, base | WorkerMailbox.taken) != 0 else { return }
        apply(command.pointee)
        bma_store_release_u64(state, base | WorkerMailbox.done)
    }
}
