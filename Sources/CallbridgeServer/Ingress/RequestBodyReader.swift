import CallbridgeHandlers
import Hummingbird
import NIOCore

/// Reads a request body within a byte limit, for every route that takes one
/// (provider routes and the admin API), and turns each way it can fail into
/// the JSON error the client gets: 413 when the declared or the received
/// length passes the limit (a declared length is refused before anything is
/// read), 408 when the connection guard's body deadline passed, 400 when the
/// body could not be read otherwise (a broken chunked encoding, a reset).
public enum RequestBodyReader {
    public static func collect(_ request: Request, upTo limit: Int) async throws(IngestError) -> ByteBuffer {
        if let declared = request.headers[.contentLength], let length = Int(declared), length > limit {
            throw .bodyTooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .bodyTooLarge(limit: limit)
        } catch is RequestBodyTimeout {
            throw IngestError(status: 408, code: "request_timeout", detail: "the request body did not arrive in time")
        } catch {
            throw IngestError(status: 400, code: "body_unreadable", detail: "the request body could not be read completely")
        }
    }
}
