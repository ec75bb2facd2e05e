import Analysis
import ArgumentParser
import ControlProtocol
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a running node's ingest rate, drops, storage and alerts per module.")

    @Option(help: "The node's control socket.")
    var socket = "/run/bma-analyzer/analyzer.sock"

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let client: ControlClient
        do { client = try ControlClient(path: socket, timeout: 5) } catch {
            let why: String
            switch error {
            case .notRunning: why = "no analysis node is running? no socket at \(socket)"
            case .notListening: why = "no analysis node listens on \(socket)"
            case .permissionDenied: why = "permission denied on \(socket)"
            default: why = "cannot reach the analysis node at \(socket)"
            }
            FileHandle.standardError.write(Data("bma-analyzer: \(why)\n".utf8))
            throw ExitCode(3)
        }
        let request = AnalyzerStatusRequest()
        if json {
            print(try client.result(of: request).encodedString())
            return
        }
        let status = try client.call(request)
        print(StatusText.block(status), terminator: "")
    }
}
