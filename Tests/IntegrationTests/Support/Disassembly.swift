import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The direct calls of every function of an executable, from `objdump -d`, and the walk over
/// them from a root function: which functions a hot path reaches and which runtime functions
/// (ARC, allocation) any of them calls.
struct Disassembly {
    struct Call {
        /// Address of the call or jump instruction.
        var address: UInt64
        /// The symbol the target lies in (`swift_retain@plt` for imports).
        var target: String
        /// Offset of the target inside that symbol (0: its entry).
        var offset: UInt64
        var tail: Bool
        /// The instruction just before loads the empty-array singleton (`_swiftEmptyArrayStorage`):
        /// an empty array is made and dropped (an OptionSet `[]`, the rest of a variadic call).
        var emptyArray = false
    }

    struct Function {
        var start: UInt64
        var calls: [Call] = []
        var indirect = 0
    }

    private(set) var functions: [String: Function] = [:]

    /// Runs `objdump -d --no-show-raw-insn` on `binary`, keeping only symbol headers, calls and
    /// jumps (grep does the filtering: the whole listing of bmad is about 20 MB).
    init(binary: String) throws {
        let listing = try Disassembly.run("/bin/sh", ["-c",
            "objdump -d --no-show-raw-insn '\(binary)' | grep -E '^[0-9a-f]+ <|\\s(call|jmp)|_swiftEmptyArrayStorage'"])
        var current: String?
        var emptyArrayAt: UInt64 = 0
        for line in listing.split(separator: "\n") {
            if line.hasSuffix(">:"), let lt = line.firstIndex(of: "<") {
                let name = String(line[line.index(after: lt)..<line.index(line.endIndex, offsetBy: -2)])
                functions[name] = Function(start: UInt64(line[..<lt].trimmingCharacters(in: .whitespaces), radix: 16) ?? 0)
                current = name
                continue
            }
            guard let name = current else { continue }
            // "   de4d3:\tcall   33580 <swift_retain@plt>", "  abe65:\tjmp    abe70 <sym+0x30>", "call *%rax"
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 2, fields[0].hasSuffix(":"), let address = UInt64(fields[0].dropLast(), radix: 16) else { continue }
            let op = fields[1]
            if line.hasSuffix("<_swiftEmptyArrayStorage>") && !op.hasPrefix("call") && !op.hasPrefix("jmp") {
                emptyArrayAt = address
                continue
            }
            guard op.hasPrefix("call") || op.hasPrefix("jmp") else { continue }
            if fields.count >= 3, fields[2].hasPrefix("*") {
                functions[name]?.indirect += 1
                continue
            }
            guard let lt = line.firstIndex(of: "<"), line.hasSuffix(">") else { continue }
            var target = String(line[line.index(after: lt)..<line.index(before: line.endIndex)])
            var offset: UInt64 = 0
            if let plus = target.range(of: "+0x", options: .backwards) {
                offset = UInt64(target[plus.upperBound...], radix: 16) ?? 0
                target = String(target[..<plus.lowerBound])
            }
            // Branches inside the function itself are not calls.
            if target == name && offset > 0 { continue }
            functions[name]?.calls.append(Call(address: address, target: target, offset: offset, tail: op.hasPrefix("jmp"),
                                               emptyArray: emptyArrayAt != 0 && address > emptyArrayAt && address - emptyArrayAt <= 16))
        }
    }

    /// A runtime function that a hot path must not call.
    static func isForbidden(_ symbol: String) -> Bool {
        let name = symbol.hasSuffix("@plt") ? String(symbol.dropLast(4)) : symbol
        let prefixes = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease",
                        "swift_unknownObjectRetain", "swift_unknownObjectRelease", "swift_nonatomic_",
                        "swift_allocObject", "swift_allocBox", "swift_slowAlloc", "swift_deallocObject",
                        "swift_deallocBox", "swift_slowDealloc", "swift_allocEmptyBox"]
        let exact: Set = ["malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc"]
        return exact.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }

    struct Finding {
        /// The function (mangled) whose code makes the call.
        var function: String
        var callee: String
        var addresses: [UInt64]
        /// How many of them release the empty-array singleton (see `Call.emptyArray`).
        var emptyArrays = 0
        /// How it is reached from the root: root first, `function` last.
        var path: [String]
    }

    struct Walk {
        /// Every function reached (mangled), with the function it was first reached from.
        var reached: [String: String?] = [:]
        var findings: [Finding] = []
        /// Indirect calls (closures, witness tables, DPDK's PMD function pointers) per function.
        var indirect: [String: Int] = [:]
    }

    /// Follows direct calls and jumps from `roots` into every function of the binary (not into
    /// shared libraries, whose `@plt` stubs are checked by name), skipping `cold` functions. A call
    /// to `sym+off` enters `sym` at `off`: only the calls from there to the end of `sym` count (how
    /// merged functions' thunks appear in a listing).
    func walk(from roots: [String], skipping cold: (String) -> Bool) -> Walk {
        var w = Walk()
        var queue: [(String, UInt64)] = []
        var entered = Set<String>()
        for r in roots where functions[r] != nil {
            w.reached[r] = .some(nil)
            queue.append((r, 0))
        }
        var bad: [String: Finding] = [:]
        while let (name, from) = queue.popLast() {
            guard entered.insert("\(name)+\(from)").inserted, let f = functions[name] else { continue }
            if f.indirect > 0 { w.indirect[name] = f.indirect }
            for c in f.calls where c.address >= f.start + from {
                if Disassembly.isForbidden(c.target) {
                    let key = "\(name) \(c.target)"
                    if bad[key] == nil { bad[key] = Finding(function: name, callee: c.target, addresses: [], path: path(to: name, in: w.reached)) }
                    bad[key]!.addresses.append(c.address)
                    if c.emptyArray { bad[key]!.emptyArrays += 1 }
                    continue
                }
                guard !c.target.hasSuffix("@plt"), functions[c.target] != nil, !cold(c.target) else { continue }
                if w.reached[c.target] == nil { w.reached[c.target] = .some(name) }
                queue.append((c.target, c.offset))
            }
        }
        w.findings = bad.values.sorted { ($0.path.count, $0.function, $0.callee) < ($1.path.count, $1.function, $1.callee) }
        return w
    }

    private func path(to name: String, in reached: [String: String?]) -> [String] {
        var p = [name]
        var cur = name
        while let parent = reached[cur], let parent, !p.contains(parent) {
            p.insert(parent, at: 0)
            cur = parent
        }
        return p
    }

    /// Swift symbols as people read them (the runtime's own demangler); other names as they are.
    static func demangle(_ names: [String]) -> [String] {
        names.map { name in
            guard name.hasPrefix("$s") else { return name }
            return name.withCString { c in
                guard let out = swiftDemangle(c, UInt(strlen(c)), nil, nil, 0) else { return name }
                defer { free(out) }
                return String(cString: out)
            }
        }
    }

    /// Runs a program to completion and returns its standard output; throws on a non-zero exit.
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ScratchError(message: "\(program) \(arguments.prefix(3).joined(separator: " ")) exited with \(p.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

@_silgen_name("swift_demangle")
private func swiftDemangle(_ mangled: UnsafePointer<CChar>?, _ length: UInt, _ buffer: UnsafeMutablePointer<CChar>?,
                           _ bufferSize: UnsafeMutablePointer<UInt>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
