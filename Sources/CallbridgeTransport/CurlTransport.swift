import CCurl
import Foundation

/// The production ``Transport``: libcurl's multi interface on one dedicated
/// thread, so a single thread drives thousands of concurrent requests with
/// connection reuse, HTTP/2 where the endpoint offers it, proxies and client
/// certificates.
///
/// Threads:
/// - ``send(_:)`` and ``shutdown()`` may be called from any task.
/// - One curl thread (``CurlMultiLoop``), started by `init`, owns the multi
///   handle and every easy handle; all libcurl calls except `curl_multi_wakeup`
///   happen there, and so do the write/header callbacks.
/// - Requests reach the curl thread through ``CurlMailbox`` (a lock-protected
///   queue plus `curl_multi_wakeup`); results come back by resuming the
///   caller's continuation from the curl thread.
///
/// Invariants:
/// - Every `send` resumes exactly once: with the response, a transfer error,
///   ``TransportError/cancelled`` when its task is cancelled, or
///   ``TransportError/shutDown`` once the transport stops.
/// - TLS peers are verified, redirects are never followed, only `http` and
///   `https` URLs are fetched, signals are never used (`CURLOPT_NOSIGNAL`).
/// - After ``shutdown()`` returns the curl thread has exited and freed every
///   handle. Dropping the last reference without `shutdown()` stops the thread
///   too (without waiting for it).
public final class CurlTransport: Transport {
    /// The settings this transport was created with.
    public let configuration: Configuration
    /// The default OS name of the curl thread (at most 15 bytes, Linux's limit).
    public static let threadName = "callbridge-curl"
    private let loop: CurlMultiLoop

    /// Creates the multi handle and starts the curl thread.
    /// Throws if the configuration is invalid or libcurl cannot be initialised.
    public init(configuration: Configuration = Configuration()) throws(TransportError) {
        try configuration.validate()
        self.configuration = configuration
        let loop = try CurlMultiLoop(configuration: configuration)
        self.loop = loop
        let name = configuration.threadName
        // The thread names itself first thing: setting Foundation's `Thread.name`
        // from here races with the pthread's creation and is sometimes lost.
        let thread = Thread {
            cb_set_current_thread_name(name)
            loop.run()
        }
        thread.start()
    }

    deinit {
        // No caller is inside `send` (each holds a reference), so nothing waits;
        // the curl thread frees the handles and exits on its own.
        loop.mailbox.requestStop(waiter: nil)
    }

    public func send(_ request: TransportRequest) async throws(TransportError) -> TransportResponse {
        try request.validate()
        let ticket = TransferTicket(request: request)
        let mailbox = loop.mailbox
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard ticket.install(continuation) else { return }
                if !mailbox.submit(ticket) {
                    ticket.finish(.failure(.shutDown))
                }
            }
        } onCancel: {
            if ticket.cancel() {
                mailbox.cancel(ticket)
            }
        }
        return try result.get()
    }

    /// Fails every queued and in-flight request with
    /// ``TransportError/shutDown``, stops the curl thread and waits until it
    /// has exited. Later `send` calls throw ``TransportError/shutDown``.
    /// Idempotent; any task.
    public func shutdown() async {
        let mailbox = loop.mailbox
        await withCheckedContinuation { continuation in
            mailbox.requestStop(waiter: continuation)
        }
    }
}
