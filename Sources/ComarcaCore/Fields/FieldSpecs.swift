public import Foundation
public import PGClient

/// Loading, planning and applying field specs. Every function runs on a connection whose
/// transaction already carries the tenant's settings (RLS applies); `plan`/`apply` need
/// tenant-wide scope (operator or admin) because they read every row of the entity.
public enum FieldSpecs {
    // MARK: - Load

    /// The fields of `entity` for the tenant: built-ins with the tenant's settings, then custom
    /// fields in their order, archived ones last.
    public static func load(tenantID: UUID, entity: FieldEntity, on connection: PGConnection) throws -> FieldSpecSet {
        let stored = try storedSpecs(tenantID: tenantID, entity: entity, on: connection)
        return merge(entity: entity, stored: stored)
    }

    static func merge(entity: FieldEntity, stored: [FieldSpec]) -> FieldSpecSet {
        let overrides = Dictionary(stored.filter(\.builtin).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var fields = BuiltinFields.all(entity).map { overrides[$0.key] ?? $0 }
        let custom = stored.filter { !$0.builtin }
        fields += custom.filter { !$0.archived } + custom.filter(\.archived)
        return FieldSpecSet(entity: entity, fields: fields)
    }

    /// The rows of `field_specs` for an entity, in order.
    static func storedSpecs(tenantID: UUID, entity: FieldEntity, on connection: PGConnection) throws -> [FieldSpec] {
        try connection.query("""
            SELECT definition FROM field_specs
             WHERE tenant_id = \(tenantID) AND entity = \(entity.rawValue)
             ORDER BY position, key
            """).decode(PGJSON.self).map { json in
            var spec = try json.decoded(as: FieldSpec.self)
            spec.archived = spec.archived
            return spec
        }
    }

    /// The configured fields as a fields section (what `export` writes): built-ins that differ
    /// from their defaults and every custom field, archived ones included.
    public static func currentConfig(tenantID: UUID, on connection: PGConnection) throws -> FieldsConfig {
        var config: FieldsConfig = [:]
        for entity in FieldEntity.allCases {
            let stored = try storedSpecs(tenantID: tenantID, entity: entity, on: connection)
            if !stored.isEmpty { config[entity] = stored.map { FieldSpecEntry($0) } }
        }
        return config
    }

    // MARK: - Checks on a fields section

    /// Problems of one entry, independent of the stored state (the parser reports them with their
    /// line and column; `plan` reports them for specs built in code).
    static func problems(_ entry: FieldSpecEntry, entity: FieldEntity) -> [String] {
        let spec = entry.spec
        var problems: [String] = []
        if !FieldSpec.isValidKey(spec.key) {
            problems.append("key '\(spec.key)' must be lower-case letters, digits or '_', starting with a letter (at most 63)")
        }
        if let builtin = BuiltinFields.spec(entity, spec.key) {
            if spec.type != builtin.type {
                let textColumn = builtin.type.isSingleString && ![.date, .datetime, .decimal, .money, .userRef, .zoneRef].contains(builtin.type)
                if !(textColumn && spec.type.isSingleString && ![.date, .datetime, .decimal, .money, .userRef, .zoneRef].contains(spec.type)) {
                    problems.append("built-in field \(spec.key) is \(builtin.type.rawValue) and cannot become \(spec.type.rawValue)")
                }
            }
            if builtin.options != spec.options, entity == .activities, spec.key == "kind" {
                problems.append("the options of activities.kind are fixed: \(builtin.options.map(\.code).joined(separator: ", "))")
            }
            if builtin.required, !spec.required { problems.append("built-in field \(spec.key) is always required") }
            if entry.renamedFrom != nil { problems.append("a built-in field cannot be renamed") }
        } else {
            if BuiltinFields.reservedKeys(entity).contains(spec.key) {
                problems.append("key '\(spec.key)' is reserved for a column of \(entity.rawValue)")
            }
            if !entity.hasCustomFields {
                problems.append("\(entity.rawValue) have no custom fields yet; only the built-in fields (\(BuiltinFields.all(entity).map(\.key).joined(separator: ", "))) can be configured")
            }
        }
        if spec.label.es.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("label.es must not be blank") }
        if spec.type.isChoice {
            if spec.options.isEmpty { problems.append("a \(spec.type.rawValue) field needs options") }
            var seen = Set<String>()
            for option in spec.options {
                if option.code.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("an option code must not be blank") }
                if !seen.insert(Normalize.folded(option.code)).inserted { problems.append("option '\(option.code)' appears twice") }
            }
            let codes = Set(spec.options.map(\.code))
            for (old, new) in entry.remap.sorted(by: { $0.key < $1.key }) where !codes.contains(new) {
                problems.append("remap \(old) → \(new): \(new) is not one of the options")
            }
        } else {
            if !spec.options.isEmpty { problems.append("options only apply to single_choice and multiple_choice") }
            if !entry.remap.isEmpty { problems.append("remap only applies to single_choice and multiple_choice") }
        }
        if spec.unique {
            if !spec.type.canBeUnique { problems.append("a \(spec.type.rawValue) field cannot be unique") }
            if !entity.hasCustomFields { problems.append("fields of \(entity.rawValue) cannot be unique yet") }
        }
        if spec.requiredFromStage != nil, entity != .records {
            problems.append("required_from_stage applies to records only")
        }
        if let currency = spec.currency, spec.type == .money, currency.range(of: "^[A-Z]{3}$", options: .regularExpression) == nil {
            problems.append("currency '\(currency)' must be an ISO 4217 code such as EUR")
        }
        if let value = spec.defaultValue, !value.isEmpty {
            do {
                _ = try FieldSpecSet.normalize(value, spec: spec, field: spec.key)
            } catch let error as CoreError {
                problems.append("default: \(error.fieldErrors.first?.message ?? error.message)")
            } catch {
                problems.append("default: \(error)")
            }
        }
        for alias in spec.aliases where alias.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("an alias must not be blank")
        }
        return problems
    }

    /// Problems between the entries of one entity: repeated keys, aliases naming another field.
    static func problems(entity: FieldEntity, entries: [FieldSpecEntry]) -> [String] {
        var problems: [String] = []
        var keys = Set<String>()
        for entry in entries where !keys.insert(entry.spec.key).inserted {
            problems.append("\(entity.rawValue).\(entry.spec.key) appears twice")
        }
        var names: [String: String] = [:]
        for entry in entries where !entry.spec.archived {
            for alias in entry.spec.aliases {
                let folded = Normalize.folded(alias)
                if keys.contains(alias), alias != entry.spec.key {
                    problems.append("\(entity.rawValue).\(entry.spec.key): alias '\(alias)' is the key of another field")
                } else if let other = names[folded], other != entry.spec.key {
                    problems.append("\(entity.rawValue).\(entry.spec.key): alias '\(alias)' is also an alias of \(other)")
                }
                names[folded] = entry.spec.key
            }
        }
        return problems
    }

    // MARK: - Plan and apply

    /// What applying `config` would do, with the effect on existing rows (counts). Reads only.
    public static func plan(_ config: FieldsConfig, tenantID: UUID, on connection: PGConnection) throws -> FieldSpecPlan {
        var plan = FieldSpecPlan()
        for entity in FieldEntity.allCases {
            guard let entries = config[entity] else { continue }
            try planEntity(entity, entries: entries, tenantID: tenantID, plan: &plan, on: connection)
        }
        return plan
    }

    /// Plans and applies `config` on `connection` (inside the caller's transaction, which must
    /// have tenant-wide settings). Throws `conflict` listing the plan's errors, writing nothing.
    @discardableResult
    public static func apply(_ config: FieldsConfig, tenantID: UUID, on connection: PGConnection) throws -> FieldSpecPlan {
        try connection.execute("SELECT pg_advisory_xact_lock(hashtext('comarca.field_specs'), hashtext(\(tenantID.uuidString.lowercased())))")
        let plan = try plan(config, tenantID: tenantID, on: connection)
        guard plan.errors.isEmpty else {
            throw CoreError(.conflict, "the field specs cannot be applied, nothing was written:\n" + plan.errors.joined(separator: "\n"))
        }
        try execute(plan, tenantID: tenantID, on: connection)
        return plan
    }

    /// `apply` in a transaction of its own under operator settings (the CLI's entry point), or
    /// only the plan with `dryRun`.
    public static func apply(_ config: FieldsConfig, slug: String, dryRun: Bool, on connection: PGConnection) throws -> FieldSpecPlan {
        let tenantID = try TenantSetup.requireTenantID(slug, on: connection)
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            if dryRun {
                try tx.execute("SET TRANSACTION READ ONLY")
                return try plan(config, tenantID: tenantID, on: tx)
            }
            return try apply(config, tenantID: tenantID, on: tx)
        }
    }

    private static func planEntity(
        _ entity: FieldEntity, entries: [FieldSpecEntry], tenantID: UUID, plan: inout FieldSpecPlan, on tx: PGConnection
    ) throws {
        let stored = try storedSpecs(tenantID: tenantID, entity: entity, on: tx)
        let storedByKey = Dictionary(stored.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var errors: [String] = []
        for entry in entries {
            errors += problems(entry, entity: entity).map { "\(entity.rawValue).\(entry.spec.key): \($0)" }
        }
        errors += problems(entity: entity, entries: entries)
        guard errors.isEmpty else {
            plan.errors += errors
            return
        }

        let fileKeys = Set(entries.map(\.spec.key))
        var consumed = Set<String>()  // stored custom keys renamed away
        var rows: [FieldSpec] = []
        let name = { (key: String) in "\(entity.rawValue).\(key)" }

        for entry in entries {
            var spec = entry.spec
            spec.builtin = BuiltinFields.spec(entity, spec.key) != nil
            rows.append(spec)
            if spec.builtin {
                let old = storedByKey[spec.key] ?? BuiltinFields.spec(entity, spec.key)!
                try transition(entity, from: old, to: spec, remap: entry.remap, tenantID: tenantID, plan: &plan, on: tx)
                continue
            }
            if let old = storedByKey[spec.key] {
                try transition(entity, from: old, to: spec, remap: entry.remap, tenantID: tenantID, plan: &plan, on: tx)
                continue
            }
            // New key: a rename when it names a stored custom field that is not in the file.
            let candidates = ([entry.renamedFrom].compactMap { $0 } + spec.aliases).filter {
                !fileKeys.contains($0) && storedByKey[$0].map { !$0.builtin } == true && !consumed.contains($0)
            }
            if let from = candidates.first, let old = storedByKey[from] {
                consumed.insert(from)
                if !spec.aliases.contains(from) {
                    spec.aliases.append(from)
                    rows[rows.count - 1] = spec
                }
                let count = try rowsWithValue(entity, key: from, builtin: false, tenantID: tenantID, on: tx)
                plan.changes.append(.rename(entity, from: from, to: spec.key, rowsWithValues: count))
                plan.renames.append(.init(entity: entity, from: from, to: spec.key))
                var renamedOld = old
                renamedOld.key = spec.key
                try transition(entity, from: renamedOld, to: spec, remap: entry.remap, tenantID: tenantID, plan: &plan, on: tx, valueKey: from)
                if old.unique || spec.unique { plan.claims.append(.init(entity: entity, key: from)) }
            } else if let from = entry.renamedFrom {
                plan.errors.append("\(name(spec.key)): renamed_from \(from) is not a custom field of \(entity.rawValue) that is absent from the file")
            } else {
                plan.changes.append(.add(entity, spec))
                if spec.unique { plan.claims.append(.init(entity: entity, key: spec.key)) }
            }
        }

        // Stored fields absent from the file: custom ones are archived, built-in settings reset.
        for old in stored where !fileKeys.contains(old.key) && !consumed.contains(old.key) {
            if old.builtin {
                let reset = BuiltinFields.spec(entity, old.key)!
                try transition(entity, from: old, to: reset, remap: [:], tenantID: tenantID, plan: &plan, on: tx)
                plan.deletes.append(.init(entity: entity, key: old.key))
            } else {
                var archived = old
                archived.archived = true
                rows.append(archived)
                if !old.archived {
                    let count = try rowsWithValue(entity, key: old.key, builtin: false, tenantID: tenantID, on: tx)
                    plan.changes.append(.archive(entity, key: old.key, rowsWithValues: count))
                    if old.unique { plan.claims.append(.init(entity: entity, key: old.key)) }
                }
            }
        }
        for spec in stored where consumed.contains(spec.key) {
            plan.deletes.append(.init(entity: entity, key: spec.key))
        }
        // Built-ins equal to their defaults need no row.
        let kept = rows.filter { spec in
            guard spec.builtin, let builtin = BuiltinFields.spec(entity, spec.key) else { return true }
            if spec == builtin {
                if storedByKey[spec.key] != nil { plan.deletes.append(.init(entity: entity, key: spec.key)) }
                return false
            }
            return true
        }
        plan.rows[entity] = kept
    }

    /// Compares two versions of one field and records what changes and what it does to the
    /// rows that have a value (`valueKey`: where the values are now, for a renamed field).
    private static func transition(
        _ entity: FieldEntity, from old: FieldSpec, to new: FieldSpec, remap: [String: String], tenantID: UUID,
        plan: inout FieldSpecPlan, on tx: PGConnection, valueKey: String? = nil
    ) throws {
        let name = "\(entity.rawValue).\(new.key)"
        let valueKey = valueKey ?? old.key
        let builtin = new.builtin
        if old.archived, !new.archived {
            let count = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
            plan.changes.append(.restore(entity, key: new.key, rowsWithValues: count))
            if new.unique { plan.claims.append(.init(entity: entity, key: new.key)) }
        } else if !old.archived, new.archived {
            let count = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
            plan.changes.append(.archive(entity, key: new.key, rowsWithValues: count))
            if old.unique { plan.claims.append(.init(entity: entity, key: new.key)) }
        }
        var what: [String] = []
        if old.label != new.label { what.append("label") }
        if old.help != new.help { what.append("help") }
        if old.aliases != new.aliases { what.append("aliases") }
        if old.defaultValue != new.defaultValue { what.append("default") }
        if old.currency != new.currency { what.append("currency \(old.currency ?? "-") → \(new.currency ?? "-")") }
        if old.required != new.required || old.requiredFromStage != new.requiredFromStage {
            let describe = { (s: FieldSpec) in s.required ? "always" : (s.requiredFromStage.map { "from \($0.rawValue)" } ?? "no") }
            what.append("required \(describe(old)) → \(describe(new))")
            if new.required || new.requiredFromStage != nil {
                let total = try tx.query("SELECT count(*)::int FROM \(unsafeRaw: entity.table) t WHERE t.tenant_id = \(tenantID)").scalar(Int.self)
                let filled = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
                if total > filled {
                    plan.notes.append("\(name): \(total - filled) existing row\(total - filled == 1 ? " has" : "s have") no value; they must get one on their next change\(new.requiredFromStage.map { " once at stage \($0.rawValue) or later" } ?? "")")
                }
            }
        }
        if old.type != new.type {
            what.append("type \(old.type.rawValue) → \(new.type.rawValue)")
            if !compatible(old.type, new.type), !new.type.isChoice {
                let count = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
                if count > 0 {
                    plan.errors.append("\(name): type \(old.type.rawValue) → \(new.type.rawValue) refused: \(count) row\(count == 1 ? " has" : "s have") a value that would not fit; archive this field and add a new one instead")
                }
            }
        }
        if new.type.isChoice, old.options != new.options || old.type != new.type || !remap.isEmpty {
            if old.options != new.options { what.append("options") }
            let multiple = old.type == .multipleChoice
            if new.type == .singleChoice, multiple {
                let count = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
                if count > 0 { plan.errors.append("\(name): multiple_choice → single_choice refused: \(count) rows have values") }
            } else if new.type == .multipleChoice, !multiple, old.type != .multipleChoice {
                let count = try rowsWithValue(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
                if count > 0 { plan.errors.append("\(name): \(old.type.rawValue) → multiple_choice refused: \(count) rows have values") }
            } else {
                let codes = Set(new.options.map(\.code))
                let counts = try valueCounts(entity, key: valueKey, builtin: builtin, multiple: multiple, tenantID: tenantID, on: tx)
                var homeless: [(String, Int)] = []
                for (value, count) in counts.sorted(by: { $0.key < $1.key }) where !codes.contains(value) {
                    if let target = remap[value] {
                        plan.changes.append(.remap(entity, key: new.key, from: value, to: target, rows: count))
                        plan.remaps.append(.init(entity: entity, key: new.key, builtin: builtin, multiple: multiple, from: value, to: target))
                        if new.unique { plan.claims.append(.init(entity: entity, key: new.key)) }
                    } else {
                        homeless.append((value, count))
                    }
                }
                if !homeless.isEmpty {
                    plan.errors.append("\(name): values with no option (add a remap: {old: new} or keep the option): "
                        + homeless.map { "\($0.0) (\($0.1) row\($0.1 == 1 ? "" : "s"))" }.joined(separator: ", "))
                }
                for (value, _) in remap where counts[value] == nil {
                    plan.notes.append("\(name): remap of \(value) changes nothing, no row has it")
                }
            }
        }
        if old.unique != new.unique {
            what.append(new.unique ? "unique" : "not unique")
            plan.claims.append(.init(entity: entity, key: new.key))
            if new.unique {
                let duplicates = try duplicateValues(entity, key: valueKey, builtin: builtin, tenantID: tenantID, on: tx)
                if !duplicates.isEmpty {
                    plan.errors.append("\(name): cannot become unique, values held by more than one row: "
                        + duplicates.prefix(20).map { "\($0.0) (\($0.1) rows)" }.joined(separator: ", ")
                        + (duplicates.count > 20 ? " and \(duplicates.count - 20) more" : ""))
                }
            }
        }
        if !what.isEmpty, !(old.archived && new.archived) {
            plan.changes.append(.update(entity, key: new.key, what: what))
        }
    }

    static func compatible(_ from: FieldType, _ to: FieldType) -> Bool {
        if to == .text || to == .longText { return from.isSingleString }
        switch (from, to) {
        case (.integer, .decimal), (.integer, .money), (.decimal, .money), (.money, .decimal): return true
        case (.date, .datetime): return false
        default: return false
        }
    }

    private static func execute(_ plan: FieldSpecPlan, tenantID: UUID, on tx: PGConnection) throws {
        // Specs first: the unique-value trigger reads them when rows change below.
        for key in plan.deletes {
            try tx.execute("DELETE FROM field_specs WHERE tenant_id = \(tenantID) AND entity = \(key.entity.rawValue) AND key = \(key.key)")
        }
        for (entity, rows) in plan.rows.sorted(by: { $0.key < $1.key }) {
            for (position, spec) in rows.enumerated() {
                let json = try PGJSON(encoding: spec)
                try tx.execute("""
                    INSERT INTO field_specs (tenant_id, entity, key, position, builtin, is_unique, archived, definition)
                    VALUES (\(tenantID), \(entity.rawValue), \(spec.key), \(position), \(spec.builtin), \(spec.unique), \(spec.archived), \(json))
                    ON CONFLICT (tenant_id, entity, key) DO UPDATE
                       SET position = EXCLUDED.position, builtin = EXCLUDED.builtin, is_unique = EXCLUDED.is_unique,
                           archived = EXCLUDED.archived, definition = EXCLUDED.definition
                     WHERE (field_specs.position, field_specs.builtin, field_specs.is_unique, field_specs.archived, field_specs.definition)
                           IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.builtin, EXCLUDED.is_unique, EXCLUDED.archived, EXCLUDED.definition)
                    """)
            }
        }
        for rename in plan.renames {
            try tx.execute("""
                UPDATE \(unsafeRaw: rename.entity.table) t
                   SET custom = (t.custom - \(rename.from)) || jsonb_build_object(\(rename.to)::text, t.custom -> \(rename.from))
                 WHERE t.tenant_id = \(tenantID) AND t.custom ? \(rename.from)
                """)
        }
        for remap in plan.remaps {
            if remap.builtin {
                guard BuiltinFields.spec(remap.entity, remap.key) != nil else { continue }
                try tx.execute("""
                    UPDATE \(unsafeRaw: remap.entity.table) t SET \(unsafeRaw: remap.key) = \(remap.to)
                     WHERE t.tenant_id = \(tenantID) AND t.\(unsafeRaw: remap.key) = \(remap.from)
                    """)
            } else if remap.multiple {
                try tx.execute("""
                    UPDATE \(unsafeRaw: remap.entity.table) t
                       SET custom = jsonb_set(t.custom, ARRAY[\(remap.key)::text], (
                           SELECT jsonb_agg(x ORDER BY o) FROM (
                               SELECT CASE WHEN e = \(remap.from) THEN \(remap.to)::text ELSE e END AS x, min(n) AS o
                                 FROM jsonb_array_elements_text(t.custom -> \(remap.key)) WITH ORDINALITY AS a(e, n)
                                GROUP BY 1) s))
                     WHERE t.tenant_id = \(tenantID) AND jsonb_typeof(t.custom -> \(remap.key)) = 'array'
                       AND (t.custom -> \(remap.key)) ? \(remap.from)
                    """)
            } else {
                try tx.execute("""
                    UPDATE \(unsafeRaw: remap.entity.table) t
                       SET custom = jsonb_set(t.custom, ARRAY[\(remap.key)::text], to_jsonb(\(remap.to)::text))
                     WHERE t.tenant_id = \(tenantID) AND t.custom ->> \(remap.key) = \(remap.from)
                    """)
            }
        }
        // Claims of fields whose uniqueness, key, values or archiving changed: rebuilt from the rows.
        var seen = Set<FieldSpecPlan.FieldKey>()
        for claim in plan.claims where seen.insert(claim).inserted && claim.entity.hasCustomFields {
            try tx.execute("""
                DELETE FROM record_unique_values
                 WHERE tenant_id = \(tenantID) AND entity = \(claim.entity.rawValue) AND field_key = \(claim.key)
                """)
            let spec = plan.rows[claim.entity]?.first { $0.key == claim.key }
            guard let spec, spec.unique, !spec.archived else { continue }
            let value = valueExpression(claim.entity, key: claim.key, builtin: spec.builtin)
            do {
                try tx.execute("""
                    INSERT INTO record_unique_values (tenant_id, entity, field_key, value, row_id, zone_id)
                    SELECT t.tenant_id, \(claim.entity.rawValue), \(claim.key), v.value, t.\(unsafeRaw: claim.entity.idColumn), t.zone_id
                      FROM \(unsafeRaw: claim.entity.table) t
                     CROSS JOIN LATERAL (SELECT lower(\(value) #>> '{}') AS value) v
                     WHERE t.tenant_id = \(tenantID) AND v.value IS NOT NULL AND v.value <> ''
                    """)
            } catch let error as PGError where error.code == .uniqueViolation {
                throw CoreError(.conflict, "\(claim.entity.rawValue).\(claim.key): cannot become unique, a value is held by more than one row (changed meanwhile); apply again to see them")
            }
        }
    }

    // MARK: - Reading values (keys bound; columns only from BuiltinFields)

    static func valueExpression(_ entity: FieldEntity, key: String, builtin: Bool) -> PGQuery {
        if builtin, BuiltinFields.spec(entity, key) != nil {
            return "to_jsonb(t.\(unsafeRaw: key))"
        }
        if !entity.hasCustomFields { return "NULL::jsonb" }
        return "(t.custom -> \(key))"
    }

    static func rowsWithValue(_ entity: FieldEntity, key: String, builtin: Bool, tenantID: UUID, on tx: PGConnection) throws -> Int {
        let value = valueExpression(entity, key: key, builtin: builtin)
        return try tx.query("""
            SELECT count(*)::int FROM \(unsafeRaw: entity.table) t
             WHERE t.tenant_id = \(tenantID) AND \(value) IS NOT NULL
               AND \(value) NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb)
            """).scalar(Int.self)
    }

    static func valueCounts(
        _ entity: FieldEntity, key: String, builtin: Bool, multiple: Bool, tenantID: UUID, on tx: PGConnection
    ) throws -> [String: Int] {
        let value = valueExpression(entity, key: key, builtin: builtin)
        let rows: [(String, Int)]
        if multiple {
            rows = try tx.query("""
                SELECT e, count(*)::int FROM \(unsafeRaw: entity.table) t
                 CROSS JOIN LATERAL jsonb_array_elements_text(
                       CASE WHEN jsonb_typeof(\(value)) = 'array' THEN \(value) ELSE '[]'::jsonb END) AS e
                 WHERE t.tenant_id = \(tenantID) AND e <> ''
                 GROUP BY e
                """).decode((String, Int).self)
        } else {
            rows = try tx.query("""
                SELECT v, count(*)::int FROM (
                    SELECT \(value) #>> '{}' AS v FROM \(unsafeRaw: entity.table) t WHERE t.tenant_id = \(tenantID)) s
                 WHERE v IS NOT NULL AND v <> ''
                 GROUP BY v
                """).decode((String, Int).self)
        }
        return Dictionary(rows, uniquingKeysWith: +)
    }

    static func duplicateValues(_ entity: FieldEntity, key: String, builtin: Bool, tenantID: UUID, on tx: PGConnection) throws -> [(String, Int)] {
        let value = valueExpression(entity, key: key, builtin: builtin)
        return try tx.query("""
            SELECT v, count(*)::int FROM (
                SELECT lower(\(value) #>> '{}') AS v FROM \(unsafeRaw: entity.table) t WHERE t.tenant_id = \(tenantID)) s
             WHERE v IS NOT NULL AND v <> ''
             GROUP BY v HAVING count(*) > 1
             ORDER BY count(*) DESC, v
            """).decode((String, Int).self)
    }
}

/// What applying a fields section would do: changes with their effect on existing rows, errors
/// that stop it (nothing is written), notes that change nothing.
public struct FieldSpecPlan: Sendable, Hashable {
    public enum Change: Sendable, Hashable, CustomStringConvertible {
        case add(FieldEntity, FieldSpec)
        case update(FieldEntity, key: String, what: [String])
        case archive(FieldEntity, key: String, rowsWithValues: Int)
        case restore(FieldEntity, key: String, rowsWithValues: Int)
        case rename(FieldEntity, from: String, to: String, rowsWithValues: Int)
        case remap(FieldEntity, key: String, from: String, to: String, rows: Int)

        public var description: String {
            func rows(_ n: Int) -> String { "\(n) row\(n == 1 ? "" : "s")" }
            switch self {
            case .add(let entity, let spec):
                return "+ field \(entity.rawValue).\(spec.key) (\(spec.type.rawValue), \(spec.label.es))"
            case .update(let entity, let key, let what):
                return "~ field \(entity.rawValue).\(key): \(what.joined(separator: ", "))"
            case .archive(let entity, let key, let n):
                return "- field \(entity.rawValue).\(key) archived (values kept in \(rows(n)))"
            case .restore(let entity, let key, let n):
                return "+ field \(entity.rawValue).\(key) restored (\(rows(n)) with values)"
            case .rename(let entity, let from, let to, let n):
                return "~ field \(entity.rawValue).\(from) renamed to \(to) (\(rows(n)) moved; \(from) kept as an alias)"
            case .remap(let entity, let key, let from, let to, let n):
                return "~ field \(entity.rawValue).\(key): value \(from) → \(to) in \(rows(n))"
            }
        }
    }

    struct FieldKey: Sendable, Hashable {
        let entity: FieldEntity
        let key: String
    }

    struct Rename: Sendable, Hashable {
        let entity: FieldEntity
        let from: String
        let to: String
    }

    struct Remap: Sendable, Hashable {
        let entity: FieldEntity
        let key: String
        let builtin: Bool
        let multiple: Bool
        let from: String
        let to: String
    }

    public var changes: [Change] = []
    public var errors: [String] = []
    public var notes: [String] = []
    // What execute writes.
    var rows: [FieldEntity: [FieldSpec]] = [:]
    var deletes: [FieldKey] = []
    var renames: [Rename] = []
    var remaps: [Remap] = []
    var claims: [FieldKey] = []

    public init() {}

    public var isEmpty: Bool { changes.isEmpty }

    /// Changes, then errors (`! …`), then notes (`# …`), like `TenantPlan.lines`.
    public var lines: [String] {
        changes.map(\.description) + errors.map { "! \($0)" } + notes.map { "# \($0)" }
    }
}

extension FieldSpecs {
    /// The fields of `entities` for the tenant with this slug, read under operator settings.
    public static func show(slug: String, entities: [FieldEntity] = FieldEntity.allCases, on connection: PGConnection) throws -> [FieldSpecSet] {
        let tenantID = try TenantSetup.requireTenantID(slug, on: connection)
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.execute("SET TRANSACTION READ ONLY")
            return try entities.map { try load(tenantID: tenantID, entity: $0, on: tx) }
        }
    }
}
