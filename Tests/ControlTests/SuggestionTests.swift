import ControlProtocol
import XCTest

/// "Did you mean": likely typos only, and the same answer whatever order the candidates come in.
final class SuggestionTests: XCTestCase {
    func testClosestWithinTheEditLimit() {
        XCTAssertEqual(Suggestion.closest(to: "--confg", among: ["--config", "--quiet"]), "--config")
        XCTAssertNil(Suggestion.closest(to: "zebra", among: ["cam1", "cam2"]))
        XCTAssertNil(Suggestion.closest(to: "ab", among: ["xyz"]), "short words allow one edit")
    }

    func testTiesGoToTheFirstInSortOrder() {
        XCTAssertEqual(Suggestion.closest(to: "cam9", among: ["cam2", "cam1"]), "cam1")
        XCTAssertEqual(Suggestion.closest(to: "cam9", among: ["cam1", "cam2"]), "cam1")
        XCTAssertEqual(Suggestion.closest(to: "cam9", among: ["cam22", "cam2", "cam1"]), "cam1", "a closer one wins over order")
    }
}
