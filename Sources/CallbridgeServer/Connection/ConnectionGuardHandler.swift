import CallbridgeHandlers
import CallbridgeModel
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Thrown into a request's body stream when the body did not arrive within
/// `limits.body_timeout`; the responder reading the body answers 408.
public struct RequestBodyTimeout: Error, Sendable {}

/// Sits after the HTTP/1 codec of every connection and enforces
/// `ConnectionLimits` there: the idle, header and body deadlines, and a JSON
/// answer (`{"error", "detail"}`, the right status) for every request the
/// decoder refuses, where the framework would send an empty 400 or reset the
/// connection. Decisions come from `ConnectionGuardStateMachine`; this type
/// only performs them on the channel's event loop.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private var machine = ConnectionGuardStateMachine()
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// The answer for a forwarded parse error, used when the framework's empty 400 is rewritten.
    private var pendingError: IngestError?
    /// The guard wrote its own answer (a refused request or a head timeout); the connection is closing.
    private var answered = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { perform(machine.activated()) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(machine.activated())
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// Called by `RequestLineWatcher` for every read, before decoding.
    func rawBytesArrived() {
        perform(machine.bytesArrived())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After the guard answered and is closing, what still arrives is discarded.
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .head: perform(machine.headReceived())
        case .body: break
        case .end: perform(machine.endReceived())
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            let frameworkBadRequest = response.status == .badRequest && response.headerFields[.contentLength] == "0"
                && response.headerFields[.contentType] == nil
            switch machine.responseHead(frameworkBadRequest: frameworkBadRequest) {
            case .rewriteAsJSON:
                let error = pendingError ?? IngestError(status: 400, code: "malformed_request", detail: "the request is not valid HTTP/1.1")
                let (head, body) = ConnectionGuardHandler.jsonParts(error)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(body)), promise: promise)
            case .drop:
                promise?.succeed()
            case .passThrough, .endThenClose:
                context.write(data, promise: promise)
            }
        case .body:
            if machine.dropsBody { promise?.succeed() } else { context.write(data, promise: promise) }
        case .end:
            switch machine.responseEnd() {
            case .endThenClose(let dropped):
                if dropped {
                    promise?.succeed()
                    context.flush()
                    context.close(promise: nil)
                } else {
                    closeAfter(context.writeAndFlush(data), context: context)
                    promise?.succeed()
                }
            case .passThrough, .rewriteAsJSON, .drop:
                context.write(data, promise: promise)
                perform(machine.responseEnded())
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let answer = ConnectionGuardHandler.answer(for: error, limits: limits) else {
            context.fireErrorCaught(error)
            return
        }
        switch machine.parseErrorCaught() {
        case .answerNowAndClose:
            cancelTimer()
            respond(answer, context: context)
        case .forward:
            pendingError = answer
            context.fireErrorCaught(error)
        }
    }

    // MARK: - Deadlines

    private func perform(_ action: ConnectionGuardStateMachine.TimerAction) {
        switch action {
        case .none: return
        case .disarm: cancelTimer()
        case .arm(let deadline):
            cancelTimer()
            guard let context else { return }
            let after: ConfigDuration
            switch deadline {
            case .idle: after = limits.idleTimeout
            case .head: after = limits.headerTimeout
            case .body: after = limits.bodyTimeout
            }
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(after.milliseconds)) { [self] in
                self.timer = nil
                self.deadlinePassed(deadline)
            }
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func deadlinePassed(_ deadline: ConnectionGuardStateMachine.Deadline) {
        guard let context else { return }
        switch machine.timerFired(deadline) {
        case .ignore: return
        case .close: context.close(promise: nil)
        case .answerTimeoutAndClose:
            respond(IngestError(status: 408, code: "request_timeout",
                                detail: "the request head did not arrive within \(limits.headerTimeout)"), context: context)
        case .failRequestBody:
            context.fireErrorCaught(RequestBodyTimeout())
        }
    }

    // MARK: - Answers

    /// The JSON answer for an error the decoder or the head conversion raised; nil for other errors.
    static func answer(for error: any Error, limits: ConnectionLimits) -> IngestError? {
        if let parser = error as? HTTPParserError {
            switch parser {
            case .headerOverflow:
                return IngestError(status: 431, code: "headers_too_large",
                                   detail: "the request head exceeds \(limits.maxHeaderBytes) bytes or \(limits.maxHeaders) header fields")
            case .invalidContentLength, .unexpectedContentLength:
                return IngestError(status: 400, code: "malformed_request", detail: "the Content-Length header is invalid or conflicts with the framing")
            case .invalidChunkSize:
                return IngestError(status: 400, code: "malformed_request", detail: "the chunked body is malformed")
            default:
                return IngestError(status: 400, code: "malformed_request", detail: "the request is not valid HTTP/1.1 (\(parser))")
            }
        }
        if error is HTTP1TypeConversionError {
            return IngestError(status: 400, code: "malformed_request", detail: "the request head is not valid HTTP (method, target or header fields)")
        }
        return nil
    }

    static func jsonParts(_ error: IngestError) -> (HTTPResponse, ByteBuffer) {
        let body = ByteBuffer(bytes: JSONValue.object([("error", .string(error.code)), ("detail", .string(error.detail))]).renderedBytes())
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        return (HTTPResponse(status: .init(code: error.status), headerFields: fields), body)
    }

    private func respond(_ error: IngestError, context: ChannelHandlerContext) {
        answered = true
        let (head, body) = ConnectionGuardHandler.jsonParts(error)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        closeAfter(context.writeAndFlush(wrapOutboundOut(.end(nil))), context: context)
    }

    private func closeAfter(_ written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        written.assumeIsolated().whenComplete { _ in LingeringClose.start(context) }
    }
}
