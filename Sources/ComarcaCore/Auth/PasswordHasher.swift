import CArgon2
import Foundation

/// Password hashing with argon2id (libargon2, the reference implementation), OWASP's parameters:
/// 19 MiB of memory, 2 iterations, 1 lane; a random 16-byte salt; a 32-byte tag; stored as the
/// PHC string `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// Hashing and verifying take tens of milliseconds of CPU and 19 MiB each: never call them on an
/// event loop. `AuthService` calls them on the thread that runs its `PGConnection` work, i.e. a
/// `PGPool` thread when used through `pool.withConnection`.
///
/// Passwords are normalized to Unicode NFC first, so the same password typed on systems that
/// compose accents differently verifies. They are never logged or put in an error message.
public struct PasswordHasher: Sendable {
    public struct Parameters: Sendable, Hashable {
        public var memoryKiB: UInt32
        public var iterations: UInt32
        public var parallelism: UInt32

        public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
            self.memoryKiB = memoryKiB
            self.iterations = iterations
            self.parallelism = parallelism
        }

        /// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
        public static let owasp = Parameters(memoryKiB: 19_456, iterations: 2, parallelism: 1)
    }

    /// Characters (after NFC normalization), per issue 3.
    public static let minimumLength = 12
    public static let maximumLength = 1024

    static let saltLength = 16
    static let tagLength = 32

    public let parameters: Parameters

    public init(parameters: Parameters = .owasp) {
        self.parameters = parameters
    }

    /// Throws `invalidInput` (field `password`) unless the password has 12 to 1024 characters.
    public static func validate(_ password: String) throws {
        let count = normalized(password).count
        if count < minimumLength {
            throw CoreError.invalid("password", "must be at least \(minimumLength) characters long")
        }
        if count > maximumLength {
            throw CoreError.invalid("password", "must be at most \(maximumLength) characters long")
        }
    }

    /// Validates the password's length, then hashes it with a fresh random salt.
    public func hash(_ password: String) throws -> String {
        try Self.validate(password)
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        var bytes = Array(Self.normalized(password).utf8)
        defer { Self.wipe(&bytes) }
        let length = argon2_encodedlen(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism,
            UInt32(Self.saltLength), UInt32(Self.tagLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let status = argon2id_hash_encoded(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism,
            bytes, bytes.count, salt, salt.count, Self.tagLength, &encoded, length)
        guard status == ARGON2_OK.rawValue else {
            // The library's message names the failing limit (e.g. memory), never the input.
            throw CoreError(.invalidInput, "password hashing failed: \(String(cString: argon2_error_message(status)))")
        }
        return encoded.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Whether `password` matches the PHC string `encoded`. libargon2 recomputes the tag with the
    /// parameters stored in `encoded` and compares in constant time. Anything that is not an
    /// argon2id string (or is malformed) does not match.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard encoded.hasPrefix("$argon2id$") else { return false }
        var bytes = Array(Self.normalized(password).utf8)
        defer { Self.wipe(&bytes) }
        return argon2id_verify(encoded, bytes, bytes.count) == ARGON2_OK.rawValue
    }

    /// True when `encoded` was made with other parameters, another variant or version than this
    /// hasher uses (re-hash it at the next successful sign-in).
    public func needsRehash(_ encoded: String) -> Bool {
        // "", "argon2id", "v=19", "m=19456,t=2,p=1", salt, tag
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].isEmpty, parts[1] == "argon2id",
            parts[2] == "v=\(ARGON2_VERSION_NUMBER.rawValue)"
        else { return true }
        return parts[3] != "m=\(parameters.memoryKiB),t=\(parameters.iterations),p=\(parameters.parallelism)"
    }

    static func normalized(_ password: String) -> String {
        password.precomposedStringWithCanonicalMapping
    }

    /// Best effort: Swift may have copied the bytes elsewhere, but not this buffer.
    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = 0 }
        }
    }
}
