import CDPDK

/// The signal flags live in the shim: the handlers only set them.
enum Signals {
    static func install() { bma_signals_install() }
    static var stopRequested: Bool { bma_stop_requested() != 0 }
    static func takeUsr1() -> Bool { bma_take_usr1() != 0 }
}
