import BMAContract

/// Typed access to a request's `params`, answering `invalid-params` with the parameter's name
/// (`"seconds: must be an integer, got a string"`). A member that is null counts as absent.
public struct Params: Sendable, Equatable {
    public var values: [String: JSONValue]
    /// Where these params sit, for names in messages: "match" gives "match.dst_cidr".
    public var path: String

    public init(_ values: [String: JSONValue], path: String = "") {
        self.values = values
        self.path = path
    }

    public init(_ request: ControlRequest) { self.init(request.params) }

    /// The name of `key` as messages spell it.
    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value of `key`, nil when absent or null.
    public func value(_ key: String) -> JSONValue? {
        guard let v = values[key], !v.isNull else { return nil }
        return v
    }

    public func contains(_ key: String) -> Bool { value(key) != nil }

    public func invalid(_ key: String, _ problem: String) -> ControlError {
        .invalidParams(name(key), problem)
    }

    public func required(_ key: String) throws(ControlError) -> JSONValue {
        guard let v = value(key) else { throw invalid(key, "is required") }
        return v
    }

    /// Refuses members other than `keys` (e.g. a misspelt optional parameter).
    public func rejectUnknown(allowing keys: Set<String>) throws(ControlError) {
        if let extra = values.keys.filter({ !keys.contains($0) }).sorted().first {
            throw invalid(extra, "unknown parameter")
        }
    }

    // MARK: strings

    public func string(_ key: String) throws(ControlError) -> String {
        guard let s = try optionalString(key) else { throw invalid(key, "is required (a string)") }
        return s
    }

    public func optionalString(_ key: String) throws(ControlError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw invalid(key, "must be a string, got \(v.typeName)") }
        return s
    }

    // MARK: numbers

    public func int(_ key: String, in range: ClosedRange<Int>? = nil) throws(ControlError) -> Int {
        guard let i = try optionalInt(key, in: range) else { throw invalid(key, "is required (an integer)") }
        return i
    }

    public func optionalInt(_ key: String, in range: ClosedRange<Int>? = nil) throws(ControlError) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v else { throw invalid(key, "must be an integer, got \(v.typeName)") }
        guard let i = v.intValue else { throw invalid(key, "must be an integer, got \(JSONValue.number(d))") }
        if let range, !range.contains(i) {
            throw invalid(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(i)")
        }
        return i
    }

    public func double(_ key: String, in range: ClosedRange<Double>? = nil) throws(ControlError) -> Double {
        guard let d = try optionalDouble(key, in: range) else { throw invalid(key, "is required (a number)") }
        return d
    }

    public func optionalDouble(_ key: String, in range: ClosedRange<Double>? = nil) throws(ControlError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v, d.isFinite else { throw invalid(key, "must be a number, got \(v.typeName)") }
        if let range, !range.contains(d) {
            throw invalid(key, "must be between \(JSONValue.number(range.lowerBound)) and \(JSONValue.number(range.upperBound)), got \(v)")
        }
        return d
    }

    // MARK: booleans

    public func bool(_ key: String) throws(ControlError) -> Bool {
        guard let b = try optionalBool(key) else { throw invalid(key, "is required (true or false)") }
        return b
    }

    public func optionalBool(_ key: String) throws(ControlError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw invalid(key, "must be true or false, got \(v.typeName)") }
        return b
    }

    // MARK: VMs

    /// A VM by name (a non-empty string) or by id (an integer 1-16777215).
    public func vm(_ key: String = "vm") throws(ControlError) -> VMReference {
        guard let r = try optionalVM(key) else { throw invalid(key, "is required (a VM name or id)") }
        return r
    }

    public func optionalVM(_ key: String = "vm") throws(ControlError) -> VMReference? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s):
            guard !s.isEmpty else { throw invalid(key, "must be a VM name or id, got an empty string") }
            return .name(s)
        case .number:
            guard let i = v.intValue, VMReference.idRange.contains(i) else {
                throw invalid(key, "a VM id must be an integer between \(VMReference.idRange.lowerBound) and \(VMReference.idRange.upperBound), got \(v)")
            }
            return .id(UInt32(i))
        default:
            throw invalid(key, "must be a VM name or id, got \(v.typeName)")
        }
    }

    // MARK: structure

    /// A nested object, whose own parameters are then named `key.member`.
    public func object(_ key: String) throws(ControlError) -> Params {
        guard let p = try optionalObject(key) else { throw invalid(key, "is required (an object)") }
        return p
    }

    public func optionalObject(_ key: String) throws(ControlError) -> Params? {
        guard let v = value(key) else { return nil }
        guard case .object(let o) = v else { throw invalid(key, "must be an object, got \(v.typeName)") }
        return Params(o, path: name(key))
    }

    public func array(_ key: String) throws(ControlError) -> [JSONValue] {
        guard let a = try optionalArray(key) else { throw invalid(key, "is required (an array)") }
        return a
    }

    public func optionalArray(_ key: String) throws(ControlError) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw invalid(key, "must be an array, got \(v.typeName)") }
        return a
    }
}
