extension ControlServer {
    /// Bounds on what clients may cost the daemon.
    public struct Limits: Sendable, Equatable {
        /// The longest request line, newline excluded (`request-too-large`, then close).
        public var maxRequestBytes: Int
        /// Connections served at once; the next is answered `busy` and closed.
        public var maxConnections: Int
        /// Connections one non-root uid may hold at once; its next is answered `busy`.
        public var maxConnectionsPerUID: Int
        /// Slots only root may take: other uids are `busy` once `maxConnections - reservedForRoot`
        /// connections are open, so root can always reach a daemon that others fill.
        public var reservedForRoot: Int
        /// A whole request, from its first byte to the last byte of its response, must take less
        /// than this; a client that trickles bytes (or reads its answer byte by byte) is closed.
        public var requestSeconds: Double
        /// A connection with no request in progress and nothing to write for this long is closed.
        public var idleSeconds: Double
        /// Responses waiting for a client that does not read; past this the client is dropped.
        /// A single response is always accepted on an otherwise empty queue.
        public var maxOutputBytes: Int

        public init(maxRequestBytes: Int = 65536, maxConnections: Int = 32, maxConnectionsPerUID: Int = 8,
                    reservedForRoot: Int = 1, requestSeconds: Double = 10, idleSeconds: Double = 60,
                    maxOutputBytes: Int = 8 << 20) {
            self.maxRequestBytes = maxRequestBytes
            self.maxConnections = maxConnections
            self.maxConnectionsPerUID = maxConnectionsPerUID
            self.reservedForRoot = reservedForRoot
            self.requestSeconds = requestSeconds
            self.idleSeconds = idleSeconds
            self.maxOutputBytes = maxOutputBytes
        }
    }
}
