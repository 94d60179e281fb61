import CLibPQ

/// Owns one `PGresult` and frees it exactly once. Non-copyable so ownership cannot be duplicated;
/// everything callers need is copied into Swift values before it goes away.
struct PGResult: ~Copyable {
    private let pointer: OpaquePointer?
    private let connection: PGConnection

    init(_ pointer: OpaquePointer?, connection: PGConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        if let pointer { PQclear(pointer) }
    }

    var status: ExecStatusType? {
        pointer.map { PQresultStatus($0) }
    }

    /// Throws the server's error, or the connection's when there is no result at all.
    func checkSuccess(allowing extra: [ExecStatusType] = []) throws {
        guard let pointer else {
            throw PGError(kind: .connection, code: .connectionFailure, message: connection.lastErrorMessage)
        }
        let status = PQresultStatus(pointer)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE || extra.contains(status) {
            return
        }
        throw error(pointer: pointer, status: status)
    }

    func error() -> PGError {
        guard let pointer else {
            return PGError(kind: .connection, code: .connectionFailure, message: connection.lastErrorMessage)
        }
        return error(pointer: pointer, status: PQresultStatus(pointer))
    }

    private func error(pointer: OpaquePointer, status: ExecStatusType) -> PGError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(pointer, code) else { return nil }
            return String(cString: value)
        }
        if status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR {
            let sqlstate = field(CLIBPQ_DIAG_SQLSTATE)
            let message = field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? connection.lastErrorMessage
            let kind: PGError.Kind = sqlstate == nil ? .connection : .server
            return PGError(
                kind: kind,
                code: sqlstate.map(PGError.Code.init(rawValue:)) ?? .connectionFailure,
                message: message,
                detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL),
                hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
                constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME),
                table: field(CLIBPQ_DIAG_TABLE_NAME),
                column: field(CLIBPQ_DIAG_COLUMN_NAME),
                severity: field(CLIBPQ_DIAG_SEVERITY_NONLOCALIZED)
            )
        }
        let name = String(cString: PQresStatus(status))
        return PGError(kind: .unexpected, message: "unexpected result status \(name)")
    }

    /// Copies the result into Swift values (after checking it succeeded).
    func rows() throws -> PGRows {
        try checkSuccess()
        guard let pointer else { throw error() }
        let rowCount = Int(PQntuples(pointer))
        let columnCount = Int(PQnfields(pointer))
        var columns: [PGColumn] = []
        columns.reserveCapacity(columnCount)
        for c in 0..<columnCount {
            columns.append(PGColumn(name: String(cString: PQfname(pointer, Int32(c))), oid: PGOID(PQftype(pointer, Int32(c)))))
        }
        var values: [String?] = []
        values.reserveCapacity(rowCount * columnCount)
        for r in 0..<Int32(rowCount) {
            for c in 0..<Int32(columnCount) {
                if PQgetisnull(pointer, r, c) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(pointer, r, c)))
                }
            }
        }
        let tuples = String(cString: PQcmdTuples(pointer))
        let tag = String(cString: PQcmdStatus(pointer))
        return PGRows(columns: columns, values: values, affectedRows: Int(tuples) ?? rowCount, commandTag: tag)
    }

    /// The affected-row count of a command result (e.g. the final result of a COPY).
    var affectedRows: Int {
        guard let pointer else { return 0 }
        return Int(String(cString: PQcmdTuples(pointer))) ?? 0
    }
}
