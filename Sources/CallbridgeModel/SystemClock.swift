#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The wall clock, in milliseconds since the Unix epoch: the one clock seam.
/// Ingest, the stores, the dispatcher and the CLI take a
/// `@Sendable () -> Timestamp` that defaults to `SystemClock.now`, so tests
/// pass their own.
public enum SystemClock {
    public static let now: @Sendable () -> Timestamp = {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec).saturatingMultiplied(by: 1000) + Int64(spec.tv_nsec) / 1_000_000)
    }
}
