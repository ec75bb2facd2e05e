import Foundation
import GRDB

/// The store's index: `index.sqlite` in the store directory (SQLite through GRDB, WAL mode).
///
/// Tables:
/// - `segment`: one row per segment file: name, creation time, first/last packet time, bytes,
///   packets, closed.
/// - `flow`: per segment, one row per VM and flow direction (5-tuple; ICMP type and code as the
///   ports; non-IP frames as one row with empty addresses and protocol 0): its Community ID,
///   first/last packet time, packet count, and the first/last index of its packets in the
///   segment. A query finds its segments here (by VM and time, or by Community ID and time) and
///   then reads only those segments, from the first to the last matching index.
/// - `alert`: every alert as its JSON line, with the VM, time (ns), signature, signature id,
///   severity and Community ID indexed.
///
/// A segment's rows are deleted in the same transaction as its file (the file is unlinked inside
/// it, so a failed unlink rolls the deletion back). Not thread-safe by itself: the store calls it
/// under its lock (alerts excepted: GRDB serializes those writes).
final class CaptureIndex: Sendable {
    let path: String
    private let pool: DatabasePool

    struct FlowRow: Sendable {
        var vmID: UInt32
        var key: FlowKey?
        var communityID: String?
        var firstNs: UInt64
        var lastNs: UInt64
        var packets: UInt64
        var firstIndex: Int
        var lastIndex: Int
    }

    /// A segment to read for a query, and the range of packet indexes that may match.
    struct Candidate: Sendable {
        var segmentID: Int64
        var file: String
        var firstIndex: Int
        var lastIndex: Int
    }

    init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "bma.capture-index"
        configuration.prepareDatabase { db in
            // The index names every flow: as private as the captures (SQLite creates its files
            // with 0644; the WAL and shared-memory files take the database file's mode).
            chmod(path, 0o640)
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Keep the WAL small after checkpoints: the index may share a small disk with captures.
            try db.execute(sql: "PRAGMA journal_size_limit = 4194304")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // Incremental auto-vacuum lets retention give the pages of deleted rows back to the disk
        // (`compact()`). It only takes effect through a VACUUM: instant on a new index, once on
        // an index made before it.
        try pool.writeWithoutTransaction { db in
            if try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") != 2 {
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                try db.execute(sql: "VACUUM")
            }
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE segment (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    file TEXT NOT NULL UNIQUE,
                    createdNs INTEGER NOT NULL,
                    firstNs INTEGER,
                    lastNs INTEGER,
                    bytes INTEGER NOT NULL DEFAULT 0,
                    packets INTEGER NOT NULL DEFAULT 0,
                    closed INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX segment_time ON segment(lastNs, firstNs);
                CREATE TABLE flow (
                    segmentId INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
                    vmId INTEGER NOT NULL,
                    srcIp TEXT NOT NULL,
                    dstIp TEXT NOT NULL,
                    proto INTEGER NOT NULL,
                    srcPort INTEGER NOT NULL,
                    dstPort INTEGER NOT NULL,
                    communityId TEXT,
                    firstNs INTEGER NOT NULL,
                    lastNs INTEGER NOT NULL,
                    packets INTEGER NOT NULL,
                    firstIndex INTEGER NOT NULL,
                    lastIndex INTEGER NOT NULL,
                    PRIMARY KEY (segmentId, vmId, srcIp, dstIp, proto, srcPort, dstPort)
                ) WITHOUT ROWID;
                CREATE INDEX flow_vm_time ON flow(vmId, lastNs);
                CREATE INDEX flow_community_time ON flow(communityId, lastNs);
                CREATE TABLE alert (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    vm TEXT NOT NULL,
                    timestampNs INTEGER NOT NULL,
                    signature TEXT NOT NULL,
                    signatureId INTEGER NOT NULL,
                    severity INTEGER NOT NULL,
                    communityId TEXT,
                    json TEXT NOT NULL
                );
                CREATE INDEX alert_vm_time ON alert(vm, timestampNs);
                CREATE INDEX alert_time ON alert(timestampNs);
                CREATE INDEX alert_signature_time ON alert(signature, timestampNs);
                """)
        }
        try migrator.migrate(pool)
    }

    // MARK: Segments

    func insertSegment(file: String, createdNs: UInt64) throws -> Int64 {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO segment (file, createdNs) VALUES (?, ?)", arguments: [file, Self.sql(createdNs)])
            return db.lastInsertedRowID
        }
    }

    func segments() throws -> [CaptureStore.SegmentInfo] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM segment ORDER BY id").map(Self.segment)
        }
    }

    /// Writes segment rows and adds flow aggregates (counts add up; times and indexes widen),
    /// and removes the rows of segments whose files are already gone, in one transaction.
    func commit(_ updates: [(CaptureStore.SegmentInfo, [FlowRow])], removing orphans: [Int64]) throws {
        try pool.write { db in
            for (segment, flows) in updates {
                try db.execute(
                    sql: "UPDATE segment SET firstNs = ?, lastNs = ?, bytes = ?, packets = ?, closed = ? WHERE id = ?",
                    arguments: [segment.firstNs.map(Self.sql), segment.lastNs.map(Self.sql), Self.sql(segment.bytes),
                                Self.sql(segment.packets), segment.closed, segment.id])
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO flow (segmentId, vmId, srcIp, dstIp, proto, srcPort, dstPort, communityId,
                                      firstNs, lastNs, packets, firstIndex, lastIndex)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (segmentId, vmId, srcIp, dstIp, proto, srcPort, dstPort) DO UPDATE SET
                        firstNs = min(firstNs, excluded.firstNs), lastNs = max(lastNs, excluded.lastNs),
                        packets = packets + excluded.packets,
                        firstIndex = min(firstIndex, excluded.firstIndex), lastIndex = max(lastIndex, excluded.lastIndex)
                    """)
                for flow in flows {
                    try upsert.execute(arguments: [
                        segment.id, Int64(flow.vmID), flow.key?.srcIP ?? "", flow.key?.dstIP ?? "", Int64(flow.key?.proto ?? 0),
                        Int64(flow.key?.srcPort ?? 0), Int64(flow.key?.dstPort ?? 0), flow.communityID,
                        Self.sql(flow.firstNs), Self.sql(flow.lastNs), Self.sql(flow.packets), flow.firstIndex, flow.lastIndex,
                    ])
                }
            }
            for id in orphans { try Self.deleteRows(db, segmentID: id) }
        }
    }

    /// Replaces everything the index says about a segment (used when rebuilding it from its file).
    func replaceSegment(_ segment: CaptureStore.SegmentInfo, flows: [FlowRow]) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM flow WHERE segmentId = ?", arguments: [segment.id])
        }
        try commit([(segment, flows)], removing: [])
    }

    /// Deletes a segment's rows and, inside the same transaction, its file (`removeFile`); a
    /// throwing `removeFile` rolls the rows back.
    func deleteSegment(id: Int64, removeFile: () throws -> Void) throws {
        try pool.write { db in
            try Self.deleteRows(db, segmentID: id)
            try removeFile()
        }
    }

    func deleteSegmentRows(id: Int64) throws {
        try pool.write { db in try Self.deleteRows(db, segmentID: id) }
    }

    private static func deleteRows(_ db: Database, segmentID: Int64) throws {
        try db.execute(sql: "DELETE FROM flow WHERE segmentId = ?", arguments: [segmentID])
        try db.execute(sql: "DELETE FROM segment WHERE id = ?", arguments: [segmentID])
    }

    /// Gives the pages freed by deleted rows back to the file system and empties the WAL
    /// (after retention deleted segments: the index must shrink with the captures).
    func compact() throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA incremental_vacuum")
            try db.checkpoint(.truncate)
        }
    }

    /// Bytes of the index on disk: the database, its WAL and its shared-memory file.
    func diskBytes() -> UInt64 {
        [path, path + "-wal", path + "-shm"].reduce(0) { total, file in
            var info = stat()
            return stat(file, &info) == 0 ? total + UInt64(max(0, info.st_size)) : total
        }
    }

    // MARK: Queries

    /// Segments that may hold matching packets, oldest first. `communityID` narrows to a flow;
    /// `flowKeys` does when the flow has no Community ID (rows matched on the exact 5-tuple).
    func candidates(vm: UInt32?, since: UInt64?, until: UInt64?, communityID: String?, flowKeys: [FlowKey]) throws -> [Candidate] {
        if vm == nil, communityID == nil, flowKeys.isEmpty { return try candidates(since: since, until: until) }
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let vm {
            conditions.append("f.vmId = ?")
            arguments.append(Int64(vm))
        }
        if let since {
            conditions.append("f.lastNs >= ?")
            arguments.append(Self.sql(since))
        }
        if let until {
            conditions.append("f.firstNs <= ?")
            arguments.append(Self.sql(until))
        }
        if let communityID {
            conditions.append("f.communityId = ?")
            arguments.append(communityID)
        } else if !flowKeys.isEmpty {
            let tuple = "(f.srcIp = ? AND f.dstIp = ? AND f.proto = ? AND f.srcPort = ? AND f.dstPort = ?)"
            conditions.append("(" + Array(repeating: tuple, count: flowKeys.count).joined(separator: " OR ") + ")")
            for key in flowKeys {
                arguments += [key.srcIP, key.dstIP, Int64(key.proto), Int64(key.srcPort), Int64(key.dstPort)]
            }
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT f.segmentId AS id, s.file AS file, MIN(f.firstIndex) AS firstIndex, MAX(f.lastIndex) AS lastIndex
            FROM flow f JOIN segment s ON s.id = f.segmentId
            \(filter)
            GROUP BY f.segmentId ORDER BY f.segmentId
            """
        let statementArguments = StatementArguments(arguments)
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map { row in
                Candidate(segmentID: row["id"], file: row["file"], firstIndex: row["firstIndex"], lastIndex: row["lastIndex"])
            }
        }
    }

    /// Segments overlapping a time range, by the segment table alone (every packet a candidate).
    private func candidates(since: UInt64?, until: UInt64?) throws -> [Candidate] {
        var conditions = ["packets > 0"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let since {
            conditions.append("lastNs >= ?")
            arguments.append(Self.sql(since))
        }
        if let until {
            conditions.append("firstNs <= ?")
            arguments.append(Self.sql(until))
        }
        let sql = "SELECT id, file, packets FROM segment WHERE " + conditions.joined(separator: " AND ") + " ORDER BY id"
        let statementArguments = StatementArguments(arguments)
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).map { row in
                Candidate(segmentID: row["id"], file: row["file"], firstIndex: 0, lastIndex: Int(row["packets"] as Int64) - 1)
            }
        }
    }

    /// Flow rows per segment id, and the packets they count.
    func flowTotals() throws -> (bySegment: [Int64: UInt64], orphanRows: Int) {
        try pool.read { db in
            var totals: [Int64: UInt64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT segmentId, SUM(packets) AS packets FROM flow GROUP BY segmentId") {
                totals[row["segmentId"]] = UInt64(max(0, row["packets"] as Int64))
            }
            let orphans = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM flow WHERE segmentId NOT IN (SELECT id FROM segment)
                """) ?? 0
            return (totals, orphans)
        }
    }

    // MARK: Alerts

    func insertAlert(_ alert: Alert, timestampNs: UInt64, json: String) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert (vm, timestampNs, signature, signatureId, severity, communityId, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [alert.vm, Self.sql(timestampNs), alert.alert.signature, alert.alert.signature_id,
                            alert.alert.severity, alert.community_id, json])
        }
    }

    /// Alert JSON lines, oldest first.
    func alerts(vm: String?, since: UInt64?, signature: String?, limit: Int?) throws -> [String] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let vm {
            conditions.append("vm = ?")
            arguments.append(vm)
        }
        if let since {
            conditions.append("timestampNs >= ?")
            arguments.append(Self.sql(since))
        }
        if let signature {
            conditions.append("signature = ?")
            arguments.append(signature)
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limitClause = limit.map { " LIMIT \(max(0, $0))" } ?? ""
        let sql = "SELECT json FROM alert \(filter) ORDER BY timestampNs, id\(limitClause)"
        let statementArguments = StatementArguments(arguments)
        return try pool.read { db in try String.fetchAll(db, sql: sql, arguments: statementArguments) }
    }

    // MARK: Values

    /// Times and counts are stored as SQLite integers (64-bit signed).
    static func sql(_ value: UInt64) -> Int64 { Int64(clamping: value) }

    private static func segment(_ row: Row) -> CaptureStore.SegmentInfo {
        CaptureStore.SegmentInfo(
            id: row["id"], file: row["file"], createdNs: UInt64(max(0, row["createdNs"] as Int64)),
            firstNs: (row["firstNs"] as Int64?).map { UInt64(max(0, $0)) },
            lastNs: (row["lastNs"] as Int64?).map { UInt64(max(0, $0)) },
            bytes: UInt64(max(0, row["bytes"] as Int64)), packets: UInt64(max(0, row["packets"] as Int64)),
            closed: row["closed"])
    }
}
