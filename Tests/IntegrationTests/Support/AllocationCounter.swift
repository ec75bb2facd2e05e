import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The heap-call counting preload (Tests/Tools/alloc_count.c), built with gcc for the test, and
/// the counts it keeps for one thread of a running process in a shared file.
struct AllocationCounter {
    /// The preload's shared object.
    let library: String
    /// The file the preload writes its counts into.
    let countFile: String

    /// Word indexes of the count file (see alloc_count.c).
    private static let magic = 0, armed = 1, firstCount = 2, nsamples = 7, sample0 = 8
    private static let samples = 8, frames = 16
    static let kinds = ["malloc", "calloc", "realloc", "free", "memalign"]

    /// Builds the preload into `scratch`. Skips when gcc is missing.
    init(in scratch: ScratchDirectory) throws {
        guard let gcc = TestEnvironment.which("gcc") else {
            throw XCTSkip("gcc is not installed: it builds the malloc-counting preload (Debian: gcc)")
        }
        let source = TestEnvironment.packageRoot.appendingPathComponent("Tests/Tools/alloc_count.c").path
        library = scratch.file("alloc_count.so")
        countFile = scratch.file("alloc-count.bin")
        _ = try Disassembly.run(gcc, ["-shared", "-fPIC", "-O2", "-Wall", "-o", library, source])
    }

    /// The environment that makes a process count the calls of its thread named `thread`.
    func environment(thread: String) -> [String] {
        ["LD_PRELOAD=\(library)", "BMA_ALLOC_COUNT_FILE=\(countFile)", "BMA_ALLOC_THREAD=\(thread)"]
    }

    private func words() -> [UInt64] {
        guard let data = FileManager.default.contents(atPath: countFile) else { return [] }
        return data.withUnsafeBytes { raw in (0..<data.count / 8).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
    }

    /// Whether the preload is loaded and mapped its file.
    var attached: Bool { words().first == 0x424d_4161_6c6c_6f63 }

    /// Calls so far, per kind (malloc, calloc, realloc, free, memalign).
    func counts() -> [UInt64] {
        let w = words()
        guard w.count > Self.firstCount + 4 else { return [0, 0, 0, 0, 0] }
        return Array(w[Self.firstCount..<Self.firstCount + 5])
    }

    /// Asks the preload to record the call stacks of the next few calls.
    func arm() throws {
        guard let h = FileHandle(forUpdatingAtPath: countFile) else { throw ScratchError(message: "cannot open \(countFile)") }
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(Self.armed * 8))
        var one: UInt64 = 1
        h.write(Data(bytes: &one, count: 8))
    }

    /// The call stacks recorded since `arm()`: kind and return addresses, innermost first.
    func stacks() -> [(kind: String, frames: [UInt64])] {
        let w = words()
        guard w.count > Self.nsamples else { return [] }
        let n = min(Int(w[Self.nsamples]), Self.samples)
        return (0..<n).compactMap { i in
            let base = Self.sample0 + i * (Self.frames + 1)
            guard w.count >= base + Self.frames + 1 else { return nil }
            let kind = Int(w[base]) - Self.firstCount
            return (Self.kinds.indices.contains(kind) ? Self.kinds[kind] : "?", w[base + 1...base + Self.frames].filter { $0 != 0 })
        }
    }

    /// The mappings of a running process, to name addresses after it exits.
    static func mappings(pid: pid_t) -> [(start: UInt64, end: UInt64, file: String)] {
        // /proc files report size 0: read them as a stream.
        guard let h = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { return [] }
        defer { try? h.close() }
        let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, let dash = f[0].firstIndex(of: "-"),
                  let s = UInt64(f[0][..<dash], radix: 16), let e = UInt64(f[0][f[0].index(after: dash)...], radix: 16) else { return nil }
            return (s, e, String(f[5]))
        }
    }

    /// "function (file)" for each address: the file's load base is its lowest mapping, the
    /// function comes from addr2line and is demangled.
    static func symbolize(_ addresses: [UInt64], maps: [(start: UInt64, end: UInt64, file: String)]) -> [String] {
        addresses.map { a in
            guard let m = maps.first(where: { $0.start <= a && a < $0.end }) else { return String(a, radix: 16) }
            let base = maps.filter { $0.file == m.file }.map(\.start).min() ?? m.start
            let offset = a - base
            // A return address: the call is the instruction before it.
            let short = (m.file as NSString).lastPathComponent
            guard let tool = TestEnvironment.which("addr2line"),
                  let out = try? Disassembly.run(tool, ["-f", "-e", m.file, "0x" + String(offset - 1, radix: 16)]),
                  let fn = out.split(separator: "\n").first, fn != "??" else { return "\(short)+0x\(String(offset, radix: 16))" }
            return "\(Disassembly.demangle([String(fn)])[0]) (\(short)+0x\(String(offset, radix: 16)))"
        }
    }
}
