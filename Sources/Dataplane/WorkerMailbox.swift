import CDPDK

/// A change to a worker's state requested by the control side, applied by the worker between
/// bursts: the worker is the only writer of its VMs' baselines and force state.
public enum WorkerOp: UInt32, Sendable {
    case none, resetBaseline, freeze, unfreeze, setSensitivity, setGlobalSensitivity, force, copyOut, copyIn
}

struct WorkerCommand {
    var op: WorkerOp = .none
    var vm: Int = 0
    /// setSensitivity: the value, NaN clears the VM's own.
    var value: Double = .nan
    /// force: until when (packet time, ns); 0 clears.
    var until: UInt64 = 0
    /// force: a flow hash, 0 = the whole VM.
    var flowHash: UInt32 = 0
    /// copyOut/copyIn: a detector the control side owns, with the same capacities.
    var detector: UnsafeMutablePointer<Detector>? = nil
}

/// A one-slot mailbox: the control side writes the command, then bumps `request` (release); the
/// worker runs it and sets `done` to the same number (release). The control side waits for
/// `done` before writing the next command, so the slot has one writer at a time.
/// command, request: control writes, worker reads. done: worker writes, control reads.
final class WorkerMailbox: @unchecked Sendable {
    let command: UnsafeMutablePointer<WorkerCommand>
    let request: UnsafeMutablePointer<UInt64>
    let done: UnsafeMutablePointer<UInt64>

    init() {
        command = .allocate(capacity: 1)
        command.initialize(to: WorkerCommand())
        request = .allocate(capacity: 1)
        request.initialize(to: 0)
        done = .allocate(capacity: 1)
        done.initialize(to: 0)
    }

    deinit {
        command.deallocate()
        request.deallocate()
        done.deallocate()
    }

    /// Control side: posts a command and waits up to `timeoutMs` for the worker to apply it.
    /// When the worker is not running, `direct` applies it on the caller's thread.
    func post(_ c: WorkerCommand, running: Bool, timeoutMs: Int = 2000, direct: (WorkerCommand) -> Void) -> Bool {
        guard running else {
            direct(c)
            return true
        }
        command.pointee = c
        let seq = bma_load_u64(request) &+ 1
        bma_store_release_u64(request, seq)
        var waited = 0
        while bma_load_acquire_u64(done) != seq {
            if waited >= timeoutMs * 10 { return false }
            usleep(100)
            waited += 1
        }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#endif
