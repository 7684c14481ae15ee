import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import Hummingbird

/// The order ledger through the admin API: list orders, read one order's
/// story, and register what the merchant created before the buyer pays.
extension AdminAPI {
    /// The longest order id accepted for registration (Unicode scalars, as JSON Schema counts).
    static let maxOrderIDLength = 1024

    func listOrders(_ query: AdminQuery) async throws -> Response {
        var filter = OrderQuery(provider: query.string("provider"))
        filter.state = try query.oneOf("state", OrderState.self)
        if let text = query.string("mismatch") {
            switch text {
            case "true": filter.mismatch = true
            case "false": filter.mismatch = false
            default: throw IngestError.invalidParameter("query parameter 'mismatch' must be true or false, got '\(AdminText.printable(text))'")
            }
        }
        filter.limit = try query.integer("limit", in: 1...500) ?? 50
        if query.string("cursor") != nil {
            filter.before = Int64(try query.integer("cursor", in: 1...999_999_999_999_999_999) ?? 0)
        }
        let listings = try await log.orders(matching: filter)
        let next: JSONValue = listings.count == filter.limit ? (listings.last.map { .number(String($0.cursor)) } ?? .null) : .null
        return JSONResponse.make(status: 200, .object([("data", .array(listings.map(\.entry.json))), ("next_cursor", next)]))
    }

    func getOrder(provider: String, orderID: String) async throws -> Response {
        guard let entry = try await log.order(provider: provider, orderID: orderID) else {
            throw IngestError(status: 404, code: "not_found",
                              detail: "no order '\(AdminText.printable(orderID))' of provider '\(AdminText.printable(provider))' in the ledger")
        }
        let story = try await log.orderStory(provider: provider, orderID: orderID)
        let check = try await log.statusCheck(provider: provider, orderID: orderID, tries: 20)
        return JSONResponse.make(status: 200, OrderStoryRendering.json(entry: entry, story: story, statusCheck: check))
    }

    /// `POST /admin/v1/orders/{provider}/{order_id}/check`: ask the provider
    /// now (202; the worker makes the call). 409 when the provider has no
    /// status API configured, or it needs a transaction id no event gave.
    func checkOrder(provider: String, orderID: String, _ body: AdminBody) async throws -> Response {
        guard orderID.unicodeScalars.count <= AdminAPI.maxOrderIDLength else {
            throw IngestError.invalidParameter("the order id is longer than \(AdminAPI.maxOrderIDLength) characters")
        }
        let transactionID = try body.string("transaction_id")
        do {
            let check = try await OperatorStatusCheck.request(log: log, handlers: handlers, provider: provider, orderID: orderID,
                                                              transactionID: transactionID, now: clock()).after
            statusChecksRequested()
            return JSONResponse.make(status: 202, .object([("status_check", check.json)]))
        } catch let refusal as OperatorStatusCheck.Refusal {
            let detail = AdminText.printable(refusal.description)
            switch refusal {
            case .unknownProvider: throw IngestError(status: 404, code: "not_found", detail: detail)
            case .notConfigured: throw IngestError(status: 409, code: "status_api_not_configured", detail: detail)
            case .transactionIDRequired: throw IngestError(status: 409, code: "transaction_id_required", detail: detail)
            }
        }
    }

    func registerOrder(_ body: AdminBody) async throws -> Response {
        guard let provider = try body.string("provider") else { throw IngestError.invalidField("field 'provider' is required") }
        let known = handlers.providers.map(\.provider)
        guard known.contains(provider) else {
            throw IngestError(status: 404, code: "not_found",
                              detail: "no provider '\(AdminText.printable(provider))' in the handler files (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let orderID = try body.string("order_id") else { throw IngestError.invalidField("field 'order_id' is required") }
        guard orderID.unicodeScalars.count <= AdminAPI.maxOrderIDLength else {
            throw IngestError.invalidField("field 'order_id' is longer than \(AdminAPI.maxOrderIDLength) characters")
        }
        let amount = try body.decimal("amount")
        guard let currencyText = try body.string("currency") else { throw IngestError.invalidField("field 'currency' is required") }
        guard let currency = CurrencyCode(currencyText) else {
            throw IngestError.invalidField("field 'currency' must be an ISO 4217 code of three letters such as USD, got '\(AdminText.printable(currencyText))'")
        }
        do {
            let (entry, registration) = try await log.registerOrder(provider: provider, orderID: orderID, amount: amount, currency: currency, now: clock())
            return JSONResponse.make(status: registration.created ? 201 : 200, .object([
                ("created", .bool(registration.created)),
                ("mismatch", .array(registration.mismatch.map(\.json))),
                ("order", entry.json),
            ]))
        } catch let error as OrderRegistrationError {
            throw IngestError(status: 409, code: "order_already_registered", detail: error.description)
        }
    }
}

extension AdminBody {
    /// A required non-negative decimal amount as a string of digits with an
    /// optional `.` fraction (`"100.00"`; not a JSON number, which clients
    /// may have passed through a binary float); compared by value later.
    func decimal(_ name: String) throws -> DecimalAmount {
        guard let value = members[name] else { throw IngestError.invalidField("field '\(name)' is required") }
        guard case .string(let text) = value else { throw wrongType(name, "a decimal amount as a string such as \"100.00\"", value) }
        guard let amount = DecimalAmount.plain(text) else {
            throw IngestError.invalidField("field '\(name)' must be a decimal amount of digits and an optional fraction, such as \"100.00\", got '\(AdminText.printable(text))'")
        }
        return amount
    }
}
