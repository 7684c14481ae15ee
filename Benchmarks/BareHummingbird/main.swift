// A bare Hummingbird endpoint that reads the body and answers a small JSON,
// with no verification, parsing or storage: the ceiling that
// scripts/bench-ingest.sh compares Callbridge's ingest path against, and the
// sink the delivery benchmarks send to.
//
// Usage: bare-hummingbird [PORT] [--record-lag]
// With --record-lag, each POST /bare body that is a Callbridge envelope has
// its "timestamp" (when Callbridge received the request, in milliseconds)
// subtracted from the time it arrived here; GET /lag answers the count and
// percentiles of those lags, in milliseconds (scripts/bench-mixed.sh).
import Foundation
import Hummingbird
import Synchronization

let arguments = CommandLine.arguments.dropFirst()
let port = arguments.first.flatMap(Int.init) ?? 8090
let recordLag = arguments.contains("--record-lag")
let lags = Mutex<[Int64]>([])

let router = Router()
router.post("/bare") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    if recordLag {
        let arrived = Int64(Date().timeIntervalSince1970 * 1000)
        let sent = body.withUnsafeReadableBytes { EnvelopeTimestamp.milliseconds(in: $0) }
        if let sent { lags.withLock { $0.append(arrived - sent) } }
    }
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"status":"accepted","bytes":\#(body.readableBytes)}"#))
    )
}
router.get("/lag") { _, _ -> Response in
    let sorted = lags.withLock { $0 }.sorted()
    func percentile(_ p: Double) -> Int64 {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
    let text = #"{"count":\#(sorted.count),"p50":\#(percentile(0.5)),"p90":\#(percentile(0.9)),"p99":\#(percentile(0.99)),"max":\#(sorted.last ?? 0)}"#
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare"))
try await app.runService()

/// Reads the envelope's first `"timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ"` as
/// milliseconds since 1970 (UTC), or nil when the body holds none.
enum EnvelopeTimestamp {
    static func milliseconds(in bytes: UnsafeRawBufferPointer) -> Int64? {
        let key = Array(#""timestamp":""#.utf8)
        guard bytes.count >= key.count + 24 else { return nil }
        var start = -1
        outer: for i in 0...(bytes.count - key.count - 24) {
            for j in 0..<key.count where bytes[i + j] != key[j] { continue outer }
            start = i + key.count
            break
        }
        guard start >= 0 else { return nil }
        func number(_ offset: Int, _ length: Int) -> Int64? {
            var value: Int64 = 0
            for k in 0..<length {
                let digit = bytes[start + offset + k]
                guard digit >= 48, digit <= 57 else { return nil }
                value = value * 10 + Int64(digit - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              let millisecond = number(20, 3), (1...12).contains(month) else { return nil }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond
    }
}
