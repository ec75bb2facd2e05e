@testable import Analysis

extension FlowTuple {
    /// The tuple of a whole frame, through the one frame parser.
    init?(frame: [UInt8]) {
        self.init(FrameHeaders(frame: frame))
    }
}
