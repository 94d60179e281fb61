import CLibPQ

extension PGConnection {
    /// Streams rows into `COPY … FROM STDIN` (text format). `write` is called once with a writer;
    /// data goes to the server in 64 KiB chunks as it is written, so memory stays flat.
    /// When `write` throws, the COPY is aborted (nothing is loaded) and the error rethrown.
    /// Returns the number of rows the server loaded.
    @discardableResult
    public func copyFrom(_ statement: PGQuery, _ write: (PGCopyWriter) throws -> Void) throws -> Int {
        guard statement.binds.isEmpty else {
            throw PGError(kind: .invalidUsage, message: "COPY takes no bind parameters")
        }
        try sendPendingBegin()
        let start = PGResult(PQexec(handle, statement.sql), connection: self)
        try start.checkSuccess(allowing: [PGRES_COPY_IN])
        guard start.status == PGRES_COPY_IN else {
            throw PGError(kind: .invalidUsage, message: "statement is not COPY … FROM STDIN")
        }

        let writer = PGCopyWriter(connection: self)
        do {
            try write(writer)
            try writer.flush()
        } catch {
            _ = PQputCopyEnd(handle, "aborted by the client")
            drainResults()
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let error = PGError(kind: .connection, code: .connectionFailure, message: lastErrorMessage)
            drainResults()
            throw error
        }
        let end = PGResult(PQgetResult(handle), connection: self)
        do {
            try end.checkSuccess()
        } catch {
            drainResults()
            throw error
        }
        let loaded = end.affectedRows
        drainResults()
        return loaded
    }

    /// Reads and frees results until libpq has none left for the current command.
    func drainResults() {
        while let result = PQgetResult(handle) {
            PQclear(result)
            if PQstatus(handle) != CONNECTION_OK { break }
        }
    }

    func putCopyData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let status = PQputCopyData(handle, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        guard status == 1 else {
            throw PGError(kind: .connection, code: .connectionFailure, message: lastErrorMessage)
        }
    }
}

/// Writes COPY text-format data: one row per line, TAB between fields, `\N` for NULL.
public final class PGCopyWriter {
    private let connection: PGConnection
    private var encoder: PGCopyEncoder
    private let chunkSize = 64 * 1024
    public private(set) var rowsWritten = 0

    init(connection: PGConnection) {
        self.connection = connection
        self.encoder = PGCopyEncoder(capacity: chunkSize + 4096)
    }

    /// Appends one row, escaping backslash, TAB, newline and carriage return in each field.
    public func writeRow(_ fields: [String?]) throws {
        for field in fields { encoder.append(field) }
        encoder.endRow()
        rowsWritten += 1
        if encoder.count >= chunkSize { try flush() }
    }

    /// Appends bytes already in the COPY format of the statement (text, CSV or binary).
    public func writeRaw(_ bytes: some Sequence<UInt8>) throws {
        encoder.appendRaw(bytes)
        if encoder.count >= chunkSize { try flush() }
    }

    /// Sends the rows `encoder` holds (after anything written before) and empties it, keeping
    /// its memory for the next rows. Callers encode a few dozen KiB between calls.
    public func write(_ encoder: inout PGCopyEncoder) throws {
        try flush()
        try send(encoder.bytes)
        rowsWritten += encoder.rows
        encoder.removeAll()
    }

    func flush() throws {
        guard encoder.count > 0 else { return }
        try send(encoder.bytes)
        encoder.removeAll()
    }

    private func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try connection.putCopyData($0) }
    }
}
