import CallbridgeModel

/// The JSON bodies each provider's status API answers with, in its
/// documented shape (field names are what Callbridge's handler files read).
///
/// Invariants: every body is valid JSON (strings go through ``JSONValue``,
/// which escapes quotes, backslashes and control characters); an amount is
/// written as a JSON number only when it matches `^[0-9]+(\.[0-9]+)?$`,
/// otherwise as a string.
enum StatusAPIBody {
    /// The 200 body for `orderID`.
    static func answer(
        provider: SimulatedProvider, orderID: String, answer: StatusAPISimulator.OrderAnswer, merchantID: String?, now: Timestamp
    ) -> JSONValue {
        let currency = answer.currency ?? provider.statusAPIDefaultCurrency
        switch provider {
        case .juspay:
            let merchant = merchantID ?? "sim"
            var members: [(String, JSONValue)] = [
                ("order_id", .string(orderID)),
                ("id", .string("ordeh_" + stableToken(orderID))),
                ("merchant_id", .string(merchant)),
                ("status", .string(answer.status)),
            ]
            if let id = SimulatedProvider.juspayStatusID(for: answer.status) {
                members.append(("status_id", .number(String(id))))
            }
            members += [
                ("amount", amountValue(answer.amount)),
                ("currency", .string(currency)),
                ("txn_id", .string("\(merchant)-\(orderID)-1")),
                ("refunded", .bool(false)),
                ("amount_refunded", .number("0")),
                // Juspay stamps whole seconds.
                ("last_updated", .string(Timestamp(secondsSinceEpoch: now.secondsSinceEpoch).rfc3339)),
            ]
            return .object(members)
        case .luxfin:
            return .object([
                ("status", .string(answer.status)),
                ("data", .object([
                    ("id", .string(orderID)),
                    ("Amount", amountValue(answer.amount)),
                    ("currency", .string(currency)),
                    ("customer", .string("buyer@example.com")),
                    ("product", .string("Simulated order")),
                    ("status", .string(answer.status)),
                ])),
            ])
        case .nonstopay:
            return .object([
                ("invoice", .object([
                    ("id", .string(orderID)),
                    ("devise", .string(currency)),
                    ("amount", .string(answer.amount)),
                    ("status", .string(answer.status)),
                ])),
            ])
        }
    }

    /// An error body in the provider's shape for HTTP `status`.
    static func error(provider: SimulatedProvider, status: Int, message: String? = nil) -> JSONValue {
        let text = message ?? "simulated error: HTTP \(status)"
        switch provider {
        case .juspay:
            return .object([("status", .string("error")), ("error_code", .string(juspayErrorCode(status))), ("error_message", .string(text))])
        case .luxfin:
            return .object([("status", .string("error")), ("message", .string(text))])
        case .nonstopay:
            return .object([("error", .string(text))])
        }
    }

    /// Juspay-style `error_code` for an HTTP status.
    static func juspayErrorCode(_ status: Int) -> String {
        switch status {
        case 400: return "invalid_request"
        case 401: return "access_denied"
        case 403: return "forbidden"
        case 404: return "order_not_found"
        case 405: return "method_not_allowed"
        case 429: return "too_many_requests"
        case 500: return "internal_server_error"
        case 502: return "bad_gateway"
        case 503: return "service_unavailable"
        case 504: return "gateway_timeout"
        default: return "error"
        }
    }

    /// `amount` as a JSON number (its exact text) when it is a plain decimal,
    /// else as a JSON string, so the body stays valid JSON whatever it holds.
    static func amountValue(_ amount: String) -> JSONValue {
        isPlainDecimal(amount) ? .number(amount) : .string(amount)
    }

    /// Whether `text` matches `^[0-9]+(\.[0-9]+)?$` (ASCII digits only).
    static func isPlainDecimal(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")) else {
            return !bytes.isEmpty && bytes.allSatisfy(isDigit)
        }
        let whole = bytes[..<dot]
        let fraction = bytes[(dot + 1)...]
        return !whole.isEmpty && whole.allSatisfy(isDigit) && !fraction.isEmpty && fraction.allSatisfy(isDigit)
    }

    /// A stable 16-hex-digit token for `text` (FNV-1a 64), so one order keeps
    /// the same provider id across calls and runs.
    static func stableToken(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
