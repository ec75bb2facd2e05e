import BMAContract

extension VMReference {
    /// The same rules as `vms[].name` and `vms[].id` in the configuration.
    func validate(_ field: String) throws(PolicyError) {
        switch self {
        case .name(let n):
            guard PolicyLimits.vmNameLength.contains(n.count), n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw PolicyError(field: field, "'\(n)' is not a VM name (up to 32 letters, digits, '-', '_' or '.')")
            }
        case .id(let i):
            try PolicyError.check(field, Int(i), PolicyLimits.vmID)
        }
    }
}
