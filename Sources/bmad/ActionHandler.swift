import BMAContract
import Control
import Dataplane

/// The response actions of a running bmad: `action.add`, `action.list`, `action.remove`, and
/// their expiry. Every change is saved before it is published and answered (a failed save
/// changes nothing); each event (added, exists, expired, removed) goes to the log and to the
/// recent events `action.list` answers.
final class ActionHandler {
    let dataplane: Dataplane
    let file: ActionFile?
    let log: (String) -> Void
    private(set) var set = ActionSet()
    /// The latest events, oldest first (at most `eventCapacity`).
    private var events: [ActionListRequest.Event] = []
    static let eventCapacity = 100

    init(dataplane: Dataplane, file: ActionFile?, log: @escaping (String) -> Void) {
        self.dataplane = dataplane
        self.file = file
        self.log = log
    }

    /// Before the workers start: the saved actions that have not expired yet.
    func restore() {
        guard let file else { return }
        do {
            guard var saved = try file.load() else { return }
            guard saved.count <= Dataplane.maxActions else {
                log("bmad: saved actions ignored: \(saved.count) actions, at most \(Dataplane.maxActions)")
                return
            }
            for a in saved.expire(at: dataplane.nowNs) { record(.expired, a) }
            set = saved
            dataplane.publishActions(ActionCompiler.compile(set, vms: dataplane.setup.vms))
            log("bmad: \(set.count) actions restored from \(file.path)")
        } catch {
            log("bmad: saved actions ignored: \(error)")
        }
    }

    /// Main-loop step: removes what expired.
    func expire() {
        let now = dataplane.nowNs
        guard let next = set.nextExpiry, next <= now else { return }
        var after = set
        let gone = after.expire(at: now)
        // An expiry that cannot be saved is enforced anyway (a restart drops it again).
        if let file { try? file.save(after) }
        publish(after)
        for a in gone { record(.expired, a) }
    }

    func remove(_ r: ActionRemoveRequest) throws(ControlError) -> ActionRemoveRequest.Removed {
        var after = set
        guard let a = after.remove(id: r.id) else { throw ControlError(.notFound, "no action with id \(r.id)") }
        try commit(after)
        record(.removed, a)
        return .init(id: r.id, event: ActionSet.Event.removed.rawValue)
    }

    func add(_ r: ActionAddRequest) throws(ControlError) -> JSONValue {
        var a = try ResponseAction(params: Params(r.action))
        if let ref = a.vm, !dataplane.setup.vms.contains(where: { ref.refers(toID: $0.id, name: $0.name) }) {
            throw ControlError(.notFound, "vm: no VM \(ref) (VMs: \(dataplane.setup.vms.map(\.name).joined(separator: ", ")))")
        }
        let now = dataplane.nowNs
        a.createdNs = now
        a.expiresNs = now &+ UInt64(r.seconds * 1e9)
        var after = set
        guard after.count < Dataplane.maxActions || after.actions.contains(where: { $0.sameTarget(as: a) }) else {
            throw ControlError(.conflict, "at most \(Dataplane.maxActions) actions in force")
        }
        let (stored, event) = after.add(a)
        try commit(after)
        record(event, stored)
        guard case .object(var o) = describe(stored) else { return .null }
        o["event"] = .string(event.rawValue)
        return .object(o)
    }

    func list() -> ActionListRequest.ActionList {
        ActionListRequest.ActionList(actions: set.actions.map(describe), events: events)
    }

    /// An action with its counters and the seconds it has left.
    private func describe(_ a: ResponseAction) -> JSONValue {
        guard case .object(var o) = a.json else { return .null }
        let c = dataplane.actionCounts(id: a.id)
        o["counters"] = ["matched": .number(Double(c.matched)), "dropped": .number(Double(c.dropped)),
                         "limited": .number(Double(c.limited)), "mirrored": .number(Double(c.mirrored)),
                         "allowed": .number(Double(c.allowed))]
        let now = dataplane.nowNs
        o["seconds_left"] = .number(a.expiresNs > now ? (Double(a.expiresNs - now) / 1e6).rounded() / 1e3 : 0)
        return .object(o)
    }

    private func commit(_ after: ActionSet) throws(ControlError) {
        if let file {
            do { try file.save(after) } catch {
                throw ControlError(.internal, "actions not saved, nothing changed: \(error)")
            }
        }
        publish(after)
    }

    private func publish(_ after: ActionSet) {
        dataplane.publishActions(ActionCompiler.compile(after, vms: dataplane.setup.vms))
        set = after
    }

    private func record(_ event: ActionSet.Event, _ a: ResponseAction) {
        let why = a.reason.isEmpty ? "" : " (\(a.reason))"
        log("bmad: action \(a.id) \(event.rawValue): \(a.kind.rawValue) \(a.targetText) until \(ResponseAction.isoTime(a.expiresNs))\(why)")
        events.append(.init(time: ResponseAction.isoTime(dataplane.nowNs), event: event.rawValue, id: a.id,
                            kind: a.kind.rawValue, target: a.targetText, reason: a.reason))
        if events.count > Self.eventCapacity { events.removeFirst(events.count - Self.eventCapacity) }
    }
}
