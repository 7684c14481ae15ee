import ArgumentParser
import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `sign`/`verify` read the `whsec_` secret from: never a bare argument
/// by default, so it stays out of shell history.
struct SecretOptions: ParsableArguments {
    @Option(help: "Environment variable holding the whsec_ secret.") var secretEnv: String?
    @Option(help: "File holding the whsec_ secret.") var secretFile: String?
    @Option(help: "The whsec_ secret itself (visible in shell history; for experiments).") var secret: String?

    func signer() throws -> WebhookSigner {
        let value: String?
        if let secretEnv {
            value = ProcessEnvironment.variables[secretEnv]
        } else if let secretFile {
            value = SecretSource(environment: [:]).resolve(.file(secretFile))
        } else {
            value = secret
        }
        guard let value else { throw ValidationError("give the secret with --secret-env NAME, --secret-file PATH or --secret whsec_…") }
        guard let signer = WebhookSigner(secrets: [value]) else { throw ValidationError("the secret must be whsec_ followed by base64") }
        return signer
    }
}

/// Reads a body from a file or standard input, byte for byte.
func readBody(file: String?) throws -> [UInt8] {
    let handle: UnsafeMutablePointer<FILE>?
    if let file { handle = fopen(file, "rb") } else { handle = fdopen(STDIN_FILENO, "rb") }
    guard let handle else { throw CLIError("cannot open \(file ?? "standard input")") }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&buffer, 1, buffer.count, handle)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return bytes
}

/// `callbridge sign`: the Standard Webhooks headers Callbridge would send.
struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Print the webhook-id/-timestamp/-signature headers for a body (stdin or --body-file)."
    )
    @OptionGroup var secretOptions: SecretOptions
    @Option(help: "The webhook-id (an event id).") var id: String
    @Option(help: "Unix seconds (default: now).") var timestamp: Int64?
    @Option(help: "File with the exact body (default: standard input).") var bodyFile: String?

    func run() async throws {
        let signer = try secretOptions.signer()
        let body = try readBody(file: bodyFile)
        let ts = timestamp ?? SystemClock.now().secondsSinceEpoch
        print("webhook-id: \(id)")
        print("webhook-timestamp: \(ts)")
        print("webhook-signature: \(signer.signature(id: id, timestamp: ts, body: body))")
    }
}

/// `callbridge verify`: checks headers a service received, as it should.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a webhook-signature for a body; exit 0 if valid, 1 if not."
    )
    @OptionGroup var secretOptions: SecretOptions
    @Option(help: "The webhook-id header.") var id: String
    @Option(help: "The webhook-timestamp header.") var timestamp: Int64
    @Option(help: "The webhook-signature header (v1,… space separated).") var signature: String
    @Option(help: "File with the exact body (default: standard input).") var bodyFile: String?
    @Option(help: "Allowed clock skew, e.g. 5m.") var tolerance: String = "5m"

    func run() async throws {
        guard let window = ConfigDuration(parsing: tolerance) else { throw ValidationError("--tolerance must be a duration like 5m") }
        let signer = try secretOptions.signer()
        let body = try readBody(file: bodyFile)
        if signer.verify(id: id, timestamp: timestamp, body: body, header: signature, now: SystemClock.now(), tolerance: window) {
            print("valid")
        } else {
            print("invalid: the signature does not match this body and secret, or the timestamp is outside \(window)")
            throw ExitCode(1)
        }
    }
}

/// `callbridge secret new`: a fresh whsec_ endpoint secret.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "secret", abstract: "Endpoint signing secrets.", subcommands: [New.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random whsec_ secret.")
        func run() async throws { print(WebhookSigner.newSecret()) }
    }
}
