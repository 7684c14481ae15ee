/// Decides how many status checks may start now: a global and a
/// per-provider cap on calls in flight, and a per-provider token bucket
/// (`rate` calls per second, one second of burst). A value, owned by the
/// worker actor, driven by an injected monotonic clock in milliseconds.
///
/// Invariants: `inFlight(provider) <= perProvider`, the sum over providers
/// `<= total`; a provider's tokens stay within 0...rate; `started` is only
/// called with at most `capacity(…)` calls.
struct StatusCheckAdmission: Sendable {
    let total: Int
    let perProvider: Int
    let rate: Int
    private var inFlight: [String: Int] = [:]
    private var tokens: [String: Double] = [:]
    private var refilledAt: [String: Int64] = [:]

    init(total: Int, perProvider: Int, rate: Int) {
        self.total = max(1, total)
        self.perProvider = max(1, min(perProvider, total))
        self.rate = max(1, rate)
    }

    var inFlightTotal: Int { inFlight.values.reduce(0, +) }

    func inFlight(_ provider: String) -> Int { inFlight[provider, default: 0] }

    private mutating func refill(_ provider: String, now: Int64) {
        let last = refilledAt[provider] ?? now
        let elapsed = Double(max(0, now - last))
        tokens[provider] = min(Double(rate), (tokens[provider] ?? Double(rate)) + elapsed * Double(rate) / 1000)
        refilledAt[provider] = now
    }

    /// How many calls to `provider` may start at `now`.
    mutating func capacity(_ provider: String, now: Int64) -> Int {
        refill(provider, now: now)
        let byProvider = perProvider - inFlight(provider)
        let byTotal = total - inFlightTotal
        let byRate = Int((tokens[provider] ?? 0).rounded(.down))
        return max(0, min(byProvider, byTotal, byRate))
    }

    mutating func started(_ provider: String, count: Int, now: Int64) {
        guard count > 0 else { return }
        refill(provider, now: now)
        inFlight[provider, default: 0] += count
        tokens[provider] = max(0, (tokens[provider] ?? 0) - Double(count))
    }

    mutating func finished(_ provider: String) {
        inFlight[provider] = max(0, inFlight(provider) - 1)
    }

    /// Milliseconds until `provider` has a token again when it has none and
    /// a slot is free (nil when it has one, or when only a completion can free it).
    func waitForToken(_ provider: String, now: Int64) -> Int64? {
        guard inFlight(provider) < perProvider, inFlightTotal < total else { return nil }
        let elapsed = Double(max(0, now - (refilledAt[provider] ?? now)))
        let have = min(Double(rate), (tokens[provider] ?? Double(rate)) + elapsed * Double(rate) / 1000)
        guard have < 1 else { return nil }
        return Int64(((1 - have) * 1000 / Double(rate)).rounded(.up))
    }
}
