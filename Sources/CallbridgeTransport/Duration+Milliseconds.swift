extension Duration {
    /// Whole milliseconds, rounded up so a sub-millisecond timeout is never 0
    /// (which libcurl reads as "no timeout"), clamped to what `long` holds.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 1 }
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return Int.max }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let (total, overflow2) = fromSeconds.addingReportingOverflow(fraction)
        guard !overflow2 else { return Int.max }
        return max(1, Int(total))
    }
}
