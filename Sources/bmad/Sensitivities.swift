import Control
import Dataplane

/// Who decides each sensitivity: the configuration (or the dataplane's default), overridden by
/// what an operator set at run time, which is saved (`settings.json`) and outlives a restart.
/// A saved baseline never carries one.
struct Sensitivities {
    /// `detection.sensitivity` as the dataplane runs it (the default when not configured).
    let configuredGlobal: Double
    /// `vms[].sensitivity` by VM name.
    let configuredVM: [String: Double]
    var runtime = RuntimeSettings()

    init(setup: DataplaneSetup) {
        configuredGlobal = setup.detection.sensitivity
        var vms: [String: Double] = [:]
        for vm in setup.vms { if let s = vm.sensitivity { vms[vm.name] = s } }
        configuredVM = vms
    }

    /// The global sensitivity in force.
    var global: Double { runtime.sensitivity ?? configuredGlobal }

    /// The VM's own sensitivity in force; nil = it follows the global one.
    func vm(_ name: String) -> Double? { runtime.vmSensitivity[name] ?? configuredVM[name] }

    /// Puts every value in force on the workers; false when a worker did not answer.
    func apply(to dataplane: Dataplane) -> Bool {
        var ok = dataplane.setGlobalSensitivity(global)
        for (i, vm) in dataplane.setup.vms.enumerated() {
            ok = dataplane.setSensitivity(vm: i, self.vm(vm.name)) && ok
        }
        return ok
    }
}
