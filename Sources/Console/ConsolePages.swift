import Analysis
import BMAContract
import Foundation

/// A GET request as the pages need it: its query parameters.
public struct ConsoleRequest: Sendable {
    public var query: [String: String]
    public init(query: [String: String]) { self.query = query }

    func value(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// A query string as forms send it: `+` for a space, then percent-encoding; the first of
    /// repeated names wins.
    public static func parseQuery(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), !name.isEmpty, out[name] == nil else { continue }
            out[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return out
    }
}

/// A page, a pcap or an error, independent of the HTTP server.
public struct ConsoleResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var fileName: String?

    static func html(_ text: String) -> ConsoleResponse {
        ConsoleResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
    }

    enum Failure: Int { case badRequest = 400, notFound = 404, internalServerError = 500, serviceUnavailable = 503 }

    static func error(_ status: Failure, _ message: String) -> ConsoleResponse {
        let links = ConsoleLinks(isStatic: false)
        let page = HTML.page(title: status == .notFound ? "Not found" : "Cannot show this page", links: links, current: "",
                             body: "<p>\(HTML.escape(message))</p><p>" + HTML.link(links.overview, "Back to the fleet") + "</p>",
                             footer: "")
        return ConsoleResponse(status: status.rawValue, contentType: "text/html; charset=utf-8", body: Array(page.utf8))
    }
}

/// The console's pages for the live server: each takes the request's time range (`since`,
/// `until`, in the command line's forms) and renders from the store.
public struct ConsolePages: Sendable {
    public let store: ConsoleStore
    /// The command line's time forms (Unix seconds, RFC 3339, -15m, today, ...) → ns.
    public let parseTime: @Sendable (String) -> UInt64?
    public let storeLabel: String

    public init(store: ConsoleStore, storeLabel: String, parseTime: @escaping @Sendable (String) -> UInt64?) {
        self.store = store
        self.storeLabel = storeLabel
        self.parseTime = parseTime
    }

    func context(_ r: ConsoleRequest) throws(ConsoleError) -> PageContext {
        func time(_ name: String) throws(ConsoleError) -> UInt64? {
            guard let text = r.value(name) else { return nil }
            guard let ns = parseTime(text) else {
                throw ConsoleError("\(name) '\(text)' is not a time: Unix seconds, 2026-12-01T10:00Z, 2026-12-01, -15m, -2h, -1d, now, today or yesterday")
            }
            return ns
        }
        let since = try time("since"), until = try time("until")
        let fallback = store.defaultRange()
        let end = until ?? (since == nil ? fallback.until : max(SystemClock.wallNanoseconds(), fallback.until))
        let start = since ?? (until == nil ? fallback.since : (end > TimeRange.day ? end - TimeRange.day : 0))
        guard start <= end else { throw ConsoleError("since is after until") }
        let range = store.clamped(TimeRange(since: start, until: end))
        var links = ConsoleLinks(isStatic: false)
        links.range = ConsoleFilter(since: r.value("since"), until: r.value("until"))
        return PageContext(store: store, links: links, range: range,
                           footer: "Store \(storeLabel), read at \(HTML.time(SystemClock.wallNanoseconds())) UTC.")
    }

    public func overview(_ r: ConsoleRequest) throws -> ConsoleResponse { .html(try OverviewPage.render(try context(r))) }

    public func vm(_ id: UInt32?, _ r: ConsoleRequest) throws -> ConsoleResponse {
        guard let id else { return .error(.notFound, "A VM is named by its id: /vm/101.") }
        return .html(try VMPage.render(try context(r), vm: id))
    }

    public func alerts(_ r: ConsoleRequest) throws -> ConsoleResponse {
        let filter = ConsoleFilter(vm: r.value("vm"), signature: r.value("signature"), since: r.value("since"), until: r.value("until"))
        return .html(try AlertsPage.render(try context(r), filter: filter))
    }

    public func alert(_ id: String, _ r: ConsoleRequest) throws -> ConsoleResponse {
        guard let alert = try store.alert(id: id) else { return .error(.notFound, "No alert '\(id)' in the store.") }
        return .html(try AlertPage.render(try context(r), alert: alert))
    }

    public func alertPcap(_ id: String, _ r: ConsoleRequest) throws -> ConsoleResponse {
        guard let alert = try store.alert(id: id) else { return .error(.notFound, "No alert '\(id)' in the store.") }
        guard let bytes = try AlertPage.pcap(try context(r), alert: alert) else {
            return .error(.notFound, "Alert '\(id)' names no flow of a VM: it has no packets.")
        }
        return ConsoleResponse(status: 200, contentType: "application/vnd.tcpdump.pcap", body: bytes, fileName: "alert-\(id).pcap")
    }

    public func actions(_ r: ConsoleRequest) throws -> ConsoleResponse { .html(ActionsPage.render(try context(r))) }
}
