/// A table with aligned columns: a header row, then one row per item. Numeric columns are
/// right-aligned.
struct Table {
    enum Alignment { case left, right }

    struct Column {
        var title: String
        var alignment: Alignment
    }

    var columns: [Column]
    var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        self.columns = columns.map { Column(title: $0.0, alignment: $0.1) }
    }

    mutating func add(_ row: [String]) {
        rows.append(row.map(Text.clean))
    }

    /// The table's lines, columns two spaces apart, no trailing spaces.
    func lines() -> [String] {
        var widths = columns.map { $0.title.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func render(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, column) in columns.enumerated() {
                let cell = i < cells.count ? cells[i] : ""
                let fill = String(repeating: " ", count: max(0, widths[i] - cell.count))
                let last = i == columns.count - 1
                switch column.alignment {
                case .left: parts.append(last ? cell : cell + fill)
                case .right: parts.append(fill + cell)
                }
            }
            var line = parts.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        return [render(columns.map(\.title))] + rows.map(render)
    }
}
