import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// One tenant with a zone tree and a user per zone, sessions loaded the way a request loads them,
/// and the application role's connection (RLS applies). Each service call runs in its own
/// transaction under the caller's settings, as `Database.withScope` does.
struct RecordFixture {
    static let yaml = """
        tenant: {slug: acme, name: "ACME Distribuciones, S.L."}
        zones:
          - code: HQ
            name: Oficina central
            children:
              - code: NORTE
                name: Región Norte
                children: [{code: N-BIO, name: Bilbao}, {code: N-SDR, name: Santander}]
              - code: SUR
                name: Región Sur
                children: [{code: S-SVQ, name: Sevilla}]
        users:
          - {email: ana@acme.es, name: Ana García, role: admin, zone: HQ}
          - {email: inaki@acme.es, name: Iñaki Etxeberria, role: manager, zone: NORTE}
          - {email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}
          - {email: marta@acme.es, name: Marta Ruiz, role: rep, zone: N-SDR}
          - {email: rocio@acme.es, name: Rocío Gallardo, role: rep, zone: S-SVQ}
        """

    let database: TestDatabase
    let app: PGConnection
    let owner: PGConnection
    let tenantID: UUID
    let zones: [String: UUID]
    /// admin (HQ), manager (NORTE), bio (rep N-BIO), sdr (rep N-SDR), svq (rep S-SVQ).
    let admin: Session
    let manager: Session
    let bio: Session
    let sdr: Session
    let svq: Session

    static func with(fields: String = "", _ body: (RecordFixture) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try TenantSpec.parse(yaml + "\n" + fields, fileName: "acme.yaml"), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let (zones, users) = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                (
                    try tx.query("SELECT code, zone_id FROM zones WHERE tenant_id = \(tenantID)").decode((String, UUID).self),
                    try tx.query("SELECT email, user_id FROM users WHERE tenant_id = \(tenantID)").decode((String, UUID).self)
                )
            }
            let userIDs = Dictionary(uniqueKeysWithValues: users)
            let app = try database.connectAsApp()
            func session(_ email: String) throws -> Session {
                try SessionLoader.load(tenantID: tenantID, userID: try #require(userIDs[email]), on: app)
            }
            try body(RecordFixture(
                database: database, app: app, owner: owner, tenantID: tenantID, zones: Dictionary(uniqueKeysWithValues: zones),
                admin: try session("ana@acme.es"), manager: try session("inaki@acme.es"), bio: try session("aitor@acme.es"),
                sdr: try session("marta@acme.es"), svq: try session("rocio@acme.es")))
        }
    }

    /// Runs `body` in one transaction under `session`'s settings.
    func run<T>(_ session: Session, _ body: (PGConnection) throws -> T) throws -> T {
        try app.transaction(settings: session.accessScope.settings) { tx in try body(tx) }
    }

    /// The CoreError `body` throws (fails the test when it throws nothing or something else).
    func error(_ session: Session, _ body: (PGConnection) throws -> Void) throws -> CoreError {
        do {
            try run(session, body)
        } catch let error as CoreError {
            return error
        }
        Issue.record("expected a CoreError, got success")
        return CoreError(.invalidInput, "no error")
    }

    /// Counts rows of a table in the tenant, read as the operator (all zones).
    func count(_ table: String, _ filter: PGQuery = "true") throws -> Int {
        precondition(["records", "record_events", "accounts", "opportunities", "activities"].contains(table))
        return try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("SELECT count(*) FROM \(unsafeRaw: table) WHERE tenant_id = \(tenantID) AND \(filter)").scalar(Int.self)
        }
    }

    func events(of recordID: UUID) throws -> [(String, String?, String, String?)] {
        try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("""
                SELECT kind, from_stage, to_stage, reason FROM record_events
                 WHERE tenant_id = \(tenantID) AND record_id = \(recordID) ORDER BY event_id
                """).decode((String, String?, String, String?).self)
        }
    }

    /// A record of `session`'s zone, moved to `stage` through the service.
    func record(in stage: Stage, by session: Session, email: String? = nil) throws -> RecordView {
        try run(session) { tx in
            var record = try RecordService.create(
                session, RecordInput(firstName: "Jon", lastName: "Ander", companyName: "Talleres Ibarra",
                                     email: email ?? "jon.\(UUID().uuidString.prefix(8))@ibarra.example"), on: tx)
            switch stage {
            case .target: break
            case .potential:
                record = try RecordService.promote(session, id: record.id, on: tx)
            case .contact:
                record = try RecordService.promote(session, id: record.id, on: tx)
                record = try RecordService.convert(session, id: record.id, account: .create(name: "Ibarra \(UUID().uuidString.prefix(6))", taxID: nil), on: tx).record
            case .disqualified:
                record = try RecordService.disqualify(session, id: record.id, reason: "not-interested", on: tx)
            }
            return record
        }
    }

    /// Moves a record to `stage` with the service call for that target stage.
    func move(_ session: Session, _ id: UUID, to stage: Stage, on tx: PGConnection) throws -> RecordView {
        switch stage {
        case .target: return try RecordService.reopen(session, id: id, on: tx)
        case .potential: return try RecordService.promote(session, id: id, on: tx)
        case .contact: return try RecordService.convert(session, id: id, account: .create(name: "Ibarra \(UUID().uuidString.prefix(6))", taxID: nil), on: tx).record
        case .disqualified: return try RecordService.disqualify(session, id: id, reason: "not-interested", on: tx)
        }
    }
}

@Suite("records through target → potential → contact")
struct RecordLifecycleTests {
    struct Pair: Sendable, CustomTestStringConvertible {
        let from: Stage
        let to: Stage
        var testDescription: String { "\(from) → \(to)" }
    }

    static let allowed: Set<String> = [
        "target→potential", "target→disqualified", "potential→contact", "potential→disqualified", "disqualified→target",
    ]
    static let pairs = Stage.allCases.flatMap { from in Stage.allCases.map { Pair(from: from, to: $0) } }

    // MARK: - The move table

    @Test("the move table allows exactly the five moves and refuses every other pair", arguments: pairs)
    func moveTable(pair: Pair) throws {
        let key = "\(pair.from.rawValue)→\(pair.to.rawValue)"
        if Self.allowed.contains(key) {
            #expect(Lifecycle.move(from: pair.from, to: pair.to) != nil)
            #expect(throws: Never.self) { try Lifecycle.check(from: pair.from, to: pair.to) }
        } else {
            #expect(Lifecycle.move(from: pair.from, to: pair.to) == nil)
            let error = try #require(#expect(throws: CoreError.self) { try Lifecycle.check(from: pair.from, to: pair.to) })
            #expect(error.code == .conflict)
            #expect(error.message == "a record cannot move from \(pair.from) to \(pair.to)")
        }
    }

    @Test("every from/to pair through the service: an allowed move changes the stage and writes exactly one event; a refused one is a conflict and changes nothing", arguments: pairs)
    func moveThroughService(pair: Pair) async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: pair.from, by: f.bio)
            let eventsBefore = try f.events(of: record.id)
            let allowed = Self.allowed.contains("\(pair.from.rawValue)→\(pair.to.rawValue)")
            if allowed {
                let moved = try f.run(f.bio) { tx in try f.move(f.bio, record.id, to: pair.to, on: tx) }
                #expect(moved.stage == pair.to)
                #expect(moved.version == record.version + 1)
                let events = try f.events(of: record.id)
                #expect(events.count == eventsBefore.count + 1)
                let last = try #require(events.last)
                #expect(last.0 == "stage")
                #expect(last.1 == pair.from.rawValue)
                #expect(last.2 == pair.to.rawValue)
                #expect(last.3 == (pair.to == .disqualified ? "not-interested" : nil))
            } else {
                let error = try f.error(f.bio) { tx in _ = try f.move(f.bio, record.id, to: pair.to, on: tx) }
                #expect(error.code == .conflict)
                #expect(error.message == "a record cannot move from \(pair.from) to \(pair.to)")
                let after = try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) }
                #expect(after == record)
                #expect(try f.events(of: record.id).count == eventsBefore.count)
            }
        }
    }

    // MARK: - Events and transactions

    @Test("creation writes one 'created' event to target; history lists events newest first with their actor")
    func creationAndHistory() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            #expect(record.stage == .target)
            #expect(record.ownerId == f.bio.userID)
            #expect(record.zoneId == f.bio.zoneID)
            #expect(record.displayName == "Jon Ander")
            #expect(record.version == 1)
            #expect(try f.events(of: record.id).map { [$0.0, $0.1 ?? "-", $0.2] } == [["created", "-", "target"]])

            _ = try f.run(f.bio) { tx in try RecordService.promote(f.bio, id: record.id, on: tx) }
            _ = try f.run(f.bio) { tx in try RecordService.disqualify(f.bio, id: record.id, reason: "Region-Not-Served", note: "Portugal", on: tx) }
            let history = try f.run(f.bio) { tx in try RecordService.history(f.bio, id: record.id, page: try PageRequest(limit: 2, cursor: nil), on: tx) }
            #expect(history.items.map(\.toStage) == [.disqualified, .potential])
            #expect(history.items[0].reason == "region-not-served")
            #expect(history.items[0].detail.note == "Portugal")
            #expect(history.items[0].detail.move == "disqualify")
            #expect(history.items.allSatisfy { $0.actorId == f.bio.userID })
            let rest = try f.run(f.bio) { tx in
                try RecordService.history(f.bio, id: record.id, page: try PageRequest(limit: 2, cursor: history.nextCursor), on: tx)
            }
            #expect(rest.items.map(\.kind) == ["created"])
            #expect(rest.nextCursor == nil)
        }
    }

    @Test("a move rolled back with its transaction leaves neither the stage nor the event")
    func moveAndEventShareTheTransaction() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            struct Abort: Error {}
            #expect(throws: Abort.self) {
                try f.run(f.bio) { tx in
                    let moved = try RecordService.promote(f.bio, id: record.id, on: tx)
                    #expect(moved.stage == .potential)
                    #expect(try tx.query("SELECT count(*) FROM record_events WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)").scalar(Int.self) == 2)
                    throw Abort()
                }
            }
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)
            #expect(try f.events(of: record.id).count == 1)
        }
    }

    @Test("a move whose stage requirements fail writes no event: potential needs an email or a phone; disqualify needs a listed reason")
    func requirementsRefuseTheMove() async throws {
        try await RecordFixture.with { f in
            let record = try f.run(f.bio) { tx in try RecordService.create(f.bio, RecordInput(companyName: "Sin Contacto S.L."), on: tx) }
            let error = try f.error(f.bio) { tx in _ = try RecordService.promote(f.bio, id: record.id, on: tx) }
            #expect(error.code == .invalidInput)
            #expect(error.fieldErrors.map(\.field) == ["email"])

            let reasonError = try f.error(f.bio) { tx in _ = try RecordService.disqualify(f.bio, id: record.id, reason: "too-expensive", on: tx) }
            #expect(reasonError.code == .invalidInput)
            #expect(reasonError.fieldErrors.map(\.field) == ["reason"])

            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)
            #expect(try f.events(of: record.id).count == 1)

            // With a phone (any usual Spanish spelling) the promotion goes through.
            let updated = try f.run(f.bio) { tx in
                try RecordService.update(f.bio, id: record.id, RecordChanges(phone: "612 34 56 78"), expectedVersion: record.version, on: tx)
            }
            #expect(updated.phone == "+34612345678")
            let promoted = try f.run(f.bio) { tx in try RecordService.promote(f.bio, id: record.id, on: tx) }
            #expect(promoted.stage == .potential)
        }
    }

    @Test("a tenant's own disqualify reasons replace the defaults")
    func tenantReasons() async throws {
        try await RecordFixture.with { f in
            #expect(try f.run(f.bio) { tx in try RecordService.disqualifyReasons(f.bio, on: tx) } == Lifecycle.defaultDisqualifyReasons)
            _ = try f.run(f.admin) { tx in
                try tx.execute("INSERT INTO disqualify_reasons (tenant_id, code, label) VALUES (\(f.tenantID), 'b2c', 'Particular')")
            }
            #expect(try f.run(f.bio) { tx in try RecordService.disqualifyReasons(f.bio, on: tx) }.map(\.code) == ["b2c"])
            let record = try f.record(in: .target, by: f.bio)
            let error = try f.error(f.bio) { tx in _ = try RecordService.disqualify(f.bio, id: record.id, reason: "not-interested", on: tx) }
            #expect(error.code == .invalidInput)
            let done = try f.run(f.bio) { tx in try RecordService.move(f.bio, id: record.id, to: .disqualified, reason: "b2c", on: tx) }
            #expect(done.disqualifiedReason == "b2c")

            // Admins replace the list; a reason left out is deactivated, not deleted.
            let forbidden = try f.error(f.bio) { tx in
                _ = try RecordService.setDisqualifyReasons(f.bio, [DisqualifyReason(code: "x", label: "X", active: true)], on: tx)
            }
            #expect(forbidden.code == .forbidden)
            let list = try f.run(f.admin) { tx in
                try RecordService.setDisqualifyReasons(f.admin, [DisqualifyReason(code: "no-budget", label: "Sin presupuesto", active: true)], on: tx)
            }
            #expect(list.map { "\($0.code):\($0.active)" } == ["no-budget:true", "b2c:false"])
            let reopened = try f.run(f.bio) { tx in try RecordService.move(f.bio, id: record.id, to: .target, on: tx) }
            #expect(reopened.stage == .target && reopened.disqualifiedReason == nil)
            let inactive = try f.error(f.bio) { tx in _ = try RecordService.disqualify(f.bio, id: record.id, reason: "b2c", on: tx) }
            #expect(inactive.code == .invalidInput)
            let toContact = try f.error(f.bio) { tx in _ = try RecordService.move(f.bio, id: record.id, to: .contact, on: tx) }
            #expect(toContact.code == .invalidInput)
        }
    }

    @Test("the tenant's field specs apply: custom values are normalised, a field required from potential stops the promotion with no event, a unique custom value is a conflict naming only the field")
    func fieldSpecs() async throws {
        let fields = """
            fields:
              records:
                - {key: sector, type: single_choice, label: {es: Sector, en: Sector}, required_from_stage: potential,
                   options: [{code: ind, label: Industria}, {code: ser, label: Servicios}]}
                - {key: vat, label: CIF empresa, type: tax_id, unique: true}
            """
        try await RecordFixture.with(fields: fields) { f in
            let record = try f.run(f.bio) { tx in
                try RecordService.create(f.bio, RecordInput(firstName: "Leire", email: "leire@example.com"), custom: ["vat": .string("b-95123451")], on: tx)
            }
            #expect(record.custom == ["vat": .string("B95123451")])

            let badChoice = try f.error(f.bio) { tx in
                _ = try RecordService.create(f.bio, RecordInput(firstName: "Otro"), custom: ["sector": .string("minería")], on: tx)
            }
            #expect(badChoice.code == .invalidInput)
            #expect(badChoice.fieldErrors.map(\.field) == ["sector"])
            let builtinAsCustom = try f.error(f.bio) { tx in
                _ = try RecordService.create(f.bio, RecordInput(firstName: "Otro"), custom: ["email": .string("x@example.com")], on: tx)
            }
            #expect(builtinAsCustom.code == .invalidInput)

            let missing = try f.error(f.bio) { tx in _ = try RecordService.promote(f.bio, id: record.id, on: tx) }
            #expect(missing.code == .invalidInput)
            #expect(missing.fieldErrors.map(\.field) == ["sector"])
            #expect(try f.events(of: record.id).count == 1)

            let withSector = try f.run(f.bio) { tx in
                try RecordService.update(f.bio, id: record.id, RecordChanges(), custom: ["Sector": .string("Servicios")], expectedVersion: record.version, on: tx)
            }
            #expect(withSector.custom == ["vat": .string("B95123451"), "sector": .string("ser")])
            #expect(try f.run(f.bio) { tx in try RecordService.promote(f.bio, id: record.id, on: tx) }.stage == .potential)

            let taken = try f.error(f.sdr) { tx in
                _ = try RecordService.create(f.sdr, RecordInput(firstName: "Iker"), custom: ["vat": .string("B95123451")], on: tx)
            }
            #expect(taken.code == .conflict)
            #expect(taken.fieldErrors.map(\.field) == ["vat"])
            #expect(!taken.message.contains("B95123451") && !taken.message.contains("Leire"))
            #expect(try f.count("records") == 1)
        }
    }

    // MARK: - Optimistic concurrency

    @Test("an update with a stale version is precondition-failed and changes nothing; the current version goes through and bumps it")
    func staleVersion() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let first = try f.run(f.bio) { tx in
                try RecordService.update(f.bio, id: record.id, RecordChanges(lastName: "Ander Etxebarria"), expectedVersion: 1, on: tx)
            }
            #expect(first.version == 2)
            #expect(first.displayName == "Jon Ander Etxebarria")

            let error = try f.error(f.bio) { tx in
                _ = try RecordService.update(f.bio, id: record.id, RecordChanges(firstName: "Jonan"), expectedVersion: 1, on: tx)
            }
            #expect(error.code == .preconditionFailed)
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == first)

            let moveError = try f.error(f.bio) { tx in _ = try RecordService.promote(f.bio, id: record.id, expectedVersion: 1, on: tx) }
            #expect(moveError.code == .preconditionFailed)
            #expect(try f.events(of: record.id).count == 1)
        }
    }

    @Test("a record outside the caller's zones is not found for every call, never forbidden")
    func otherZoneIsNotFound() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let calls: [(String, (PGConnection) throws -> Void)] = [
                ("get", { tx in _ = try RecordService.get(f.sdr, id: record.id, on: tx) }),
                ("update", { tx in _ = try RecordService.update(f.sdr, id: record.id, RecordChanges(firstName: "X"), expectedVersion: nil, on: tx) }),
                ("promote", { tx in _ = try RecordService.promote(f.sdr, id: record.id, on: tx) }),
                ("history", { tx in _ = try RecordService.history(f.sdr, id: record.id, page: try PageRequest(limit: nil, cursor: nil), on: tx) }),
                ("reopen", { tx in _ = try RecordService.reopen(f.sdr, id: record.id, on: tx) }),
                ("convert", { tx in _ = try RecordService.convert(f.sdr, id: record.id, account: .match, on: tx) }),
                ("activity", { tx in _ = try ActivityService.create(f.sdr, ActivityInput(kind: .note, subject: "x", recordId: record.id), on: tx) }),
            ]
            for (name, call) in calls {
                let error = try f.error(f.sdr, call)
                #expect(error.code == .notFound, "\(name)")
            }
            // Permissions come first: a rep may not delete at all, and a manager of another
            // subtree does not find the record.
            #expect(try f.error(f.sdr) { tx in try RecordService.delete(f.sdr, id: record.id, expectedVersion: nil, on: tx) }.code == .forbidden)
            let southManager = try f.error(f.svq) { tx in _ = try RecordService.reassign(f.svq, id: record.id, zoneID: f.svq.zoneID, expectedVersion: nil, on: tx) }
            #expect(southManager.code == .forbidden)
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)
        }
    }

    // MARK: - Creation rules

    @Test("create: a zone the caller cannot see falls back to their own; a visible one is used; source and campaign stay")
    func createZoneAndSource() async throws {
        try await RecordFixture.with { f in
            let campaign = UUID()
            let fallback = try f.run(f.bio) { tx in
                try RecordService.create(f.bio, RecordInput(companyName: "Uno", source: " Web ", campaignId: campaign, zoneId: f.zones["S-SVQ"]), on: tx)
            }
            #expect(fallback.zoneId == f.zones["N-BIO"])
            #expect(fallback.source == "web")
            #expect(fallback.campaignId == campaign)
            let chosen = try f.run(f.manager) { tx in
                try RecordService.create(f.manager, RecordInput(companyName: "Dos", zoneId: f.zones["N-SDR"]), on: tx)
            }
            #expect(chosen.zoneId == f.zones["N-SDR"])
            #expect(chosen.ownerId == f.manager.userID)

            let invalid = try f.error(f.bio) { tx in
                _ = try RecordService.create(f.bio, RecordInput(email: "no-at-sign", phone: "12", taxId: "12345678A"), on: tx)
            }
            #expect(invalid.code == .invalidInput)
            #expect(Set(invalid.fieldErrors.map(\.field)) == ["email", "phone", "taxId"])
            #expect(try f.count("records") == 2)
        }
    }

    // MARK: - Dedupe

    @Test("dedupe: a visible duplicate is named (id, name, key); an invisible one only 'exists elsewhere in the company', with nothing of it in the error")
    func dedupe() async throws {
        try await RecordFixture.with { f in
            let original = try f.run(f.bio) { tx in
                try RecordService.create(
                    f.bio, RecordInput(firstName: "Itziar", lastName: "Olano", email: "Itziar.Olano@Example.com",
                                       phone: "+34 612 345 678", taxId: "B95123451"), on: tx)
            }
            // Same rep, e-mail spelled differently: named.
            let visible = try f.error(f.bio) { tx in
                _ = try RecordService.create(f.bio, RecordInput(firstName: "I.", email: " itziar.olano@example.com "), on: tx)
            }
            #expect(visible.code == .conflict)
            #expect(visible.message.contains(original.id.uuidString.lowercased()))
            #expect(visible.message.contains("Itziar Olano"))
            #expect(visible.fieldErrors.map(\.field) == ["email"])

            // Manager above both zones: named too, by phone.
            let byManager = try f.error(f.manager) { tx in
                _ = try RecordService.create(f.manager, RecordInput(companyName: "Otra", phone: "612345678"), on: tx)
            }
            #expect(byManager.code == .conflict)
            #expect(byManager.fieldErrors.map(\.field) == ["phone"])
            #expect(byManager.message.contains(original.id.uuidString.lowercased()))

            // Another zone's rep: only that it exists elsewhere.
            for input in [RecordInput(firstName: "X", email: "itziar.olano@example.com"), RecordInput(firstName: "X", phone: "0034612345678"), RecordInput(firstName: "X", taxId: "b-95123451")] {
                let hidden = try f.error(f.sdr) { tx in _ = try RecordService.create(f.sdr, input, on: tx) }
                #expect(hidden.code == .conflict)
                #expect(hidden.message.hasSuffix("already exists elsewhere in the company"))
                let text = hidden.message + hidden.fieldErrors.map { $0.field + $0.message }.joined()
                for leak in [original.id.uuidString.lowercased(), "Itziar", "Olano", f.bio.zoneID.uuidString.lowercased(), "N-BIO", "Bilbao"] {
                    #expect(!text.localizedCaseInsensitiveContains(leak), "the error reveals \(leak)")
                }
            }
            #expect(try f.count("records") == 1)

            // A different person goes through.
            let other = try f.run(f.sdr) { tx in try RecordService.create(f.sdr, RecordInput(firstName: "Ane", email: "ane@example.com"), on: tx) }
            #expect(other.email == "ane@example.com")
        }
    }

    @Test("two concurrent creates with the same e-mail in different zones: the second waits for the first to commit and is refused")
    func concurrentDedupe() async throws {
        try await RecordFixture.with { f in
            final class Outcome: @unchecked Sendable {
                var error: (any Error)?
                var finishedEarly = false
            }
            let outcome = Outcome()
            let done = DispatchSemaphore(value: 0)
            let second = try f.database.connectAsApp()
            let sdr = f.sdr
            try f.run(f.bio) { tx in
                _ = try RecordService.create(f.bio, RecordInput(firstName: "Amaia", email: "amaia@example.com"), on: tx)
                Thread.detachNewThread {
                    do {
                        try second.transaction(settings: sdr.accessScope.settings) { tx2 in
                            _ = try RecordService.create(sdr, RecordInput(firstName: "Amaia", email: "AMAIA@example.com"), on: tx2)
                        }
                    } catch {
                        outcome.error = error
                    }
                    done.signal()
                }
                // The second create is blocked on the key's lock while this transaction is open.
                outcome.finishedEarly = done.wait(timeout: .now() + .milliseconds(500)) == .success
            }
            if !outcome.finishedEarly { done.wait() }
            #expect(!outcome.finishedEarly, "the second create did not wait for the first")
            let error = try #require(outcome.error as? CoreError)
            #expect(error.code == .conflict)
            #expect(error.message.hasSuffix("elsewhere in the company"))
            #expect(try f.count("records") == 1)
        }
    }

    // MARK: - Conversion

    @Test("convert with a new account: contact, account in the record's zone, lineage in the event, converted_at, source and campaign on the opportunity, activities kept")
    func convertCreatesAccount() async throws {
        try await RecordFixture.with { f in
            let campaign = UUID()
            let record = try f.run(f.bio) { tx in
                try RecordService.create(f.bio, RecordInput(firstName: "Mikel", companyName: "Forjas Mikel", email: "mikel@forjas.example", source: "event", campaignId: campaign), on: tx)
            }
            let activity = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "Primera llamada", recordId: record.id, dueAt: Date().addingTimeInterval(3600)), on: tx)
            }
            _ = try f.run(f.bio) { tx in try RecordService.promote(f.bio, id: record.id, on: tx) }
            let result = try f.run(f.bio) { tx in
                try RecordService.convert(
                    f.bio, id: record.id, account: .create(name: "Forjas Mikel, S.L.", taxID: "B95123451"),
                    opportunity: OpportunityInput(name: "Prensa 200t", amount: Decimal(string: "48500.50"), expectedClose: CalendarDate("2027-03-31")),
                    on: tx)
            }
            #expect(result.accountCreated)
            #expect(result.record.stage == .contact)
            #expect(result.record.accountId == result.account.id)
            #expect(result.record.convertedAt != nil)
            #expect(result.record.source == "event")
            #expect(result.record.campaignId == campaign)
            #expect(result.account.zoneId == f.bio.zoneID)
            #expect(result.account.taxId == "B95123451")
            let opportunity = try #require(result.opportunity)
            #expect(opportunity.amount == Decimal(string: "48500.5"))
            #expect(opportunity.currency == "EUR")
            #expect(opportunity.stage == "new")
            #expect(opportunity.expectedClose == CalendarDate(year: 2027, month: 3, day: 31))
            #expect(opportunity.recordId == record.id)
            #expect(opportunity.accountId == result.account.id)
            #expect(try f.count("opportunities", "source = 'event' AND campaign_id = \(campaign)") == 1)
            #expect(result.record.nextFollowUp?.activityId == activity.id)
            #expect(try f.count("activities", "record_id = \(record.id)") == 1)

            let history = try f.run(f.bio) { tx in try RecordService.history(f.bio, id: record.id, page: try PageRequest(limit: nil, cursor: nil), on: tx) }
            let event = try #require(history.items.first)
            #expect(event.fromStage == .potential && event.toStage == .contact)
            #expect(event.detail.move == "convert")
            #expect(event.detail.accountId == result.account.id)
            #expect(event.detail.accountCreated == true)
            #expect(event.detail.opportunityId == opportunity.id)
        }
    }

    @Test("convert .link uses the given visible account; an account in another zone is not found")
    func convertLinks() async throws {
        try await RecordFixture.with { f in
            let mine = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Mía S.A."), on: tx) }
            let theirs = try f.run(f.sdr) { tx in try AccountService.create(f.sdr, AccountInput(name: "Suya S.A."), on: tx) }
            let record = try f.record(in: .potential, by: f.bio)
            let error = try f.error(f.bio) { tx in _ = try RecordService.convert(f.bio, id: record.id, account: .link(theirs.id), on: tx) }
            #expect(error.code == .notFound)
            let result = try f.run(f.bio) { tx in try RecordService.convert(f.bio, id: record.id, account: .link(mine.id), on: tx) }
            #expect(!result.accountCreated)
            #expect(result.record.accountId == mine.id)
            #expect(result.opportunity == nil)
            #expect(try f.count("accounts") == 2)
        }
    }

    @Test("convert .match finds the account by CIF first, then by folded name, else creates one")
    func convertMatches() async throws {
        try await RecordFixture.with { f in
            let byCIF = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Nombre Distinto", taxId: "A48000004"), on: tx) }
            let byName = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Talleres Muñoz  S.L."), on: tx) }

            func potential(company: String, taxID: String?) throws -> RecordView {
                try f.run(f.bio) { tx in
                    let r = try RecordService.create(f.bio, RecordInput(companyName: company, email: "x\(UUID().uuidString.prefix(6))@e.example", taxId: taxID), on: tx)
                    return try RecordService.promote(f.bio, id: r.id, on: tx)
                }
            }
            let a = try potential(company: "Talleres Muñoz S.L.", taxID: "A48000004")
            let ra = try f.run(f.bio) { tx in try RecordService.convert(f.bio, id: a.id, account: .match, on: tx) }
            #expect(ra.account.id == byCIF.id)
            #expect(!ra.accountCreated)

            let b = try potential(company: "talleres MUNOZ s.l.", taxID: nil)
            let rb = try f.run(f.bio) { tx in try RecordService.convert(f.bio, id: b.id, account: .match, on: tx) }
            #expect(rb.account.id == byName.id)
            #expect(!rb.accountCreated)

            let c = try potential(company: "Construcciones Nuevas", taxID: "B95123451")
            let rc = try f.run(f.bio) { tx in try RecordService.convert(f.bio, id: c.id, account: .match, on: tx) }
            #expect(rc.accountCreated)
            #expect(rc.account.name == "Construcciones Nuevas")
            #expect(rc.account.taxId == "B95123451")
        }
    }

    @Test("convert .match with several name matches is a conflict listing only the candidates the caller can see, and changes nothing")
    func convertAmbiguous() async throws {
        try await RecordFixture.with { f in
            let one = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Grupo Arana", province: "Bizkaia"), on: tx) }
            let two = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "GRUPO ARANÁ", province: "Araba"), on: tx) }
            let hidden = try f.run(f.sdr) { tx in try AccountService.create(f.sdr, AccountInput(name: "Grupo Arana"), on: tx) }
            let record = try f.run(f.bio) { tx in
                let r = try RecordService.create(f.bio, RecordInput(companyName: "Grupo Arana", email: "compras@arana.example"), on: tx)
                return try RecordService.promote(f.bio, id: r.id, on: tx)
            }
            let eventsBefore = try f.events(of: record.id).count
            let accountsBefore = try f.count("accounts")
            let error = try f.error(f.bio) { tx in
                _ = try RecordService.convert(f.bio, id: record.id, account: .match, opportunity: OpportunityInput(name: "Algo"), on: tx)
            }
            #expect(error.code == .conflict)
            #expect(Set(error.fieldErrors.map(\.message)) == [
                "candidate \(one.id.uuidString.lowercased()) (Grupo Arana)", "candidate \(two.id.uuidString.lowercased()) (GRUPO ARANÁ)",
            ])
            #expect(!error.message.contains(hidden.id.uuidString.lowercased()))
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)
            #expect(try f.count("accounts") == accountsBefore)
            #expect(try f.count("opportunities") == 0)
            #expect(try f.events(of: record.id).count == eventsBefore)
        }
    }

    @Test("a conversion that fails half-way changes nothing, even when the caller catches the error and commits")
    func convertFailureChangesNothing() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .potential, by: f.bio)
            let before = try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) }
            _ = try f.run(f.bio) { tx in
                // The account is created first; the blank opportunity name fails after it.
                #expect(throws: CoreError.self) {
                    try RecordService.convert(f.bio, id: record.id, account: .create(name: "Creada Y Deshecha", taxID: nil), opportunity: OpportunityInput(name: "  "), on: tx)
                }
            }
            #expect(try f.count("accounts") == 0)
            #expect(try f.count("opportunities") == 0)
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == before)
            #expect(try f.events(of: record.id).map(\.2) == ["target", "potential"])

            // A CIF held by an account in another zone: refused without naming it.
            _ = try f.run(f.sdr) { tx in try AccountService.create(f.sdr, AccountInput(name: "Oculta S.L.", taxId: "B95123451"), on: tx) }
            let error = try f.error(f.bio) { tx in
                _ = try RecordService.convert(f.bio, id: record.id, account: .create(name: "Visible S.L.", taxID: "B95123451"), on: tx)
            }
            #expect(error.code == .conflict)
            #expect(error.message == "an account with this tax id already exists elsewhere in the company")
            #expect(try f.count("accounts") == 1)
        }
    }

    // MARK: - Reassign

    @Test("a rep cannot reassign; a manager reassigns within the subtree (activities follow, event written) but not outside it")
    func reassign() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let activity = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .task, subject: "Enviar catálogo", recordId: record.id), on: tx)
            }
            let forbidden = try f.error(f.bio) { tx in
                _ = try RecordService.reassign(f.bio, id: record.id, zoneID: try #require(f.zones["N-SDR"]), expectedVersion: nil, on: tx)
            }
            #expect(forbidden.code == .forbidden)

            let outside = try f.error(f.manager) { tx in
                _ = try RecordService.reassign(f.manager, id: record.id, zoneID: try #require(f.zones["S-SVQ"]), expectedVersion: nil, on: tx)
            }
            #expect(outside.code == .notFound)
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)

            let moved = try f.run(f.manager) { tx in
                try RecordService.reassign(f.manager, id: record.id, zoneID: try #require(f.zones["N-SDR"]), expectedVersion: record.version, on: tx)
            }
            #expect(moved.zoneId == f.zones["N-SDR"])
            #expect(moved.ownerId == f.sdr.userID)
            #expect(try f.run(f.sdr) { tx in try ActivityService.get(f.sdr, id: activity.id, on: tx) }.zoneId == f.zones["N-SDR"])
            let gone = try f.error(f.bio) { tx in _ = try RecordService.get(f.bio, id: record.id, on: tx) }
            #expect(gone.code == .notFound)
            #expect(try f.events(of: record.id).map(\.0) == ["created", "reassigned"])
        }
    }
}
