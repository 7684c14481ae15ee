import CCurl

/// The curl thread: one libcurl multi handle and every easy handle, driven by
/// `curl_multi_poll` / `curl_multi_perform` / `curl_multi_info_read`.
///
/// Each turn of ``run()``:
/// 1. drain the ``CurlMailbox`` (start transfers, drop cancelled ones, or stop);
/// 2. `curl_multi_perform` to move every transfer forward (callbacks run here);
/// 3. `curl_multi_info_read` to finish done transfers and resume their callers;
/// 4. `curl_multi_poll` until a socket is ready, a libcurl timer is due, or a
///    caller's `curl_multi_wakeup` arrives.
///
/// `@unchecked Sendable`: the object is created on the thread that builds the
/// ``CurlTransport`` and then handed to the curl thread, which is from then on
/// the only thread that touches its stored properties (multi handle, pool,
/// active table). The one shared part is ``mailbox``, which is `Sendable` on
/// its own.
final class CurlMultiLoop: @unchecked Sendable {
    let mailbox: CurlMailbox
    private let multi: UnsafeMutableRawPointer
    private let configuration: CurlTransport.Configuration
    /// Finished easy handles kept for reuse (already reset).
    private var idleHandles: [CurlEasyHandle] = []
    /// Transfers inside the multi handle, by their ticket.
    private var active: [ObjectIdentifier: CurlTransfer] = [:]

    /// Longest `curl_multi_poll` wait; libcurl shortens it to its next timer.
    private static let pollTimeoutMilliseconds: Int32 = 1000

    init(configuration: CurlTransport.Configuration) throws(TransportError) {
        try CurlGlobal.ensureInitialized()
        guard let multi = curl_multi_init() else {
            throw .other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_multi_init failed")
        }
        self.multi = multi
        self.configuration = configuration
        self.mailbox = CurlMailbox(wakeup: CurlMultiWakeup(multi: multi))
        for (option, value) in [
            (CURLMOPT_MAXCONNECTS, configuration.maxConnections),
            (CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxHostConnections),
            (CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections),
        ] {
            let code = cb_multi_setopt_long(multi, option, value)
            guard code == CURLM_OK else {
                curl_multi_cleanup(multi)
                throw .invalidRequest("curl_multi_setopt(\(option.rawValue), \(value)): \(CurlError.message(for: code))")
            }
        }
    }

    /// The body of the curl thread; returns when a stop was requested and
    /// every caller has been resumed.
    func run() {
        while true {
            let drained = mailbox.drain()
            if drained.stopRequested {
                stop(pending: drained.commands)
                return
            }
            for command in drained.commands {
                switch command {
                case .start(let ticket): start(ticket)
                case .cancel(let ticket): drop(ticket)
                }
            }
            var running: Int32 = 0
            let performCode = curl_multi_perform(multi, &running)
            if performCode != CURLM_OK {
                failAll(.other(code: Int(performCode.rawValue), message: "curl_multi_perform: \(CurlError.message(for: performCode))"))
            }
            readFinishedTransfers()
            _ = curl_multi_poll(multi, nil, 0, Self.pollTimeoutMilliseconds, nil)
        }
    }

    // MARK: Transfers

    private func start(_ ticket: TransferTicket) {
        // Cancelled while queued: its task has been resumed already.
        guard !ticket.isFinished else { return }
        guard let easy = idleHandles.popLast() ?? CurlEasyHandle() else {
            ticket.finish(.failure(.other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_easy_init failed")))
            return
        }
        let transfer = CurlTransfer(ticket: ticket, easy: easy)
        do {
            try transfer.configure(configuration)
        } catch {
            recycle(easy)
            ticket.finish(.failure(error))
            return
        }
        let code = curl_multi_add_handle(multi, easy.raw)
        guard code == CURLM_OK else {
            recycle(easy)
            ticket.finish(.failure(.other(code: Int(code.rawValue), message: "curl_multi_add_handle: \(CurlError.message(for: code))")))
            return
        }
        active[ObjectIdentifier(ticket)] = transfer
    }

    /// The ticket's task was cancelled (and already resumed): stop its transfer.
    private func drop(_ ticket: TransferTicket) {
        guard let transfer = active.removeValue(forKey: ObjectIdentifier(ticket)) else { return }
        curl_multi_remove_handle(multi, transfer.easy.raw)
        recycle(transfer.easy)
    }

    private func readFinishedTransfers() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let result = cb_multi_message_result(message)
            // `message` is invalid once the handle leaves the multi handle.
            var privatePointer: UnsafeMutableRawPointer?
            _ = cb_easy_getinfo_private(handle, &privatePointer)
            guard let privatePointer else {
                curl_multi_remove_handle(multi, handle)
                continue
            }
            let transfer = CurlTransfer.from(privatePointer)
            active.removeValue(forKey: ObjectIdentifier(transfer.ticket))
            let outcome: Result<TransportResponse, TransportError> = result == CURLE_OK
                ? .success(transfer.response())
                : .failure(CurlError.transportError(for: result, detail: transfer.easy.errorDetail))
            curl_multi_remove_handle(multi, handle)
            recycle(transfer.easy)
            transfer.ticket.finish(outcome)
        }
    }

    /// Resets `easy` and keeps it for the next request, up to the pool size.
    private func recycle(_ easy: CurlEasyHandle) {
        guard idleHandles.count < configuration.maxIdleHandles else { return }
        easy.reset()
        idleHandles.append(easy)
    }

    private func failAll(_ error: TransportError) {
        for transfer in active.values {
            curl_multi_remove_handle(multi, transfer.easy.raw)
            recycle(transfer.easy)
            transfer.ticket.finish(.failure(error))
        }
        active.removeAll()
    }

    // MARK: Stopping

    /// Fails queued and running requests with ``TransportError/shutDown``,
    /// frees every handle and resumes the `shutdown()` callers.
    private func stop(pending: [CurlMailbox.Command]) {
        for command in pending {
            if case .start(let ticket) = command {
                ticket.finish(.failure(.shutDown))
            }
        }
        failAll(.shutDown)
        idleHandles.removeAll()
        // After this no other thread calls curl_multi_wakeup on `multi`.
        let waiters = mailbox.markStopped()
        curl_multi_cleanup(multi)
        for waiter in waiters {
            waiter.resume()
        }
    }
}
