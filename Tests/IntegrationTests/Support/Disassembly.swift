import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The direct calls of every function of an executable, from `objdump -d`, and the walk over
/// them from a root function: which functions a hot path reaches and which runtime functions
/// (ARC, allocation) any of them calls.
struct Disassembly {
    /// The control-flow instructions of a function (everything else runs straight on).
    struct Instruction {
        enum Kind { case call, jump, branch, stop, emptyArray }
        var address: UInt64
        var kind: Kind
        /// The symbol the target lies in (`swift_retain@plt` for imports); "" when indirect.
        var target = ""
        /// Offset of the target inside that symbol (0: its entry).
        var offset: UInt64 = 0
    }

    struct Function {
        var start: UInt64
        var code: [Instruction] = []
    }

    private(set) var functions: [String: Function] = [:]

    /// Runs `objdump -d --no-show-raw-insn` on `binary`, keeping only symbol headers, control-flow
    /// instructions and references to the empty-array singleton (grep does the filtering: the
    /// whole listing of bmad is about 20 MB).
    init(binary: String) throws {
        let listing = try Disassembly.run("/bin/sh", ["-c",
            "objdump -d --no-show-raw-insn '\(binary)' | grep -E '^[0-9a-f]+ <|\\s(call|j[a-z]+|ret|ud2|int3|hlt|bnd|notrack)\\b|_swiftEmptyArrayStorage'"])
        var current: String?
        for line in listing.split(separator: "\n") {
            if line.hasSuffix(">:"), let lt = line.firstIndex(of: "<") {
                let name = String(line[line.index(after: lt)..<line.index(line.endIndex, offsetBy: -2)])
                functions[name] = Function(start: UInt64(line[..<lt].trimmingCharacters(in: .whitespaces), radix: 16) ?? 0)
                current = name
                continue
            }
            guard let name = current else { continue }
            // "   de4d3:\tcall   33580 <swift_retain@plt>", "  abe65:\tjmp    abe70 <sym+0x30>", "call *%rax"
            var fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 2, fields[0].hasSuffix(":"), let address = UInt64(fields[0].dropLast(), radix: 16) else { continue }
            while fields.count > 2, fields[1] == "bnd" || fields[1] == "notrack" { fields.remove(at: 1) }
            let op = fields[1]
            var ins = Instruction(address: address, kind: .stop)
            if op.hasPrefix("call") {
                ins.kind = .call
            } else if op == "jmp" || op == "jmpq" {
                ins.kind = .jump
            } else if op.hasPrefix("j") {
                ins.kind = .branch
            } else if op.hasPrefix("ret") || op == "ud2" || op == "int3" || op == "hlt" {
                ins.kind = .stop
            } else if line.hasSuffix("<_swiftEmptyArrayStorage>") {
                ins.kind = .emptyArray
            } else {
                continue
            }
            if ins.kind != .stop && ins.kind != .emptyArray && !(fields.count >= 3 && fields[2].hasPrefix("*")),
               let lt = line.firstIndex(of: "<"), line.hasSuffix(">") {
                var target = String(line[line.index(after: lt)..<line.index(before: line.endIndex)])
                if let plus = target.range(of: "+0x", options: .backwards) {
                    ins.offset = UInt64(target[plus.upperBound...], radix: 16) ?? 0
                    target = String(target[..<plus.lowerBound])
                }
                ins.target = target
            }
            functions[name]?.code.append(ins)
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
        /// How many of them release the empty-array singleton (an empty array made and dropped per call).
        var emptyArrays = 0
        /// How it is reached from the root: root first, `function` last.
        var path: [String]
    }

    struct Walk {
        /// Every function reached (mangled), with the function it was first reached from.
        var reached: [String: String?] = [:]
        var findings: [Finding] = []
        /// Indirect calls and jumps (closures, witness tables, DPDK's PMD function pointers) per function.
        var indirect: [String: Int] = [:]
    }

    /// Follows direct calls and jumps from `roots` into every function of the binary (not into
    /// shared libraries, whose `@plt` stubs are checked by name), skipping `cold` functions. In
    /// each function only the code reachable from where it is entered counts: from the entry (or
    /// `sym+off` for a call into the middle of a symbol), along fall-through and branches, up to
    /// returns, traps and unconditional jumps (after an indirect jump, the rest of the symbol,
    /// where a switch's cases are). Code a symbol holds past that (functions without
    /// symbols of their own, which a listing shows inside the previous one) is not its code.
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
            let code = f.code
            func index(of address: UInt64) -> Int {
                var lo = 0, hi = code.count
                while lo < hi { let mid = (lo + hi) / 2; if code[mid].address < address { lo = mid + 1 } else { hi = mid } }
                return lo
            }
            var seen = Set<Int>()
            var blocks = [index(of: f.start + from)]
            while let first = blocks.popLast() {
                var i = first
                var emptyArrayAt: UInt64 = 0
                while i < code.count, seen.insert(i).inserted {
                    let ins = code[i]
                    i += 1
                    if ins.kind == .emptyArray { emptyArrayAt = ins.address; continue }
                    if ins.kind == .stop { break }
                    if ins.target.isEmpty {
                        w.indirect[name, default: 0] += 1
                        // A jump table (a switch): its cases may be anywhere after it; all of
                        // that code counts.
                        if ins.kind == .jump { blocks += Array(i..<code.count); break }
                        continue
                    }
                    if ins.target == name && ins.kind != .call {
                        blocks.append(index(of: f.start + ins.offset))
                        if ins.kind == .jump { break }
                        continue
                    }
                    if Disassembly.isForbidden(ins.target) {
                        let key = "\(name) \(ins.target)"
                        if bad[key] == nil { bad[key] = Finding(function: name, callee: ins.target, addresses: [], path: path(to: name, in: w.reached)) }
                        bad[key]!.addresses.append(ins.address)
                        if emptyArrayAt != 0 && ins.address - emptyArrayAt <= 16 { bad[key]!.emptyArrays += 1 }
                    } else if !ins.target.hasSuffix("@plt"), functions[ins.target] != nil, !cold(ins.target) {
                        if w.reached[ins.target] == nil { w.reached[ins.target] = .some(name) }
                        queue.append((ins.target, ins.offset))
                    }
                    if ins.kind == .jump { break }
                }
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
