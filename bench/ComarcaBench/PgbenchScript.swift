import ComarcaCore
import Foundation
import PGClient

/// Writes the pgbench script that replays exactly what `GET /v1/records?limit=50` sends for a
/// token: the authentication transaction, then the list transaction, with every bind rendered as
/// a literal escaped by libpq and cast to the type it was sent as.
enum PgbenchScript {
    static func render(_ query: PGQuery, on connection: PGConnection) throws -> String {
        var sql = query.sql
        for (index, bind) in query.binds.enumerated().reversed() {
            let literal = try bind.text.map { try connection.escapeLiteral($0) } ?? "NULL"
            let cast: String
            switch bind.oid {
            case PGType.uuid: cast = "::uuid"
            case PGType.int8: cast = "::int8"
            case PGType.int4: cast = "::int4"
            case PGType.bool: cast = "::bool"
            case PGType.bytea: cast = "::bytea"
            case PGType.timestamptz: cast = "::timestamptz"
            case PGType.numeric: cast = "::numeric"
            case PGType.textArray: cast = "::text[]"
            case PGType.uuidArray: cast = "::uuid[]"
            case PGType.jsonb: cast = "::jsonb"
            default: cast = ""
            }
            sql = sql.replacingOccurrences(of: "$\(index + 1)", with: literal + cast)
        }
        return sql.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    static func transaction(settings: [PGSetting], _ query: PGQuery, on connection: PGConnection) throws -> [String] {
        var lines = ["BEGIN;"]
        for setting in settings {
            lines.append("SET LOCAL \(setting.name) = \(try connection.escapeLiteral(setting.value));")
        }
        lines.append(try render(query, on: connection) + ";")
        lines.append("COMMIT;")
        return lines
    }

    static func script(token: String, conninfo: String) throws -> String {
        let connection = try PGConnection.connect(conninfo)
        guard let (_, authSettings, authQuery) = AuthService.authenticationStatement(token: token) else {
            throw CoreError(.unauthenticated, "not a token")
        }
        let session = try AuthService().authenticate(token: token, on: connection)
        // Exactly what GET /v1/records?limit=50 sends: the list statement inside the JSON wrapper.
        let page = try PageRequest(limit: 50, cursor: nil)
        guard let inner = try RecordQuery.statement(session, filter: RecordQuery.Filter(), page: page) else {
            throw CoreError(.notFound, "the token's user sees no zone")
        }
        let list = RecordQuery.jsonStatement(around: inner, filter: RecordQuery.Filter(), page: page)
        let lines = try transaction(settings: authSettings, authQuery, on: connection)
            + transaction(settings: session.accessScope.settings, list, on: connection)
        // pgbench reads `:MI` and `:SS` in the to_char pattern as its own variables (with -M prepared
        // they become parameters). A quoted colon in the pattern prints the same text.
        return lines.joined(separator: "\n").replacingOccurrences(of: "HH24:MI:SS", with: #"HH24":"MI":"SS"#) + "\n"
    }
}
