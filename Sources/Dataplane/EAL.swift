import CDPDK
#if canImport(Glibc)
import Glibc
#endif

/// The DPDK environment abstraction layer: initialised once per process.
public enum EAL {
    /// Initialises EAL with `arguments` (argv[0] first). Returns how many arguments EAL used.
    @discardableResult
    public static func initialize(_ arguments: [String]) throws(DataplaneError) -> Int {
        // EAL rewrites argv (it moves argv[0]), so free our own copy of the pointers.
        let owned = arguments.map { strdup($0) }
        defer { owned.forEach { free($0) } }
        var cargs = owned
        let n = cargs.withUnsafeMutableBufferPointer { buf in
            bma_eal_init(Int32(buf.count), buf.baseAddress)
        }
        if n < 0 { throw DataplaneError(String(cString: bma_last_error())) }
        return Int(n)
    }

    public static func cleanup() { bma_eal_cleanup() }

    /// The worker lcores EAL was given (every lcore but the main one).
    public static func workerLcores() -> [UInt32] {
        var ids = [UInt32](repeating: 0, count: 128)
        let n = ids.withUnsafeMutableBufferPointer { bma_lcore_workers($0.baseAddress, 128) }
        return Array(ids.prefix(Int(n)))
    }

    public static var mainLcore: UInt32 { bma_lcore_main() }
}
