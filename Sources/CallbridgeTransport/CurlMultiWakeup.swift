import CCurl

/// The one multi-handle operation other threads may perform.
///
/// `@unchecked Sendable`: `curl_multi_wakeup` is documented as callable from
/// any thread, and ``CurlMailbox`` only calls it under its lock while the
/// multi handle is alive. Nothing else can be done through this value.
struct CurlMultiWakeup: @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer

    init(multi: UnsafeMutableRawPointer) {
        self.multi = multi
    }

    func wake() {
        _ = curl_multi_wakeup(multi)
    }
}
