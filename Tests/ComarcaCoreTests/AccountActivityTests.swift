import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("accounts and activities")
struct AccountActivityTests {
    // MARK: - Accounts

    @Test("account create normalises the CIF and folds nothing away; a second account with the CIF is a conflict naming the first only when visible")
    func accountTaxIDIsUnique() async throws {
        try await RecordFixture.with { f in
            let account = try f.run(f.bio) { tx in
                try AccountService.create(f.bio, AccountInput(name: " Forjas Bizkaia, S.A. ", taxId: "a-48000004", sector: "metal", size: "50-249", province: "Bizkaia"), on: tx)
            }
            #expect(account.name == "Forjas Bizkaia, S.A.")
            #expect(account.taxId == "A48000004")
            #expect(account.sector == "metal")
            #expect(account.size == "50-249")
            #expect(account.province == "Bizkaia")
            #expect(account.zoneId == f.bio.zoneID)
            #expect(account.version == 1)

            let visible = try f.error(f.bio) { tx in _ = try AccountService.create(f.bio, AccountInput(name: "Otra", taxId: "A48000004"), on: tx) }
            #expect(visible.code == .conflict)
            #expect(visible.message.contains(account.id.uuidString.lowercased()))

            let hidden = try f.error(f.sdr) { tx in _ = try AccountService.create(f.sdr, AccountInput(name: "Otra", taxId: "A48000004"), on: tx) }
            #expect(hidden.code == .conflict)
            #expect(hidden.message == "an account with this tax id already exists elsewhere in the company")
            #expect(!hidden.message.contains("Forjas"))
            #expect(try f.count("accounts") == 1)
        }
    }

    @Test("account update with a stale version is precondition-failed and changes nothing")
    func accountStaleVersion() async throws {
        try await RecordFixture.with { f in
            let account = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Conservas Ortiz"), on: tx) }
            let updated = try f.run(f.bio) { tx in
                try AccountService.update(f.bio, id: account.id, AccountChanges(sector: "alimentación", province: ""), expectedVersion: 1, on: tx)
            }
            #expect(updated.version == 2)
            #expect(updated.sector == "alimentación")
            #expect(updated.province == nil)
            let error = try f.error(f.bio) { tx in
                _ = try AccountService.update(f.bio, id: account.id, AccountChanges(name: "Otro nombre"), expectedVersion: 1, on: tx)
            }
            #expect(error.code == .preconditionFailed)
            #expect(try f.run(f.bio) { tx in try AccountService.get(f.bio, id: account.id, on: tx) } == updated)
        }
    }

    @Test("account list by zone pages with a keyset cursor, newest first, and a zone the caller cannot see is not found")
    func accountList() async throws {
        try await RecordFixture.with { f in
            var created: [AccountView] = []
            for name in ["Uno", "Dos", "Tres", "Cuatro", "Cinco"] {
                created.append(try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: name), on: tx) })
            }
            _ = try f.run(f.sdr) { tx in try AccountService.create(f.sdr, AccountInput(name: "Ajena"), on: tx) }

            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try f.run(f.bio) { tx in
                    try AccountService.list(f.bio, zoneID: f.bio.zoneID, page: try PageRequest(limit: 2, cursor: cursor), on: tx)
                }
                seen += page.items.map(\.name)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ["Cinco", "Cuatro", "Tres", "Dos", "Uno"])

            let all = try f.run(f.manager) { tx in try AccountService.list(f.manager, page: try PageRequest(limit: nil, cursor: nil), on: tx) }
            #expect(all.items.count == 6)

            let error = try f.error(f.bio) { tx in
                _ = try AccountService.list(f.bio, zoneID: f.zones["N-SDR"], page: try PageRequest(limit: nil, cursor: nil), on: tx)
            }
            #expect(error.code == .notFound)
        }
    }

    @Test("an account with contacts cannot be deleted; an unused one is")
    func accountDelete() async throws {
        try await RecordFixture.with { f in
            let used = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Con Contactos"), on: tx) }
            let free = try f.run(f.bio) { tx in try AccountService.create(f.bio, AccountInput(name: "Libre"), on: tx) }
            let record = try f.record(in: .potential, by: f.bio)
            _ = try f.run(f.bio) { tx in try RecordService.convert(f.bio, id: record.id, account: .link(used.id), on: tx) }

            let error = try f.error(f.admin) { tx in try AccountService.delete(f.admin, id: used.id, expectedVersion: nil, on: tx) }
            #expect(error.code == .conflict)
            let forbidden = try f.error(f.bio) { tx in try AccountService.delete(f.bio, id: free.id, expectedVersion: nil, on: tx) }
            #expect(forbidden.code == .forbidden)
            try f.run(f.admin) { tx in try AccountService.delete(f.admin, id: free.id, expectedVersion: 1, on: tx) }
            #expect(try f.count("accounts") == 1)
        }
    }

    // MARK: - Activities

    @Test("my open activities: overdue first, then by due date, undated last; done and other people's left out; keyset pages")
    func myOpenActivities() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            let now = Date()
            func add(_ subject: String, due: Date?, done: Bool = false, by session: Session? = nil) throws -> ActivityView {
                let s = session ?? f.bio
                let target = s.userID == f.bio.userID ? record.id : try f.record(in: .target, by: s).id
                return try f.run(s) { tx in
                    try ActivityService.create(s, ActivityInput(kind: .call, subject: subject, recordId: target, dueAt: due, done: done), on: tx)
                }
            }
            _ = try add("sin fecha", due: nil)
            _ = try add("mañana", due: now.addingTimeInterval(86_400))
            _ = try add("hace dos días", due: now.addingTimeInterval(-2 * 86_400))
            _ = try add("hecha", due: now.addingTimeInterval(-3 * 86_400), done: true)
            _ = try add("ayer", due: now.addingTimeInterval(-86_400))
            _ = try add("de otra", due: now.addingTimeInterval(-5 * 86_400), by: f.sdr)

            var items: [ActivityView] = []
            var cursor: String?
            repeat {
                let page = try f.run(f.bio) { tx in try ActivityService.myOpen(f.bio, page: try PageRequest(limit: 2, cursor: cursor), on: tx) }
                items += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(items.map(\.subject) == ["hace dos días", "ayer", "mañana", "sin fecha"])
            #expect(items.map(\.overdue) == [true, true, false, false])
        }
    }

    @Test("a record's next follow-up is its earliest open activity with a due date; completing it moves to the next")
    func nextFollowUp() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .target, by: f.bio)
            #expect(record.nextFollowUp == nil)
            let now = Date()
            _ = try f.run(f.bio) { tx in try ActivityService.create(f.bio, ActivityInput(kind: .note, subject: "Nota", recordId: record.id), on: tx) }
            let later = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .meeting, subject: "Visita", recordId: record.id, dueAt: now.addingTimeInterval(7 * 86_400)), on: tx)
            }
            let first = try f.run(f.bio) { tx in
                try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "Llamar", recordId: record.id, dueAt: now.addingTimeInterval(3600)), on: tx)
            }
            let view = try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) }
            #expect(view.nextFollowUp?.activityId == first.id)
            #expect(view.nextFollowUp?.kind == .call)
            #expect(view.nextFollowUp?.subject == "Llamar")

            let done = try f.run(f.bio) { tx in try ActivityService.complete(f.bio, id: first.id, outcome: "Interesado", on: tx) }
            #expect(done.doneAt != nil)
            #expect(done.outcome == "Interesado")
            let again = try f.error(f.bio) { tx in _ = try ActivityService.complete(f.bio, id: first.id, on: tx) }
            #expect(again.code == .conflict)
            #expect(try f.run(f.bio) { tx in try RecordService.get(f.bio, id: record.id, on: tx) }.nextFollowUp?.activityId == later.id)
        }
    }

    @Test("an activity attaches only to what the caller can see, and lives in its zone; an outcome needs done")
    func activityAttachment() async throws {
        try await RecordFixture.with { f in
            let theirs = try f.record(in: .target, by: f.sdr)
            let hidden = try f.error(f.bio) { tx in
                _ = try ActivityService.create(f.bio, ActivityInput(kind: .call, subject: "x", recordId: theirs.id), on: tx)
            }
            #expect(hidden.code == .notFound)
            let unattached = try f.error(f.bio) { tx in _ = try ActivityService.create(f.bio, ActivityInput(kind: .task, subject: "x"), on: tx) }
            #expect(unattached.code == .invalidInput)
            let outcome = try f.error(f.sdr) { tx in
                _ = try ActivityService.create(f.sdr, ActivityInput(kind: .call, subject: "x", recordId: theirs.id, outcome: "ok"), on: tx)
            }
            #expect(outcome.code == .invalidInput)

            let account = try f.run(f.manager) { tx in try AccountService.create(f.manager, AccountInput(name: "Cuenta", zoneId: f.zones["N-SDR"]), on: tx) }
            let byManager = try f.run(f.manager) { tx in
                try ActivityService.create(f.manager, ActivityInput(kind: .email, subject: "Oferta", accountId: account.id, ownerId: f.sdr.userID), on: tx)
            }
            #expect(byManager.zoneId == f.zones["N-SDR"])
            #expect(byManager.ownerId == f.sdr.userID)
            #expect(try f.count("activities") == 1)
        }
    }

    // MARK: - Opportunities under RLS

    @Test("rejects another zone's opportunity: invisible to read, and a rep cannot open one on an account or record they cannot see")
    func opportunitiesAreZoneScoped() async throws {
        try await RecordFixture.with { f in
            let record = try f.record(in: .potential, by: f.bio)
            let result = try f.run(f.bio) { tx in
                try RecordService.convert(f.bio, id: record.id, account: .create(name: "Bilbao S.L.", taxID: nil), opportunity: OpportunityInput(name: "Pedido"), on: tx)
            }
            let opportunity = try #require(result.opportunity)
            let seen = try f.run(f.sdr) { tx in
                try tx.query("SELECT count(*) FROM opportunities WHERE tenant_id = \(f.tenantID)").scalar(Int.self)
            }
            #expect(seen == 0)
            let notFound = try f.error(f.sdr) { tx in _ = try RecordService.opportunityView(f.sdr, id: opportunity.id, on: tx) }
            #expect(notFound.code == .notFound)

            for (what, insert) in [
                ("account", "INSERT INTO opportunities (tenant_id, zone_id, account_id, name) VALUES (\(f.tenantID), \(f.sdr.zoneID), \(result.account.id), 'x')" as PGQuery),
                ("record", "INSERT INTO opportunities (tenant_id, zone_id, record_id, name) VALUES (\(f.tenantID), \(f.sdr.zoneID), \(record.id), 'x')"),
                ("zone", "INSERT INTO opportunities (tenant_id, zone_id, name) VALUES (\(f.tenantID), \(f.bio.zoneID), 'x')"),
            ] {
                do {
                    try f.run(f.sdr) { tx in _ = try tx.execute(insert) }
                    Issue.record("a rep of N-SDR opened an opportunity on another zone's \(what)")
                } catch let error as PGError {
                    #expect(error.code == .insufficientPrivilege, "\(what): \(error)")
                }
            }
            #expect(try f.count("opportunities") == 1)

            // The duplicate probe answers nothing without the request's settings.
            let bare = try f.app.transaction { tx in
                try tx.query("SELECT count(*) FROM comarca.record_duplicates(\(record.email), NULL, NULL, NULL::uuid)").scalar(Int.self)
            }
            #expect(bare == 0)
        }
    }
}
