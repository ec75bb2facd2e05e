/// A typed request of a daemon's control socket (bmad's or the analyzer's): the method it
/// calls, its `params`, and the type of its answer.
///
/// The wire stays the protocol's `params` object: `init(params:)` reads it with the protocol's
/// `invalid-params` messages (the server's way in) and `params` writes it (the clients' way out).
/// Codable goes through the same two, so a request encodes and decodes the same way everywhere.
public protocol ControlCall: Codable, Sendable, Equatable {
    associatedtype Response: Codable, Sendable
    static var methodName: String { get }
    /// Reads a request's `params`; a missing, mistyped or out-of-range member is `invalid-params`.
    init(params: Params) throws(ControlError)
    /// The request's `params` object.
    var params: [String: JSONValue] { get }
}

extension ControlCall {
    public init(from decoder: any Decoder) throws {
        try self.init(params: Params(try [String: JSONValue](from: decoder)))
    }

    public func encode(to encoder: any Encoder) throws {
        try params.encode(to: encoder)
    }

    /// The server's side: reads `params` as this request, answers it with `body`, and encodes
    /// the typed answer (an open document goes out as it is).
    public static func answer(_ params: Params, _ body: (Self) throws -> Response) throws -> JSONValue {
        let response = try body(try Self(params: params))
        if let document = response as? JSONValue { return document }
        return try JSONValue(encoding: response)
    }

    /// `answer` for a `ControlServer` handler: a failure that is not a `ControlError` is `internal`.
    public static func serve(_ request: ControlRequest, _ body: (Self) throws -> Response) -> Result<JSONValue, ControlError> {
        do {
            return .success(try answer(Params(request), body))
        } catch let error as ControlError {
            return .failure(error)
        } catch {
            return .failure(ControlError(.internal, "\(error)"))
        }
    }
}

extension ControlClient {
    /// Sends a typed request and returns the daemon's result as received (bmactl's `--json`
    /// prints it as is, and its views read older and newer daemons alike).
    public func result<Request: ControlCall>(of request: Request) throws -> JSONValue {
        try call(Request.methodName, params: request.params)
    }

    /// Sends a typed request and decodes the daemon's answer as the request's response type.
    public func call<Request: ControlCall>(_ request: Request) throws -> Request.Response {
        let result = try result(of: request)
        if let document = result as? Request.Response { return document }
        do {
            return try result.decode(as: Request.Response.self)
        } catch {
            throw ControlClientError.malformedResponse("\(Request.methodName): \(JSONValue.describe(error))")
        }
    }
}
