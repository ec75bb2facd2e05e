import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CaptureStore {
    /// Reconciles the index with the directory at open (see `init`).
    func recover() throws {
        let rows: [SegmentInfo]
        do {
            rows = try index.segments()
        } catch {
            throw CaptureStoreError.index("\(error)")
        }
        let files = Set(segmentFilesOnDisk())
        // A segment closed while the index could not be written (full disk) and never committed
        // after: its flow rows do not add up. Rebuild it like an unclosed one.
        let flowTotals = (try? index.flowTotals().bySegment) ?? [:]
        var known = Set<String>()
        for row in rows {
            known.insert(row.file)
            guard files.contains(row.file) else {
                try? index.deleteSegmentRows(id: row.id)
                continue
            }
            if row.closed, flowTotals[row.id, default: 0] == row.packets, row.packets > 0 {
                closedSegments.append(row)
            } else if let rebuilt = rebuild(row) {
                closedSegments.append(rebuilt)
            }
        }
        for file in files.subtracting(known).sorted() {
            guard let id = try? index.insertSegment(file: file, createdNs: configuration.clock()) else { continue }
            let row = SegmentInfo(id: id, file: file, createdNs: configuration.clock(), firstNs: nil, lastNs: nil,
                                  bytes: 0, packets: 0, closed: false)
            if let rebuilt = rebuild(row) { closedSegments.append(rebuilt) }
        }
        closedSegments.sort { $0.id < $1.id }
        closedBytes = closedSegments.reduce(0) { $0 + $1.bytes }
        closedPackets = closedSegments.reduce(0) { $0 + $1.packets }
        let highest = (files.compactMap(Self.sequence(of:))).max() ?? 0
        nextSequence = highest % 999_999 + 1
    }

    func segmentFilesOnDisk() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { Self.sequence(of: $0) != nil }
    }

    /// Re-reads a segment that was not closed cleanly (or is not indexed): keeps its valid prefix
    /// (the file is cut after the last whole block) and rewrites its index rows. Removes the
    /// segment when it holds no packet; nil then.
    func rebuild(_ row: SegmentInfo) -> SegmentInfo? {
        let file = path(of: row.file)
        var flows = FlowAggregates()
        var info = row
        info.closed = true
        info.packets = 0
        var validEnd = 0
        do {
            var reader = try PcapNGReader(path: file)
            do {
                while let record = try reader.nextRecord() {
                    let packet = PendingPacket(index: record.index, vmID: record.packet.vmID,
                                               flow: FlowTuple(FrameHeaders(frame: record.packet.frame, wireLength: Int(record.packet.originalLength))),
                                               timestampNs: record.packet.timestampNs)
                    flows.add(packet, communityID: communityID)
                    info.packets += 1
                    info.firstNs = min(info.firstNs ?? packet.timestampNs, packet.timestampNs)
                    info.lastNs = max(info.lastNs ?? packet.timestampNs, packet.timestampNs)
                }
            } catch {
                // A block cut short by a crash (or damaged): keep what precedes it.
            }
            validEnd = reader.offset
        } catch {
            validEnd = 0
        }
        guard info.packets > 0 else {
            try? index.deleteSegment(id: row.id) { unlink(file) }
            return nil
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int, size > validEnd {
            _ = truncate(file, off_t(validEnd))
        }
        info.bytes = UInt64(validEnd)
        do {
            try index.replaceSegment(info, flows: Self.rows(flows))
        } catch {
            backlog[info.id] = (info, flows)
        }
        return info
    }
}
