/// The fuzz targets of scripts/fuzz.sh: each takes one input of arbitrary bytes,
/// runs it through the code under test and traps (`fatalError`) when an
/// invariant breaks, so libFuzzer records the input as a crash. The same entry
/// points replay the committed corpus and regressions in the normal test build
/// (Tests/CallbridgeFuzzingTests).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `JSONParser`: parsed values re-render and re-parse to the same value.
    case json
    /// `FormURLEncoding`: parsed pairs render and re-parse; encoders invert the decoder.
    case form
    /// `Timestamp(rfc3339:)` and `Normalizer.parseTime` (through a handler's
    /// `occurred_at`): what parses renders to text that parses back.
    case timestamp
    /// `RetryPolicy.parseRetryAfter` and `decide`: never negative, within the policy's bounds.
    case retryAfter = "retry_after"
    /// `CardDataMasker`: masking is idempotent and keeps the text's length.
    case mask
    /// Every shipped handler route end to end through `HandlerSet.match` and
    /// `Normalizer.normalize`; see ``RouteFuzzInput`` for the input layout.
    case route
    /// `ResponseHeaderLines.apply`: libcurl response header lines to `TransportResponse.headers`.
    case curlHeaders = "curl_headers"

    /// Runs one input through the target; returns normally unless an invariant broke.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .json: JSONFuzz.run(bytes)
        case .form: FormFuzz.run(bytes)
        case .timestamp: TimestampFuzz.run(bytes)
        case .retryAfter: RetryAfterFuzz.run(bytes)
        case .mask: MaskFuzz.run(bytes)
        case .route: RouteFuzz.run(bytes)
        case .curlHeaders: CurlHeadersFuzz.run(bytes)
        }
    }

    /// Loads whatever a target needs once (the handler set), so that the first
    /// fuzzing input is not slower than the others and a broken setup fails at start.
    public func prepare() {
        switch self {
        case .route: _ = RouteFuzz.routes
        case .timestamp: _ = TimestampFuzz.route
        default: break
        }
    }

    /// The folder name under `Fuzz/corpus/` and `Fuzz/regressions/`.
    public var name: String { rawValue }
}

/// Traps with `message` when `condition` is false: the fuzzer's signal that an
/// invariant broke (kept in optimized builds, unlike `assert`).
@inline(__always)
func invariant(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}

/// Exact text equality (same Unicode scalars), unlike `==` on `String`, which
/// compares canonical equivalence.
func sameScalars(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.elementsEqual(b.unicodeScalars)
}

func sameScalars(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { sameScalars($0.0, $1.0) && sameScalars($0.1, $1.1) }
}

/// A short printable rendition of a value for invariant messages.
func describe(_ text: String) -> String {
    let limit = 200
    let scalars = text.unicodeScalars
    let shown = scalars.count > limit ? String(String.UnicodeScalarView(scalars.prefix(limit))) + "…" : text
    return shown.debugDescription
}
