// A bare Hummingbird endpoint that reads the body and answers a small JSON,
// with no verification, parsing or storage: the ceiling that
// scripts/bench-ingest.sh compares Callbridge's ingest path against.
import Hummingbird

let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8090
let router = Router()
router.post("/bare") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"status":"accepted","bytes":\#(body.readableBytes)}"#))
    )
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare"))
try await app.runService()
