import CLibPQ

extension PGConnection {
    /// Sends all statements in one round trip (libpq pipeline mode) and returns each one's rows.
    /// The first failing statement's error is thrown; statements after it were not run.
    /// Statements with binds run as prepared statements (prepared on first use, see `query`).
    public func pipeline(_ queries: [PGQuery]) throws -> [PGRows] {
        if let begin = pendingBegin {
            // An open transaction's deferred BEGIN and settings go first, in the same round trip.
            pendingBegin = nil
            return Array(try pipeline(begin + queries).dropFirst(begin.count))
        }
        // Prepare before entering pipeline mode (a new statement costs one round trip, once).
        var names: [String?] = []
        names.reserveCapacity(queries.count)
        for query in queries {
            names.append(usesPreparedStatement(query) ? try preparedStatement(for: query) : nil)
        }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PGError(kind: .invalidUsage, message: "could not enter pipeline mode: \(lastErrorMessage)")
        }
        defer { _ = PQexitPipelineMode(handle) }

        for (query, name) in zip(queries, names) {
            let sent = withParameters(query.binds) { count, types, values in
                if let name {
                    PQsendQueryPrepared(handle, name, count, values, nil, nil, 0)
                } else {
                    PQsendQueryParams(handle, query.sql, count, types, values, nil, nil, 0)
                }
            }
            guard sent == 1 else {
                throw PGError(kind: .connection, code: .connectionFailure, message: lastErrorMessage)
            }
        }
        guard PQpipelineSync(handle) == 1 else {
            throw PGError(kind: .connection, code: .connectionFailure, message: lastErrorMessage)
        }

        var results: [PGRows] = []
        results.reserveCapacity(queries.count)
        var firstError: PGError?
        for _ in queries {
            // Each statement yields its result and then a NULL that ends it.
            var rows: PGRows?
            while let pointer = PQgetResult(handle) {
                let result = PGResult(pointer, connection: self)
                if result.status == PGRES_PIPELINE_ABORTED { continue }
                do {
                    rows = try result.rows()
                } catch let error as PGError {
                    if firstError == nil { firstError = error }
                }
            }
            if PQstatus(handle) != CONNECTION_OK {
                throw firstError ?? PGError(kind: .connection, code: .connectionFailure, message: lastErrorMessage)
            }
            results.append(rows ?? PGRows(columns: [], values: [], affectedRows: 0, commandTag: ""))
        }
        // The sync point closes the pipeline.
        let sync = PGResult(PQgetResult(handle), connection: self)
        guard sync.status == PGRES_PIPELINE_SYNC else {
            throw firstError ?? PGError(kind: .unexpected, message: "pipeline did not end with a sync")
        }
        if let firstError {
            // The server no longer has a prepared statement (DISCARD ALL by a pooler).
            if firstError.code?.rawValue == "26000" { forgetPreparedStatements() }
            throw firstError
        }
        return results
    }

    /// One transaction in one round trip: BEGIN, the settings, the statements, COMMIT.
    /// On any error the transaction is rolled back and the error thrown.
    public func pipelinedTransaction(settings: [PGSetting] = [], _ queries: [PGQuery]) throws -> [PGRows] {
        guard transactionState == .idle else {
            throw PGError(kind: .invalidUsage, message: "a transaction is already open on this connection")
        }
        var batch: [PGQuery] = ["BEGIN"]
        for setting in settings { batch.append(try setLocalQuery(setting)) }
        batch += queries
        batch.append("COMMIT")
        do {
            let results = try pipeline(batch)
            return Array(results[(1 + settings.count)..<(1 + settings.count + queries.count)])
        } catch {
            rollbackQuietly()
            throw error
        }
    }
}
