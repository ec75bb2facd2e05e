/// Indexed access to homogeneous tuples used as fixed-size arrays inside the baseline (Swift
/// lays them out contiguously; this avoids Array and its heap storage).
@inline(__always) func withElement<T, E, R>(_ tuple: inout T, _ i: Int, _ type: E.Type,
                                             _ body: (inout E) -> R) -> R {
    withUnsafeMutableBytes(of: &tuple) { raw in
        let p = raw.baseAddress!.assumingMemoryBound(to: E.self) + i
        return body(&p.pointee)
    }
}

@inline(__always) func element<T, E>(_ tuple: T, _ i: Int, _ type: E.Type) -> E {
    withUnsafeBytes(of: tuple) { raw in raw.load(fromByteOffset: i * MemoryLayout<E>.stride, as: E.self) }
}
