public import Foundation
public import PGClient

extension RecordService {
    /// potential → contact in one atomic call: finds, links or creates the account, optionally
    /// opens an opportunity (carrying the record's source and campaign), sets the record's
    /// account and `converted_at`, and writes one `stage` event whose detail is the lineage
    /// (account_id, account_created, opportunity_id). The record keeps its activities, source and
    /// campaign. A conversion that fails changes nothing (it runs under a savepoint).
    ///
    /// `.match` looks for a visible account with the record's tax id, then with its company name
    /// folded (case, accents and spaces); several name matches is a `conflict` listing the
    /// candidates the caller can see, to be resolved with `.link(id)` or `.create`. No match
    /// creates an account from the record's company name (and tax id, when it is a CIF).
    public static func convert(
        _ session: Session, id: UUID, account: AccountChoice, opportunity: OpportunityInput? = nil,
        expectedVersion: Int? = nil, on connection: PGConnection
    ) throws -> ConversionResult {
        try session.require(.convert, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        let move = try Lifecycle.check(from: current.stage, to: .contact)

        return try RecordSupport.atomically(connection) {
            let (accountID, created) = try resolveAccount(account, for: current, session: session, on: connection)
            try requireStage(.contact, of: current, accountID: accountID, session: session, on: connection)

            var opportunityID: UUID?
            if let opportunity {
                try session.require(.create, on: .opportunities)
                opportunityID = try insertOpportunity(opportunity, record: current, accountID: accountID, session: session, on: connection)
            }

            try connection.execute("""
                UPDATE records SET stage = 'contact', disqualified_reason = NULL, account_id = \(accountID), converted_at = now()
                 WHERE tenant_id = \(session.tenantID) AND record_id = \(id) AND version = \(current.version)
                """)
            try writeEvent(
                session, recordID: id, zoneID: current.zoneID, kind: "stage", from: current.stage, to: .contact, reason: nil,
                detail: .init(move: move.rawValue, accountId: accountID, accountCreated: created, opportunityId: opportunityID),
                on: connection)

            return ConversionResult(
                record: try get(session, id: id, on: connection),
                account: try AccountService.get(session, id: accountID, on: connection),
                accountCreated: created,
                opportunity: try opportunityID.map { try opportunityView(session, id: $0, on: connection) })
        }
    }

    /// The account to link, and whether it was created now.
    static func resolveAccount(_ choice: AccountChoice, for record: Locked, session: Session, on connection: PGConnection) throws -> (UUID, Bool) {
        switch choice {
        case .link(let accountID):
            try session.require(.view, on: .accounts)
            let found = try connection.query("""
                SELECT count(*) FROM accounts WHERE tenant_id = \(session.tenantID) AND account_id = \(accountID)
                """).scalar(Int.self)
            guard found == 1 else { throw CoreError(.notFound, "account not found") }
            return (accountID, false)

        case .create(let name, let taxID):
            try session.require(.create, on: .accounts)
            let input = AccountInput(name: name, taxId: taxID)
            return (try AccountService.insert(session, input, zoneID: record.zoneID, custom: [:], on: connection), true)

        case .match:
            try session.require(.view, on: .accounts)
            let cif = record.taxID.flatMap { isCIF($0) ? $0 : nil }
            if let cif {
                let byTaxID = try connection.query("""
                    SELECT account_id FROM accounts WHERE tenant_id = \(session.tenantID) AND tax_id = \(cif)
                    """).decode(UUID.self)
                if let accountID = byTaxID.first { return (accountID, false) }
            }
            guard let company = record.companyName else {
                throw CoreError.invalid("companyName", "the record needs a company name (or a CIF) to match or create its account")
            }
            let candidates = try connection.query("""
                SELECT account_id, name, tax_id FROM accounts
                 WHERE tenant_id = \(session.tenantID) AND name_key = \(Normalize.folded(company))
                 ORDER BY name, account_id
                 LIMIT 20
                """).decode((UUID, String, String?).self)
            switch candidates.count {
            case 1:
                return (candidates[0].0, false)
            case 0:
                try session.require(.create, on: .accounts)
                let input = AccountInput(name: company, taxId: cif)
                return (try AccountService.insert(session, input, zoneID: record.zoneID, custom: [:], on: connection), true)
            default:
                let list = candidates.map { "\($0.1)\($0.2.map { " [\($0)]" } ?? "") (\($0.0.uuidString.lowercased()))" }
                throw CoreError(
                    .conflict,
                    "\(candidates.count) accounts match this company: \(list.joined(separator: ", ")); link one of them or create a new account",
                    fieldErrors: candidates.map { .init(field: "account", message: "candidate \($0.0.uuidString.lowercased()) (\($0.1))") })
            }
        }
    }

    /// A Spanish company tax id (CIF): a letter for the kind of company, not a person's DNI/NIE.
    static func isCIF(_ taxID: String) -> Bool {
        guard let first = taxID.first else { return false }
        return "ABCDEFGHJNPQRSUVW".contains(first)
    }

    static func insertOpportunity(
        _ input: OpportunityInput, record: Locked, accountID: UUID, session: Session, on connection: PGConnection
    ) throws -> UUID {
        var name: String?
        try RecordSupport.collect([
            {
                name = try RecordSupport.text(input.name, field: "opportunity.name")
                if name == nil { throw CoreError.invalid("opportunity.name", "an opportunity needs a name") }
            },
            {
                if let amount = input.amount, amount < 0 || amount >= 1_000_000_000_000 {
                    throw CoreError.invalid("opportunity.amount", "must be between 0 and 999,999,999,999.99")
                }
            },
        ])
        let close = input.expectedClose.map { PGCalendarDate(year: $0.year, month: $0.month, day: $0.day) }
        // The record's owner, unless they can no longer hold it (deactivated, moved): then the converter.
        let owner = try record.ownerID.map {
            try connection.query("SELECT comarca.owner_fits(\($0), \(record.zoneID))").scalar(Bool.self) ? $0 : session.userID
        } ?? session.userID
        return try connection.query("""
            INSERT INTO opportunities (tenant_id, zone_id, account_id, record_id, owner_user_id, name, amount,
                                       expected_close, source, campaign_id, created_by)
            VALUES (\(session.tenantID), \(record.zoneID), \(accountID), \(record.id), \(owner),
                    \(name ?? ""), \(input.amount), \(close), \(record.source), \(record.campaignID), \(session.userID))
            RETURNING opportunity_id
            """).scalar(UUID.self)
    }

    /// An opportunity the caller can see.
    public static func opportunityView(_ session: Session, id: UUID, on connection: PGConnection) throws -> OpportunityView {
        try OpportunityService.get(session, id: id, on: connection)
    }
}
