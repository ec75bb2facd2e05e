import Analysis
import ArgumentParser
import Console
import Foundation

/// `serve`'s web console: where it listens and who may see it.
struct ConsoleOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve the web console on http://HOST:PORT/, or off. Default: 127.0.0.1:9467, given up with a warning when taken. An address other than loopback needs --console-password-file.",
                               valueName: "host:port"))
    var consoleListen: String?

    @Option(help: ArgumentHelp("File whose first line is the console's password (HTTP basic authentication, any user name; mode 600 or 640).",
                               valueName: "file"))
    var consolePasswordFile: String?

    /// The settings checked, before the node touches the store: an address other than loopback
    /// without a password is a usage error (exit 2), as is an unreadable password file.
    func validated() throws(AnalyzerFailure) -> (listen: ConsoleListen, password: ConsolePassword?, explicit: Bool)? {
        let listen: ConsoleListen?
        do { listen = try ConsoleListen.parse(consoleListen ?? ConsoleListen.defaultText) } catch {
            throw .usage("--console-listen \(error.message)")
        }
        guard let listen else { return nil }
        var password: ConsolePassword?
        if let consolePasswordFile {
            do { password = try ConsolePassword.load(path: consolePasswordFile) } catch {
                throw .usage("--console-password-file \(error.message)")
            }
        }
        if !listen.isLoopback, password == nil {
            throw .usage("--console-listen \(listen): an address other than loopback needs --console-password-file (or keep the console on 127.0.0.1)")
        }
        return (listen, password, consoleListen != nil)
    }

    /// Starts the console on `node`'s store. The default address is given up with a warning when
    /// it is taken (another analyzer on this host has it); an address asked for must be had.
    static func start(_ settings: (listen: ConsoleListen, password: ConsolePassword?, explicit: Bool), node: AnalyzerNode,
                      storeDirectory: String) throws -> ConsoleServer? {
        var names = StoreVMNames.load(storeDirectory)
        for (id, name) in node.configuration.vmNames { names[id] = name }
        let pages = ConsolePages(store: ConsoleStore(store: node.store, vmNames: names), storeLabel: storeDirectory,
                                 parseTime: { TimeArgument.nanoseconds($0) })
        let server = ConsoleServer(listen: settings.listen, password: settings.password, pages: pages)
        do {
            let address = try server.start()
            log("bma-analyzer: console on http://\(address)/\(settings.password == nil ? "" : " (password required)")")
            return server
        } catch {
            guard settings.explicit else {
                log("bma-analyzer: console off: \(error.message) (another analyzer on this host? set --console-listen)")
                return nil
            }
            throw AnalyzerFailure("--console-listen: \(error.message)")
        }
    }
}
