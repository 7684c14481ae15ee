import CallbridgeDispatch
import CallbridgeStore
import ServiceLifecycle

/// Wakes this process's dispatcher when any process sharing the log commits
/// deliveries (PostgreSQL LISTEN/NOTIFY), until graceful shutdown.
///
/// Invariant: only a latency improvement; the dispatcher's poll still finds
/// every delivery if a notification is lost.
public struct DeliveryWatchService: Service {
    public let log: any DeliveryNotifying
    public let dispatcher: Dispatcher

    public init(log: any DeliveryNotifying, dispatcher: Dispatcher) {
        self.log = log
        self.dispatcher = dispatcher
    }

    public func run() async throws {
        let dispatcher = self.dispatcher
        await cancelWhenGracefulShutdown {
            await log.watchDeliveries { dispatcher.wake() }
        }
    }
}
