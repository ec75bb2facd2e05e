import CDPDK

/// Brings ports up, launches one worker per worker lcore, watches them from the main lcore, and
/// stops everything cleanly. Setup throws with a message naming what failed.
public final class Dataplane {
    public let setup: DataplaneSetup
    public private(set) var ports: [OpenPort] = []
    public let uplinkIndex: Int
    public let mirrorIndex: Int?
    let macs: MacTable
    private(set) var workers: [Worker] = []
    private var pool: OpaquePointer?
    private var mirrorPool: OpaquePointer?
    private var started = false
    let policyTable: PolicyTable
    let actionTable: ActionTable
    /// Workers are polling (commands go through their mailboxes).
    public private(set) var running = false
    /// Main lcore only: last seen link state per port (-1 unknown) and how often it changed.
    var linkState: [Int32] = []
    public internal(set) var linkChanges: [UInt64] = []
    public let startTsc: UInt64

    /// Opens and starts every port. EAL must be initialised.
    public init(_ setup: DataplaneSetup) throws(DataplaneError) {
        self.setup = setup
        startTsc = bma_tsc()
        guard !setup.vms.isEmpty else { throw DataplaneError("no VM ports configured") }
        macs = MacTable(count: setup.vms.count)
        policyTable = PolicyTable(workers: max(setup.workerLcores.isEmpty ? EAL.workerLcores().count : setup.workerLcores.count, 1))
        actionTable = ActionTable(workers: policyTable.workers)
        uplinkIndex = setup.vms.count
        mirrorIndex = setup.mirrorDevargs == nil ? nil : setup.vms.count + 1

        var lcores = setup.workerLcores.isEmpty ? EAL.workerLcores() : setup.workerLcores
        let available = Set(EAL.workerLcores())
        for l in lcores where !available.contains(l) {
            throw DataplaneError("workers: lcore \(l) is not an EAL worker lcore (give it to EAL with -l; the main lcore \(EAL.mainLcore) cannot be a worker)")
        }
        if lcores.isEmpty {
            throw DataplaneError("no worker lcore: give EAL at least two lcores, e.g. -l 0,1 (the first is the main lcore)")
        }
        lcores.sort()

        for (i, vm) in setup.vms.enumerated() {
            ports.append(try OpenPort.attach(name: vm.name, role: .vm(index: i), devargs: vm.devargs, vmId: vm.id))
            if let mac = vm.mac { macs.configure(vm: i, mac: mac) }
        }
        ports.append(try OpenPort.attach(name: "uplink", role: .uplink, devargs: setup.uplinkDevargs, vmId: nil))
        if let m = setup.mirrorDevargs {
            ports.append(try OpenPort.attach(name: "mirror", role: .mirror, devargs: m, vmId: nil))
        }
        let ids = ports.map(\.portId)
        if Set(ids).count != ids.count {
            throw DataplaneError("two roles name the same device; every VM, the uplink and the mirror need their own port")
        }

        let pool = bma_pool_create("bma_rx", setup.mbufs, setup.mbufCache, setup.mbufDataRoom, bma_socket_id())
        guard let pool else { throw DataplaneError(String(cString: bma_last_error())) }
        self.pool = pool

        // VM ports are spread over the workers, one poller each. The uplink's RX is polled by
        // worker 0 alone, so only worker 0 transmits toward VMs: a VM port needs one TX queue
        // (a vhost-user guest with a single queue pair works with any number of workers). The
        // uplink and the mirror get one TX queue per worker.
        let nWorkers = lcores.count
        var assignments = Array(repeating: [RxAssignment](), count: nWorkers)
        for i in 0..<setup.vms.count {
            assignments[i % nWorkers].append(RxAssignment(port: ports[i].portId, queue: 0, portIndex: i, vm: i,
                                                          captureTime: ports[i].rxTimestamp ? 1 : 0))
            ports[i].rxQueues = 1
            ports[i].txQueues = 1
        }
        assignments[0].append(RxAssignment(port: ports[uplinkIndex].portId, queue: 0, portIndex: uplinkIndex, vm: -1,
                                           captureTime: ports[uplinkIndex].rxTimestamp ? 1 : 0))
        ports[uplinkIndex].rxQueues = 1
        ports[uplinkIndex].txQueues = UInt16(nWorkers)
        if let mi = mirrorIndex {
            ports[mi].rxQueues = 1
            ports[mi].txQueues = UInt16(nWorkers)
        }
        for i in ports.indices {
            let p = ports[i]
            if bma_port_start(p.portId, p.rxQueues, p.txQueues, setup.rxDescriptors, setup.txDescriptors, pool) != 0 {
                throw DataplaneError("\(p.name) (\(p.devargs)): \(String(cString: bma_last_error()))")
            }
            started = true
        }

        if bma_timestamps_lookup() == 0 {
            for i in ports.indices { ports[i].rxTimestamp = false }
            for w in assignments.indices { for a in assignments[w].indices { assignments[w][a].captureTime = 0 } }
        }
        linkState = Array(repeating: -1, count: ports.count)
        linkChanges = Array(repeating: 0, count: ports.count)
        var encap = bma_encap_t()
        if let mi = mirrorIndex {
            // Copies come from their own pool so that a busy mirror never starves production.
            guard let mp = bma_pool_create("bma_mirror", setup.mirror.mbufs, setup.mbufCache, setup.mbufDataRoom, bma_socket_id()) else {
                throw DataplaneError("mirror: \(String(cString: bma_last_error()))")
            }
            mirrorPool = mp
            encap = Dataplane.encap(setup.mirror, sourceMAC: ports[mi].mac)
            MirrorPathCheck.limitSegments(&encap, mirrorPort: ports[mi].portId)
        }
        let nsPerCycle = 1e9 / Double(bma_tsc_hz())
        for (w, lcore) in lcores.enumerated() {
            workers.append(Worker(index: w, lcore: lcore, rx: assignments[w], portIds: ids,
                                  uplinkIndex: uplinkIndex, mirrorIndex: mirrorIndex, setup: setup, macs: macs,
                                  nsPerCycle: nsPerCycle, encap: encap, mirrorPool: mirrorPool,
                                  policies: policyTable, actions: actionTable, profile: setup.profileStages))
        }
    }

    /// Each worker's record of why packets were mirrored (empty unless decisionLogCapacity > 0).
    public var decisionLogs: [DecisionLog] { workers.compactMap(\.decisions) }

    /// Starts the workers on their lcores.
    public func launch() throws(DataplaneError) {
        for w in workers {
            let arg = Unmanaged.passUnretained(w).toOpaque()
            if bma_lcore_launch(w.lcore, workerEntry, arg) != 0 {
                bma_request_stop()
                throw DataplaneError("cannot launch worker on lcore \(w.lcore): it is busy")
            }
        }
        running = true
    }

    /// Requests a stop and waits for every worker to return. Counters stay readable.
    public func stopWorkers() {
        bma_request_stop()
        for w in workers { _ = bma_lcore_wait(w.lcore) }
        running = false
        policyTable.reclaim(running: false)
        actionTable.reclaim(running: false)
    }

    /// The MAC table is shared with the workers by pointer: freed only when nothing can use it
    /// any more (the workers are released in `shutdown`, and `vmMAC` needs a live dataplane).
    deinit { macs.deallocate() }

    /// Stops the workers if needed, then stops and closes the ports and frees the pool.
    public func shutdown() {
        stopWorkers()
        if started {
            for p in ports { bma_port_stop_close(p.portId) }
        }
        started = false
        workers.removeAll() // releases pre-trigger references before the pools go
        if let pool { bma_pool_free(pool) }
        pool = nil
        if let mirrorPool { bma_pool_free(mirrorPool) }
        mirrorPool = nil
    }

    static func encap(_ m: MirrorSetup, sourceMAC: UInt64) -> bma_encap_t {
        var e = bma_encap_t()
        switch m.encapsulation {
        case .none: e.kind = UInt32(BMA_ENCAP_NONE)
        case .vxlan: e.kind = UInt32(BMA_ENCAP_VXLAN)
        case .geneve: e.kind = UInt32(BMA_ENCAP_GENEVE)
        case .erspan2: e.kind = UInt32(BMA_ENCAP_ERSPAN2)
        }
        e.snaplen = m.snaplen
        e.src_mac = sourceMAC
        e.dst_mac = m.nextHopMAC
        e.src_ip = m.sourceIP
        withUnsafeMutableBytes(of: &e.collectors) { raw in
            let c = raw.bindMemory(to: UInt32.self)
            for (i, ip) in m.collectors.prefix(Int(BMA_MAX_COLLECTORS)).enumerated() { c[i] = ip }
        }
        e.n_collectors = UInt32(min(m.collectors.count, Int(BMA_MAX_COLLECTORS)))
        e.ttl = 64
        if let key = m.authentication {
            e.auth_key_id = key.id
            e.auth_k0 = key.k0
            e.auth_k1 = key.k1
        }
        return e
    }

    /// Seconds since the dataplane was created.
    public var uptime: Double { Double(bma_tsc() &- startTsc) / Double(bma_tsc_hz()) }

    public var workerLcores: [UInt32] { workers.map(\.lcore) }

    /// The MAC the dataplane holds for VM `index` (configured or learned), or nil.
    public func vmMAC(_ index: Int) -> UInt64? {
        let m = macs.mac(vm: index)
        return m == 0 ? nil : m
    }
}
