import BMAContract

/// The reason bits are part of the mirror wire contract (BMAContract.Reason); Dataplane code
/// keeps naming them `Reason`.
public typealias Reason = BMAContract.Reason
