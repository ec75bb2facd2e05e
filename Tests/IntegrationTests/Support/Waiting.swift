import Foundation

/// A bounded wait that did not see its condition.
struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var seconds: TimeInterval
    var context: String

    var description: String {
        "timed out after \(String(format: "%.1f", seconds)) s waiting until \(what)" + (context.isEmpty ? "" : "\n\(context)")
    }
}

/// Polls `condition` every `interval` seconds until it returns true, for at most `timeout`
/// seconds. Errors thrown by the condition end the wait at once.
func waitUntil(
    _ what: String, timeout: TimeInterval, interval: TimeInterval = 0.02,
    context: () -> String = { "" }, _ condition: () throws -> Bool
) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return }
        if Date() >= deadline { throw TimeoutError(what: what, seconds: timeout, context: context()) }
        Thread.sleep(forTimeInterval: interval)
    }
}
