import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// The owner of a zone-scoped row is an active user the writer may assign to and who can see the
/// row; when a record moves, its history moves with it. Enforced by the database (sql/0022), so
/// these tests also write around the services.
@Suite("owners stay in scope and history follows the record")
struct OwnerScopeTests {
    /// Rows of `table` that `session` can read for `recordID` (RLS decides).
    func visible(_ f: RecordFixture, _ session: Session, _ table: String, recordID: UUID) throws -> Int {
        precondition(["record_events", "activities"].contains(table))
        return try f.run(session) { tx in
            try tx.query("SELECT count(*) FROM \(unsafeRaw: table) WHERE tenant_id = \(f.tenantID) AND record_id = \(recordID)")
                .scalar(Int.self)
        }
    }

    /// The PGError `body` throws under `session`'s settings.
    func databaseError(_ f: RecordFixture, _ session: Session, _ body: (PGConnection) throws -> Void) throws -> PGError {
        do {
            try f.run(session, body)
        } catch let error as PGError {
            return error
        }
        Issue.record("expected the database to refuse the write")
        return PGError(kind: .server, message: "no error")
    }

    @Test("a rep cannot create a record owned by a user of a zone they cannot see; the field error names ownerId and nothing is written")
    func repCannotCreateForForeignOwner() async throws {
        try await RecordFixture.with { f in
            let before = try f.count("records")
            for foreign in [f.sdr.userID, f.svq.userID, f.manager.userID, UUID()] {
                let error = try f.error(f.bio) { tx in
                    _ = try RecordService.create(f.bio, RecordInput(companyName: "Talleres Ibarra", ownerId: foreign), on: tx)
                }
                #expect(error.code == .invalidInput)
                #expect(error.fieldErrors.map(\.field) == ["ownerId"])
            }
            #expect(try f.count("records") == before)
            let own = try f.run(f.bio) { tx in
                try RecordService.create(f.bio, RecordInput(companyName: "Talleres Ibarra", ownerId: f.bio.userID), on: tx)
            }
            #expect(own.ownerId == f.bio.userID)
        }
    }

    @Test("a manager may give a subtree record to a rep of its zone or keep it, but not to a rep whose zone does not cover it")
    func managerOwnersMustCoverTheZone() async throws {
        try await RecordFixture.with { f in
            let bioZone = try #require(f.zones["N-BIO"])
            let toSibling = try f.error(f.manager) { tx in
                _ = try RecordService.create(f.manager, RecordInput(companyName: "Ferralla Norte", zoneId: bioZone, ownerId: f.sdr.userID), on: tx)
            }
            #expect(toSibling.fieldErrors.map(\.field) == ["ownerId"])
            let outside = try f.error(f.manager) { tx in
                _ = try RecordService.create(f.manager, RecordInput(companyName: "Ferralla Norte", zoneId: bioZone, ownerId: f.svq.userID), on: tx)
            }
            #expect(outside.fieldErrors.map(\.field) == ["ownerId"])
            let toRep = try f.run(f.manager) { tx in
                try RecordService.create(f.manager, RecordInput(companyName: "Ferralla Norte", zoneId: bioZone, ownerId: f.bio.userID), on: tx)
            }
            #expect(toRep.ownerId == f.bio.userID)
            let kept = try f.run(f.manager) { tx in
                try RecordService.create(f.manager, RecordInput(companyName: "Ferralla Sur", zoneId: bioZone, ownerId: f.manager.userID), on: tx)
            }
            #expect(kept.ownerId == f.manager.userID)
        }
    }

    @Test("a manager cannot reassign a record to a rep outside the subtree, nor to one who cannot see the new zone")
    func reassignOwnerMustFit() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let sdrZone = try #require(f.zones["N-SDR"])
            for owner in [f.svq.userID, f.bio.userID, f.admin.userID] {
                let error = try f.error(f.manager) { tx in
                    _ = try RecordService.reassign(f.manager, id: record.id, zoneID: sdrZone, ownerID: owner, expectedVersion: nil, on: tx)
                }
                #expect(error.fieldErrors.map(\.field) == ["ownerId"], "owner \(owner)")
            }
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) } == record)
            let moved = try f.run(f.manager) { tx in
                try RecordService.reassign(f.manager, id: record.id, zoneID: sdrZone, ownerID: f.sdr.userID, expectedVersion: nil, on: tx)
            }
            #expect(moved.ownerId == f.sdr.userID)
        }
    }

    @Test("a rep cannot hand an activity to a user of a sibling zone by updating it")
    func activityOwnerUpdateMustFit() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let activity = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "Llamar", recordId: record.id), on: tx)
            }
            for foreign in [f.sdr.userID, f.svq.userID, UUID()] {
                let error = try f.error(f.bio) { tx in
                    _ = try ActivityService.update(f.bio, id: activity.id, ActivityChanges(ownerId: foreign), on: tx)
                }
                #expect(error.code == .invalidInput)
                #expect(error.fieldErrors.map(\.field) == ["ownerId"])
            }
            let created = try f.error(f.bio) { tx in
                _ = try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "Llamar", recordId: record.id, ownerId: f.sdr.userID), on: tx)
            }
            #expect(created.fieldErrors.map(\.field) == ["ownerId"])
            #expect(try f.run(f.bio) { tx in try ActivityService.get(f.bio, id: activity.id, on: tx) }.ownerId == f.bio.userID)
        }
    }

    @Test("the database itself refuses a foreign owner on insert and on update, whatever the service does")
    func databaseRefusesForeignOwners() async throws {
        try await RecordFixture.with { f in
            let bioZone = try #require(f.zones["N-BIO"])
            let insert = try databaseError(f, f.bio) { tx in
                try tx.execute("""
                    INSERT INTO records (tenant_id, zone_id, owner_user_id, display_name)
                    VALUES (\(f.tenantID), \(bioZone), \(f.svq.userID), 'Colada')
                    """)
            }
            #expect(insert.code == .checkViolation)
            #expect(insert.constraint == "records_owner_in_scope")
            let record = try f.record(in: .target, by: f.bio)
            let update = try databaseError(f, f.bio) { tx in
                try tx.execute("UPDATE records SET owner_user_id = \(f.sdr.userID) WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)")
            }
            #expect(update.constraint == "records_owner_in_scope")
            let activity = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .task, subject: "Presupuesto", recordId: record.id), on: tx)
            }
            let activityUpdate = try databaseError(f, f.bio) { tx in
                try tx.execute("UPDATE activities SET owner_user_id = \(f.svq.userID) WHERE tenant_id = \(f.tenantID) AND activity_id = \(activity.id)")
            }
            #expect(activityUpdate.constraint == "activities_owner_in_scope")
            // A manager moving a row out from under its owner (zone changes, owner kept) is refused too.
            let stranded = try databaseError(f, f.manager) { tx in
                try tx.execute("UPDATE records SET zone_id = \(try #require(f.zones["N-SDR"])) WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)")
            }
            #expect(stranded.constraint == "records_owner_in_scope")
            // Editing anything else leaves the owner alone and is not judged again.
            try f.run(f.bio) { tx in
                try tx.execute("UPDATE records SET phone = '+34944000000' WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)")
            }
        }
    }

    @Test("reassigning a record moves its events and open activities to the new zone in the same transaction: the old rep no longer reads them, the new one does")
    func historyFollowsTheRecord() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .potential, by: f.bio)
            let (open, done) = try f.run(f.bio) { tx in
                (
                    try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "Volver a llamar", recordId: record.id), on: tx),
                    try ActivityService.create(f.bio, ActivityInput(kind: .meeting, subject: "Visita", recordId: record.id, done: true, outcome: "Interesado"), on: tx)
                )
            }
            #expect(try visible(f, f.bio, "record_events", recordID: record.id) == 2)
            #expect(try visible(f, f.sdr, "record_events", recordID: record.id) == 0)

            _ = try f.run(f.manager) { tx in
                try RecordService.reassign(f.manager, id: record.id, zoneID: try #require(f.zones["N-SDR"]), expectedVersion: nil, on: tx)
            }

            // created, promoted and reassigned: all in the new zone, none left behind.
            #expect(try visible(f, f.sdr, "record_events", recordID: record.id) == 3)
            #expect(try visible(f, f.bio, "record_events", recordID: record.id) == 0)
            let history = try f.run(f.sdr) { tx in try RecordService.history(f.sdr, id: record.id, page: try PageRequest(limit: 50, cursor: nil), on: tx) }
            #expect(Set(history.items.map(\.kind)) == ["created", "stage", "reassigned"])

            let moved = try f.run(f.sdr) { tx in try ActivityService.get(f.sdr, id: open.id, on: tx) }
            #expect(moved.zoneId == f.zones["N-SDR"])
            #expect(moved.ownerId == f.sdr.userID)
            let hidden = try f.error(f.bio) { tx in _ = try ActivityService.get(f.bio, id: open.id, on: tx) }
            #expect(hidden.code == .notFound)

            // Done work stays where it was done, with whoever did it.
            let kept = try f.run(f.bio) { tx in try ActivityService.get(f.bio, id: done.id, on: tx) }
            #expect(kept.zoneId == f.zones["N-BIO"])
            #expect(kept.ownerId == f.bio.userID)
        }
    }

    @Test("an event's content stays append-only: only its zone can change, and only to its record's zone")
    func eventsChangeOnlyTheirZone() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let content = try databaseError(f, f.admin) { tx in
                try tx.execute("UPDATE record_events SET reason = 'x' WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)")
            }
            #expect(content.code == .insufficientPrivilege)
            let elsewhere = try databaseError(f, f.admin) { tx in
                try tx.execute("""
                    UPDATE record_events SET zone_id = \(try #require(f.zones["S-SVQ"]))
                     WHERE tenant_id = \(f.tenantID) AND record_id = \(record.id)
                    """)
            }
            #expect(elsewhere.code == .insufficientPrivilege)
        }
    }
}
