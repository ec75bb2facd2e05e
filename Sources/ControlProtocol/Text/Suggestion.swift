/// "Did you mean": the known word closest to a mistyped one, for every tool's messages.
public enum Suggestion {
    /// The closest of `candidates` when it is a likely typo (1 edit for words of up to 3
    /// characters, else 2), nil otherwise. Of equally close ones, the first in sort order, so the
    /// answer does not depend on the order the candidates come in (a dictionary's varies by run).
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let limit = word.count <= 3 ? 1 : 2
        return candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= limit }
            .min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    /// Levenshtein distance (small words: the simple table is enough).
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
