/// One request line: `{"id": 1, "method": "policy.add", "params": {...}}`.
public struct ControlRequest: Sendable, Equatable {
    /// A number or a string chosen by the client, echoed back; nil when absent (or null).
    public var id: JSONValue?
    public var method: String
    /// The `params` object; `{}` when absent.
    public var params: [String: JSONValue]

    public init(id: JSONValue? = nil, method: String, params: [String: JSONValue] = [:]) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// A line that cannot be served, with the id to answer it with (nil when it could not be read).
    public struct Rejection: Error, Equatable, Sendable {
        public var id: JSONValue?
        public var error: ControlError

        public var response: ControlResponse { ControlResponse(id: id, error: error) }
    }

    /// Reads one request line (without its newline). A line that is not a JSON object is a
    /// `parse-error` (id null); an object without a string `method`, with a `params` that is not
    /// an object or with an `id` that is neither a number nor a string is an `invalid-request`.
    /// Other members are ignored.
    public init<Bytes: Collection>(line: Bytes) throws(Rejection) where Bytes.Element == UInt8 {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw Rejection(id: nil, error: ControlError(.parseError, "the line is not a JSON object: \(error)"))
        }
        guard case .object(let object) = value else {
            throw Rejection(id: nil, error: ControlError(.parseError, "the line is not a JSON object (got \(value.typeName))"))
        }
        var id: JSONValue?
        switch object["id"] {
        case nil, .null?: id = nil
        case .number(let n)? where n.isFinite: id = .number(n)
        case .string(let s)?: id = .string(s)
        case let other?:
            throw Rejection(id: nil, error: ControlError(.invalidRequest, "id must be a number or a string, got \(other.typeName)"))
        }
        guard let methodValue = object["method"] else {
            throw Rejection(id: id, error: ControlError(.invalidRequest, "no method"))
        }
        guard case .string(let method) = methodValue, !method.isEmpty else {
            throw Rejection(id: id, error: ControlError(.invalidRequest, "method must be a non-empty string, got \(methodValue.typeName)"))
        }
        var params: [String: JSONValue] = [:]
        if let p = object["params"] {
            guard case .object(let o) = p else {
                throw Rejection(id: id, error: ControlError(.invalidRequest, "params must be an object, got \(p.typeName)"))
            }
            params = o
        }
        self.init(id: id, method: method, params: params)
    }

    public init(line: String) throws(Rejection) {
        try self.init(line: Array(line.utf8))
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["method": .string(method), "params": .object(params)]
        if let id { o["id"] = id }
        return .object(o)
    }

    /// The request as one line, newline included.
    public func encodedLine() -> [UInt8] { json.encodedLine() }
}

/// One response line: `{"id": 1, "result": ...}` or `{"id": 1, "error": {"code", "message"}}`.
public struct ControlResponse: Sendable, Equatable {
    /// The request's id; nil is written as null.
    public var id: JSONValue?
    public var outcome: Result<JSONValue, ControlError>

    public init(id: JSONValue?, outcome: Result<JSONValue, ControlError>) {
        self.id = id
        self.outcome = outcome
    }

    public init(id: JSONValue?, result: JSONValue) { self.init(id: id, outcome: .success(result)) }
    public init(id: JSONValue?, error: ControlError) { self.init(id: id, outcome: .failure(error)) }

    public var json: JSONValue {
        switch outcome {
        case .success(let result): .object(["id": id ?? .null, "result": result])
        case .failure(let error): .object(["id": id ?? .null, "error": error.json])
        }
    }

    /// The response as one line, newline included, `id` first as in the protocol's examples.
    public func encodedLine() -> [UInt8] {
        var out = Array(#"{"id":"#.utf8)
        out += (id ?? .null).encodedBytes()
        switch outcome {
        case .success(let result):
            out.append(contentsOf: #","result":"#.utf8)
            out += result.encodedBytes()
        case .failure(let error):
            out.append(contentsOf: #","error":"#.utf8)
            out += error.json.encodedBytes()
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// A line that is not a well-formed response.
    public struct Malformed: Error, CustomStringConvertible, Equatable, Sendable {
        public var message: String
        public var description: String { "malformed response: \(message)" }
    }

    /// Reads one response line (without its newline): exactly one of `result` and `error`;
    /// an error is `{"code": <a known code>, "message": <string>}`.
    public init<Bytes: Collection>(line: Bytes) throws(Malformed) where Bytes.Element == UInt8 {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw Malformed(message: "\(error)")
        }
        guard case .object(let object) = value else { throw Malformed(message: "not a JSON object") }
        let id: JSONValue? = object["id"]?.isNull == false ? object["id"] : nil
        switch (object["result"], object["error"]) {
        case (let result?, nil):
            self.init(id: id, result: result)
        case (nil, let error?):
            guard let codeText = error["code"]?.stringValue else { throw Malformed(message: "error without a code") }
            guard let code = ControlErrorCode(rawValue: codeText) else {
                throw Malformed(message: "unknown error code '\(codeText)': \(error["message"]?.stringValue ?? "")")
            }
            self.init(id: id, error: ControlError(code, error["message"]?.stringValue ?? ""))
        default:
            throw Malformed(message: "needs exactly one of result and error")
        }
    }
}
