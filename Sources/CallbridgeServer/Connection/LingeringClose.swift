import NIOCore

/// Closing after an error answer without losing the answer: when a client is
/// still sending (a huge request line, a body we refused), a plain close with
/// unread bytes makes the kernel send a reset, and the client may never read
/// our response. So the write side is shut first and what still arrives is
/// discarded for `linger`, then the connection is closed (nginx's
/// "lingering close").
enum LingeringClose {
    static let linger = TimeAmount.seconds(2)

    /// Call once the answer's last part has been written and flushed.
    static func start(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: linger) {
            context.close(promise: nil)
        }
    }
}
