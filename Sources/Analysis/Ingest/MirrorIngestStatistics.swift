import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a mirror receiver (`MirrorListener`, `GRECapture`) has seen since it was created.
public struct MirrorIngestStatistics: Sendable, Equatable {
    /// Datagrams (packets) read from the socket.
    public var received: UInt64 = 0
    /// Their bytes as read: UDP payloads (`MirrorListener`), whole IPv4 packets (`GRECapture`).
    public var receivedBytes: UInt64 = 0
    /// Decoded and handed to the sink.
    public var decoded: UInt64 = 0
    public var decodedByEncapsulation: [MirroredPacket.Encapsulation: UInt64] = [:]
    /// Not decodable, by the kind of error.
    public var dropped: [MirrorDecodeError.Kind: UInt64] = [:]
    /// The most recent decode error, for diagnostics.
    public var lastError: MirrorDecodeError?
    /// Errors reading the socket (the receiver keeps reading).
    public var readErrors: UInt64 = 0

    public init() {}

    public var droppedTotal: UInt64 { dropped.values.reduce(0, +) }

    public func dropped(_ kind: MirrorDecodeError.Kind) -> UInt64 { dropped[kind] ?? 0 }
}

/// The counters behind `MirrorIngestStatistics`: written by a receiver's thread, read from any.
final class MirrorIngestCounters: Sendable {
    private let state = Mutex(MirrorIngestStatistics())

    func record(bytes: Int, outcome: Result<MirroredPacket.Encapsulation, MirrorDecodeError>) {
        state.withLock { stats in
            stats.received &+= 1
            stats.receivedBytes &+= UInt64(bytes)
            switch outcome {
            case .success(let encapsulation):
                stats.decoded &+= 1
                stats.decodedByEncapsulation[encapsulation, default: 0] &+= 1
            case .failure(let error):
                stats.dropped[error.kind, default: 0] &+= 1
                stats.lastError = error
            }
        }
    }

    func recordReadError() {
        state.withLock { $0.readErrors &+= 1 }
    }

    var snapshot: MirrorIngestStatistics { state.withLock { $0 } }
}
