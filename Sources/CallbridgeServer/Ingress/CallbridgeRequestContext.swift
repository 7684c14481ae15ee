import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the TCP peer's
/// address, which `ip_allowlist` verifiers and the raw request record need.
public struct CallbridgeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
