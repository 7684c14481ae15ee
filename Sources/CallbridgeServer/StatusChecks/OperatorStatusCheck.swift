import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore

/// An operator asking a provider about an order now: the one path behind
/// `POST /admin/v1/orders/{provider}/{order_id}/check` and `callbridge
/// orders check`. Checks that the provider has a configured status API and
/// that the job can be asked (a provider asked by its own id needs one),
/// then makes the job due (`StatusCheckLog.requestStatusCheck`).
public enum OperatorStatusCheck {
    /// Why the request was refused; `description` says what to do.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case unknownProvider(String, known: [String])
        /// No `status_api:` in the file, or references that keep it off.
        case notConfigured(provider: String, file: String, missing: [String])
        case transactionIDRequired(provider: String)

        public var description: String {
            switch self {
            case .unknownProvider(let provider, let known):
                return "no provider '\(provider)' in the handler files (known: \(known.sorted().joined(separator: ", ")))"
            case .notConfigured(let provider, let file, let missing):
                return missing.isEmpty
                    ? "provider '\(provider)' has no status_api in \(file)"
                    : "provider '\(provider)' status API is off until \(missing.joined(separator: ", ")) are set"
            case .transactionIDRequired(let provider):
                return "provider '\(provider)' is asked by its own id: give its transaction id (--transaction-id, or transaction_id in the admin API; no event of this order carried one)"
            }
        }
    }

    /// Makes the order's check due now; returns the job before (nil if there
    /// was none) and after.
    public static func request(log: any EventLog, handlers: HandlerSet, provider: String, orderID: String, transactionID: String?,
                               now: Timestamp) async throws -> (before: StatusCheck?, after: StatusCheck) {
        guard let handler = handlers.providers.first(where: { $0.provider == provider }) else {
            throw Refusal.unknownProvider(provider, known: handlers.providers.map(\.provider))
        }
        guard let spec = handler.statusAPI else {
            throw Refusal.notConfigured(provider: provider, file: handler.file, missing: handler.statusAPIUnresolved)
        }
        let before = try await log.statusCheck(provider: provider, orderID: orderID, tries: 0)?.check
        if spec.needsTransactionID, transactionID == nil, before?.transactionID == nil {
            throw Refusal.transactionIDRequired(provider: provider)
        }
        let after = try await log.requestStatusCheck(provider: provider, orderID: orderID, transactionID: transactionID, now: now)
        return (before, after)
    }
}
