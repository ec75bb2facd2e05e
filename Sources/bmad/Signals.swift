import CDPDK

/// The signal flags live in the shim: the handlers only set them.
enum Signals {
    static func install() { bma_signals_install() }
}
