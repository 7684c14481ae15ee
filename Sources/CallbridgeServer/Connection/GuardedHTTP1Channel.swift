import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel with Callbridge's connection guard
/// around the codec: `RequestLineWatcher` before the decoder and
/// `ConnectionGuardHandler` after it, and the decoder's size limits taken
/// from `ConnectionLimits`. Request handling is the framework's own
/// (`handleHTTP`), so keep-alive, pipelining and graceful shutdown behave as
/// in `HTTP1Channel`.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let guardHandler = ConnectionGuardHandler(limits: limits)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(RequestLineWatcher(guardHandler: guardHandler, maxURIBytes: limits.maxURIBytes))
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
            decoderLimits.maxHeaderFieldCount = limits.maxHeaders
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the async channel serialises requests itself
                withErrorHandling: false,  // the guard answers decoding errors
                withOutboundHeaderValidation: false,  // swift-http-types validates fields already
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: decoderLimits
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(guardHandler)
            // No idle timeout here: the guard owns every deadline; this handler still closes idle connections on shutdown.
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the connection guard (see `GuardedHTTP1Channel`).
    static func guardedHTTP1(limits: ConnectionLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits) }
    }
}
