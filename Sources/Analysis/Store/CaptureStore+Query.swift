import Foundation

extension CaptureStore {
    /// Stored packets of `vm`, with `since <= timestampNs <= until`, of `flow` (either direction:
    /// same Community ID, or the same 5-tuple reversed or not when the flow has none); nil means
    /// any. In storage order (segment by segment, file order within one).
    public func query(vm: UInt32? = nil, since: UInt64? = nil, until: UInt64? = nil, flow: FlowKey? = nil) throws -> [MirroredPacket] {
        var packets: [MirroredPacket] = []
        try forEachPacket(vm: vm, since: since, until: until, flow: flow) { packet, _ in packets.append(packet) }
        return packets
    }

    /// Writes the packets `query` would return to `path` (mode 0600); returns how many. The file
    /// is written whole under a temporary name in the same directory and renamed (`ExportDestination`):
    /// a symlink planted at `path` is replaced, never followed, and a failure leaves `path` as it was.
    @discardableResult
    public func writeQuery(vm: UInt32? = nil, since: UInt64? = nil, until: UInt64? = nil, flow: FlowKey? = nil,
                           to path: String, format: ExportFormat = .pcapng) throws -> Int {
        let destination = ExportDestination(target: path)
        var count = 0
        switch format {
        case .pcapng:
            let writer: PcapNGWriter
            do {
                writer = try PcapNGWriter(path: destination.temporary, comments: true, exclusive: true)
            } catch {
                throw CaptureStoreError.capture(error)
            }
            do {
                try forEachPacket(vm: vm, since: since, until: until, flow: flow) { packet, _ in
                    try writer.write(packet)
                    count += 1
                }
                try writer.close()
            } catch {
                writer.abandon()
                destination.discard()
                throw error
            }
        case .pcap:
            let writer: PcapWriter
            do {
                writer = try PcapWriter(path: destination.temporary, resolution: .nanoseconds, linkType: .ethernet,
                                        snapLength: PcapNGFormat.snapLength, exclusive: true)
            } catch {
                throw CaptureStoreError.export(error.description)
            }
            do {
                try forEachPacket(vm: vm, since: since, until: until, flow: flow) { packet, _ in
                    try writer.write(PcapRecord(timestampNanoseconds: packet.timestampNs, data: packet.frame,
                                                originalLength: packet.originalLength))
                    count += 1
                }
                try writer.close()
            } catch let error as PcapError {
                destination.discard()
                throw CaptureStoreError.export(error.description)
            } catch {
                destination.discard()
                throw error
            }
        }
        try destination.commit()
        return count
    }

    /// The packet a reference names; nil when its segment was deleted or holds fewer packets.
    public func packet(at ref: PacketRef) throws -> MirroredPacket? {
        flush()
        guard var reader = try? PcapNGReader(path: path(of: ref.segment)) else { return nil }
        do {
            while reader.packetIndex < ref.index {
                guard try reader.skipPacket() else { return nil }
            }
            return try reader.next()
        } catch {
            throw CaptureStoreError.capture(error)
        }
    }

    /// Calls `body` with every matching packet and its reference (see `query`). Segment files are
    /// read without holding the store's lock; a segment deleted meanwhile is skipped. A closed
    /// store can still be read.
    public func forEachPacket(vm: UInt32? = nil, since: UInt64? = nil, until: UInt64? = nil, flow: FlowKey? = nil,
                              _ body: (MirroredPacket, PacketRef) throws -> Void) throws {
        let matcher = PacketMatcher(vm: vm, since: since, until: until, flow: flow, communityID: flow?.communityID)
        var events: [StorageEvent] = []
        let candidates = try locked { () throws -> [CaptureIndex.Candidate] in
            if !isClosed { prepareForRead(now: configuration.clock(), events: &events) }
            let keys = flow.map { [$0, $0.reversed] } ?? []
            do {
                return try index.candidates(vm: vm, since: since, until: until, communityID: matcher.communityID, flowKeys: keys)
                    .filter { !orphans.contains($0.segmentID) }
            } catch {
                throw CaptureStoreError.index("\(error)")
            }
        }
        deliver(events)
        for candidate in candidates {
            let file = path(of: candidate.file)
            var reader: PcapNGReader
            do {
                reader = try PcapNGReader(path: file)
            } catch {
                if !FileManager.default.fileExists(atPath: file) { continue }  // deleted by retention meanwhile
                throw CaptureStoreError.capture(error)
            }
            do {
                while reader.packetIndex < candidate.firstIndex {
                    guard try reader.skipPacket() else { break }
                }
                while reader.packetIndex <= candidate.lastIndex, let record = try reader.nextRecord() {
                    if matcher.matches(record.packet) {
                        try body(record.packet, PacketRef(segment: candidate.file, index: record.index))
                    }
                }
            } catch let error as PcapNGError {
                throw CaptureStoreError.capture(error)
            }
        }
    }

    /// Checks the index against the directory (after committing what is pending).
    public func checkIndex() throws -> IndexCheck {
        flush()
        do {
            let rows = try index.segments()
            let files = Set(segmentFilesOnDisk())
            let (totals, orphanRows) = try index.flowTotals()
            return IndexCheck(
                missingFiles: rows.filter { !files.contains($0.file) }.map(\.file),
                unindexedFiles: files.subtracting(rows.map(\.file)).sorted(),
                orphanFlowRows: orphanRows,
                packetCountMismatches: rows.filter { totals[$0.id, default: 0] != $0.packets }.map(\.file))
        } catch {
            throw CaptureStoreError.index("\(error)")
        }
    }
}

/// The per-packet filter of a query.
struct PacketMatcher {
    var vm: UInt32?
    var since: UInt64?
    var until: UInt64?
    var flow: FlowKey?
    var communityID: String?
    /// `flow` in binary, when its addresses parse.
    var tuple: FlowTuple?

    init(vm: UInt32?, since: UInt64?, until: UInt64?, flow: FlowKey?, communityID: String?) {
        self.vm = vm
        self.since = since
        self.until = until
        self.flow = flow
        self.communityID = communityID
        tuple = flow.flatMap { FlowTuple($0) }
    }

    func matches(_ packet: MirroredPacket) -> Bool {
        if let vm, packet.vmID != vm { return false }
        if let since, packet.timestampNs < since { return false }
        if let until, packet.timestampNs > until { return false }
        guard let flow else { return true }
        guard let packetFlow = FlowTuple(FrameHeaders(frame: packet.frame, wireLength: Int(packet.originalLength))) else {
            return false
        }
        if let tuple, packetFlow == tuple || packetFlow == tuple.reversed { return true }
        // Same flow in other words: ICMP request and reply.
        guard packetFlow.proto == flow.proto, let communityID else { return false }
        return packetFlow.communityID == communityID
    }
}
