public import Foundation

/// What a token is for. Stored in `auth_tokens.kind`.
public enum TokenKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// From a password sign-in; expires (12 h by default) and is revoked by logout.
    case session
    /// For an integration: named, optionally with a role of its own; 90 days by default.
    case api
    /// Lets a user set their first password; 7 days, single use. Not a bearer token.
    case invite
}

/// A bearer secret: `cmk_` + base64url(tenant id (16 bytes) ‖ 32 random bytes), 68 characters.
///
/// The tenant id in the clear lets the lookup go straight to the tenant's rows (every key leads
/// with tenant_id); it is no secret to the token's holder. The database keeps only
/// `SHA-256(all 48 bytes)`, so a token whose tenant part was edited hashes to nothing.
struct AuthToken: Sendable {
    static let prefix = "cmk_"
    static let secretLength = 32

    let tenantID: UUID
    /// The 48 decoded bytes.
    let bytes: [UInt8]

    /// A new token for `tenantID` from the system CSPRNG (getrandom(2) on Linux).
    static func generate(tenantID: UUID) -> AuthToken {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<secretLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return AuthToken(tenantID: tenantID, bytes: tenantID.bytes + secret)
    }

    /// Reads the text form; nil for anything malformed (the caller answers "unauthenticated").
    static func parse(_ text: String) -> AuthToken? {
        guard text.utf8.count == prefix.utf8.count + 64, text.hasPrefix(prefix) else { return nil }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        guard body.allSatisfy({ Base64URL.alphabet.contains($0) }), let bytes = Base64URL.decode(Substring(body)),
            bytes.count == 16 + secretLength
        else { return nil }
        return AuthToken(tenantID: UUID(bytes: bytes[0..<16]), bytes: bytes)
    }

    var text: String { Self.prefix + Base64URL.encode(bytes) }

    /// What `auth_tokens.token_hash` stores.
    var hash: Data { Data(SHA256.digest(bytes)) }
}

/// RFC 4648 §5 without padding.
enum Base64URL {
    static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        // By hand on bytes: this runs for every request's bearer token.
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case 65...90: value = byte - 65
            case 97...122: value = byte - 97 + 26
            case 48...57: value = byte - 48 + 52
            case 45: value = 62  // -
            case 95: value = 63  // _
            default: return nil
            }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A lone trailing character, or leftover bits that are not zero, is not canonical base64.
        guard bits < 6, accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}

extension UUID {
    fileprivate var bytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }

    fileprivate init(bytes b: ArraySlice<UInt8>) {
        precondition(b.count == 16)
        let s = b.startIndex
        self.init(uuid: (
            b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7],
            b[s + 8], b[s + 9], b[s + 10], b[s + 11], b[s + 12], b[s + 13], b[s + 14], b[s + 15]))
    }
}
