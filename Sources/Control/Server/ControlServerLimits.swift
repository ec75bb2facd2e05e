extension ControlServer {
    /// Bounds on what clients may cost the daemon.
    public struct Limits: Sendable, Equatable {
        /// The longest request line, newline excluded (`request-too-large`, then close).
        public var maxRequestBytes: Int
        /// Connections served at once; the next is answered `busy` and closed.
        public var maxConnections: Int
        /// A connection with no bytes moving either way for this long is closed.
        public var idleSeconds: Double
        /// Responses waiting for a client that does not read; past this the client is dropped.
        /// A single response is always accepted on an otherwise empty queue.
        public var maxOutputBytes: Int

        public init(maxRequestBytes: Int = 65536, maxConnections: Int = 32, idleSeconds: Double = 60,
                    maxOutputBytes: Int = 8 << 20) {
            self.maxRequestBytes = maxRequestBytes
            self.maxConnections = maxConnections
            self.idleSeconds = idleSeconds
            self.maxOutputBytes = maxOutputBytes
        }
    }
}
