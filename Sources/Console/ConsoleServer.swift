import Analysis
import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import Synchronization

/// The web console (Hummingbird, HTTP/1.1): the pages of `ConsolePages` on GET, rendered from
/// the store on a thread of NIO's pool so that reading the store never blocks an event loop.
/// With a password, every request needs it (HTTP basic authentication).
public final class ConsoleServer: Sendable {
    private let listen: ConsoleListen
    private let pages: ConsolePages
    private let password: ConsolePassword?
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(listen: ConsoleListen, password: ConsolePassword?, pages: ConsolePages) {
        self.listen = listen
        self.password = password
        self.pages = pages
    }

    /// Starts serving; returns the address bound (`HOST:PORT`, the port chosen when 0 was given)
    /// once it accepts connections, or throws why it cannot (address in use, not local).
    public func start(timeout: Duration = .seconds(15)) throws(ConsoleError) -> String {
        let router = Router()
        if let password { router.add(middleware: BasicAuthentication(password: password)) }
        let pages = self.pages
        router.get("/") { request, _ in try await Self.respond(request) { try pages.overview($0) } }
        router.get("/vm/:id") { request, context in
            let id = context.parameters.get("id").flatMap(UInt32.init)
            return try await Self.respond(request) { try pages.vm(id, $0) }
        }
        router.get("/alerts") { request, _ in try await Self.respond(request) { try pages.alerts($0) } }
        router.get("/alerts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await Self.respond(request) { try pages.alert(id, $0) }
        }
        router.get("/alerts/:id/pcap") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await Self.respond(request) { try pages.alertPcap(id, $0) }
        }
        router.get("/actions") { request, _ in try await Self.respond(request) { try pages.actions($0) } }

        let bound = StartResult()
        var app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(listen.bindHost, port: listen.port), serverName: nil),
            onServerRunning: { channel in bound.value.withLock { $0 = .success(channel.localAddress?.port ?? 0) } })
        // The analyzer prints its own lines; the server's only when something fails.
        app.logger.logLevel = .error
        let address = listen.description
        let running = app
        task.withLock {
            $0 = Task.detached {
                do { try await running.run() } catch {
                    let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
                    bound.value.withLock { if $0 == nil { $0 = .failure(ConsoleError("cannot listen on \(address): \(reason)")) } }
                }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch bound.value.withLock({ $0 }) {
            case .success(let port)?: return ConsoleListen(host: listen.host, port: port).description
            case .failure(let error)?:
                stop()
                throw error
            case nil: usleep(10_000)
            }
        }
        stop()
        throw ConsoleError("\(listen): the server did not start within \(timeout)")
    }

    public func stop() {
        task.withLock {
            $0?.cancel()
            $0 = nil
        }
    }

    /// Renders on NIO's thread pool; a bad request or a store error is a page, never a crash.
    private static func respond(_ request: Request, _ render: @escaping @Sendable (ConsoleRequest) throws -> ConsoleResponse) async throws -> Response {
        let input = ConsoleRequest(query: ConsoleRequest.parseQuery(request.uri.query ?? ""))
        let output: ConsoleResponse
        do {
            output = try await NIOThreadPool.singleton.runIfActive { () throws -> ConsoleResponse in
                do { return try render(input) } catch let error as ConsoleError {
                    return .error(.badRequest, error.message)
                } catch {
                    return .error(.internalServerError, "\(error)")
                }
            }
        } catch {
            output = .error(.serviceUnavailable, "the console is stopping")
        }
        var headers: HTTPFields = [
            .contentType: output.contentType,
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
            .xContentTypeOptions: "nosniff",
            .cacheControl: "no-store",
        ]
        if let name = output.fileName { headers[.contentDisposition] = "attachment; filename=\"\(name)\"" }
        return Response(status: HTTPResponse.Status(code: output.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: output.body)))
    }
}

/// Set once the server runs (its port) or fails (why).
private final class StartResult: Sendable {
    let value = Mutex<Result<Int, ConsoleError>?>(nil)
}

/// Every request needs the password; a browser asks for it on the 401.
struct BasicAuthentication<Context: RequestContext>: RouterMiddleware {
    let password: ConsolePassword

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard password.accepts(authorization: request.headers[.authorization]) else {
            return Response(status: .unauthorized,
                            headers: [.wwwAuthenticate: "Basic realm=\"BMA analyzer\", charset=\"UTF-8\"", .contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "The console needs its password.\n")))
        }
        return try await next(request, context)
    }
}
