/// The state of one admitted connection.
final class ControlConnection {
    let fd: Int32
    let peer: Peer
    var input: ConnectionBuffer
    var output = OutputQueue()
    /// When the connection last had nothing in progress (monotonic seconds): the idle clock.
    var lastActivity: Double
    /// When the request in progress began (its first byte, or the answer to the previous one);
    /// nil while nothing is read, answered or written. Bytes do not move it: the deadline clock.
    var busySince: Double?
    /// No more reading: end of input seen, or the connection is being closed.
    var readClosed = false
    /// Close once the pending output is written (after `request-too-large`).
    var closeAfterFlush = false
    var isClosed = false

    init(fd: Int32, peer: Peer, maxLineBytes: Int, now: Double) {
        self.fd = fd
        self.peer = peer
        self.input = ConnectionBuffer(maxLineBytes: maxLineBytes)
        self.lastActivity = now
    }

    /// Whether there is nothing more to do on this connection but close it.
    var isFinished: Bool { output.isEmpty && (closeAfterFlush || (readClosed && input.pendingCount == 0)) }
}
