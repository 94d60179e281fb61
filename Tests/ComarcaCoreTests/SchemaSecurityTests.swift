import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Catalog checks on a freshly migrated database. They guard the rules of DESIGN.md's security
/// model for every table and migration to come, not only the ones that exist today: each test lists
/// the offending objects in its failure message.
@Suite("schema security: RLS, policies, ownership and keys in the catalog")
struct SchemaSecurityTests {
    /// Tables of the tenant model: ordinary or partitioned tables in `public` with a `tenant_id`
    /// column. Partitions are included: a partition read directly applies its own RLS flags.
    static let tenantTables = """
        SELECT c.oid, c.relname, a.attnum AS tenant_attnum
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """

    /// Schemas that are ours, not PostgreSQL's.
    static let userSchemas = """
        n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
        """

    @Test("rejects a tenant table without ENABLE and FORCE ROW LEVEL SECURITY")
    func rowSecurityIsEnabledAndForced() async throws {
        try await Self.withCatalog { owner, _ in
            let tables = try owner.query("""
                SELECT t.relname, c.relrowsecurity, c.relforcerowsecurity
                  FROM (\(unsafeRaw: Self.tenantTables)) t JOIN pg_catalog.pg_class c ON c.oid = t.oid
                 ORDER BY 1
                """).decode((String, Bool, Bool).self)
            #expect(Set(tables.map(\.0)).isSuperset(of: TenantTable.allCases.map(\.name)), "the catalog query misses tenant tables: \(tables.map(\.0))")

            let offenders = tables.compactMap { name, enabled, forced -> String? in
                let missing = [enabled ? nil : "ENABLE", forced ? nil : "FORCE"].compactMap { $0 }
                return missing.isEmpty ? nil : "\(name) (no \(missing.joined(separator: ", ")))"
            }
            #expect(offenders.isEmpty, "tenant tables without row-level security: \(offenders.joined(separator: "; "))")
        }
    }

    @Test("rejects a table outside the tenant model: every table in our schemas has tenant_id, except public.schema_migrations")
    func everyTableIsATenantTable() async throws {
        try await Self.withCatalog { owner, _ in
            let offenders = try Self.strings(owner, """
                SELECT format('%s.%s', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE \(unsafeRaw: Self.userSchemas)
                   AND c.relkind IN ('r', 'p', 'f')
                   AND NOT (n.nspname = 'public' AND c.relname = 'schema_migrations')
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
                 ORDER BY 1
                """)
            #expect(offenders.isEmpty, "tables without tenant_id (no row-level security can apply to them): \(offenders.joined(separator: ", "))")
        }
    }

    @Test("rejects an INSERT or UPDATE path without an explicit WITH CHECK policy")
    func writesHaveWithCheck() async throws {
        try await Self.withCatalog { owner, app in
            // Tenant tables, and any other table the app may insert into, need a permissive
            // INSERT (or ALL) policy with its own WITH CHECK.
            let noInsertCheck = try Self.strings(owner, """
                SELECT c.relname
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                   AND (c.oid IN (SELECT oid FROM (\(unsafeRaw: Self.tenantTables)) t)
                        OR pg_catalog.has_any_column_privilege(\(app)::name, c.oid, 'INSERT'))
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies p
                                    WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                                      AND p.cmd IN ('INSERT', 'ALL') AND p.permissive = 'PERMISSIVE'
                                      AND p.with_check IS NOT NULL)
                 ORDER BY 1
                """)
            #expect(noInsertCheck.isEmpty, "tables without an INSERT policy that has a WITH CHECK: \(noInsertCheck.joined(separator: ", "))")

            // An ALL or UPDATE policy without WITH CHECK reuses USING as its check; an INSERT
            // policy without one accepts any row. Every such policy must state it.
            let implicitCheck = try Self.strings(owner, """
                SELECT format('%s.%s (%s)', p.tablename, p.policyname, p.cmd)
                  FROM pg_catalog.pg_policies p
                 WHERE p.cmd IN ('INSERT', 'UPDATE', 'ALL') AND p.with_check IS NULL
                 ORDER BY 1
                """)
            #expect(implicitCheck.isEmpty, "INSERT/UPDATE/ALL policies without an explicit WITH CHECK: \(implicitCheck.joined(separator: ", "))")

            let noUpdateCheck = try Self.strings(owner, """
                SELECT format('%s.%s', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE \(unsafeRaw: Self.userSchemas) AND c.relkind IN ('r', 'p')
                   AND pg_catalog.has_any_column_privilege(\(app)::name, c.oid, 'UPDATE')
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies p
                                    WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                                      AND p.cmd IN ('UPDATE', 'ALL') AND p.permissive = 'PERMISSIVE'
                                      AND p.with_check IS NOT NULL)
                 ORDER BY 1
                """)
            #expect(noUpdateCheck.isEmpty, "tables the app can UPDATE without an UPDATE policy that has a WITH CHECK: \(noUpdateCheck.joined(separator: ", "))")
        }
    }

    @Test("rejects a policy on a tenant table that does not compare tenant_id with (SELECT comarca.current_tenant_id())")
    func policiesTestTheTenant() async throws {
        try await Self.withCatalog { owner, appRole in
            // The scalar-subquery wrapper is part of the rule: bare current_setting() calls can be
            // evaluated per row (DESIGN.md, pitfalls). Permissive policies are OR-ed, so one
            // without the tenant test opens the table to every tenant.
            let pattern = #"tenant_id = \( SELECT comarca\.current_tenant_id\(\)"#
            let offenders = try Self.strings(owner, """
                SELECT format('%s.%s (%s %s)', p.tablename, p.policyname, p.cmd, CASE WHEN p.permissive = 'PERMISSIVE' THEN 'permissive' ELSE 'restrictive' END)
                  FROM pg_catalog.pg_policies p
                 WHERE p.schemaname = 'public'
                   AND p.tablename IN (SELECT relname FROM (\(unsafeRaw: Self.tenantTables)) t)
                   AND p.permissive = 'PERMISSIVE'
                   -- Policies for the owner role alone (the operator's directory of tenants,
                   -- read by SECURITY DEFINER lookups) do not bind the service; the next test
                   -- keeps them read-only.
                   AND ('public' = ANY (p.roles) OR \(appRole) = ANY (p.roles))
                   AND ((p.qual IS NOT NULL AND p.qual !~ \(pattern))
                        OR (p.with_check IS NOT NULL AND p.with_check !~ \(pattern)))
                 ORDER BY 1
                """)
            #expect(offenders.isEmpty, "policies whose USING or WITH CHECK lacks \"tenant_id = (SELECT comarca.current_tenant_id())\": \(offenders.joined(separator: ", "))")
        }
    }

    @Test("rejects a policy that exempts a role from the tenant test unless it is the owner's, read-only")
    func ownerOnlyPoliciesAreReadOnly() async throws {
        try await Self.withCatalog { owner, appRole in
            let offenders = try Self.strings(owner, """
                SELECT format('%s.%s (%s to %s)', p.tablename, p.policyname, p.cmd, array_to_string(p.roles, ','))
                  FROM pg_catalog.pg_policies p
                 WHERE p.schemaname = 'public'
                   AND NOT ('public' = ANY (p.roles) OR \(appRole) = ANY (p.roles))
                   AND (p.cmd <> 'SELECT' OR NOT (p.roles <@ ARRAY[(SELECT tableowner FROM pg_catalog.pg_tables t
                                                                   WHERE t.schemaname = p.schemaname AND t.tablename = p.tablename)]::name[]))
                 ORDER BY 1
                """)
            #expect(offenders.isEmpty, "policies for roles other than PUBLIC/app must be SELECT-only and for the table owner: \(offenders.joined(separator: ", "))")
        }
    }

    @Test("rejects an application role that owns objects, bypasses RLS or can become the owner; and an owner that bypasses RLS")
    func rolesCannotBypassPolicies() async throws {
        try await Self.withCatalog { owner, app in
            let owned = try Self.strings(owner, """
                WITH app AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = \(app)),
                     db AS (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
                SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass, c.oid, 0)
                  FROM pg_catalog.pg_class c WHERE c.relowner = (SELECT oid FROM app)
                UNION
                SELECT pg_catalog.pg_describe_object('pg_catalog.pg_namespace'::regclass, n.oid, 0)
                  FROM pg_catalog.pg_namespace n WHERE n.nspowner = (SELECT oid FROM app)
                UNION
                SELECT pg_catalog.pg_describe_object('pg_catalog.pg_proc'::regclass, p.oid, 0)
                  FROM pg_catalog.pg_proc p WHERE p.proowner = (SELECT oid FROM app)
                UNION
                SELECT pg_catalog.pg_describe_object('pg_catalog.pg_type'::regclass, t.oid, 0)
                  FROM pg_catalog.pg_type t WHERE t.typowner = (SELECT oid FROM app)
                UNION
                SELECT 'database ' || d.datname
                  FROM pg_catalog.pg_database d WHERE d.oid = (SELECT oid FROM db) AND d.datdba = (SELECT oid FROM app)
                UNION
                -- Anything else the role owns here (operators, collations, large objects, ...).
                SELECT pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid)
                  FROM pg_catalog.pg_shdepend s
                 WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = (SELECT oid FROM app)
                   AND s.deptype = 'o' AND s.dbid = (SELECT oid FROM db)
                ORDER BY 1
                """)
            #expect(owned.isEmpty, "\(app) owns: \(owned.joined(separator: ", "))")

            let appRows = try owner.query("""
                SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = \(app)
                """).decode((Bool, Bool, Bool).self)
            let appRole = try #require(appRows.first, "role \(app) does not exist")
            #expect(!appRole.0, "\(app) is a superuser: RLS does not apply to it")
            #expect(!appRole.1, "\(app) has BYPASSRLS")
            #expect(!appRole.2, "\(app) has CREATEROLE: it could grant itself the owner role")

            // SET ROLE to any role that owns a table, is superuser or bypasses RLS escapes the policies.
            let ownerName = try owner.query("SELECT current_user::text").scalar(String.self)
            let escapes = try Self.strings(owner, """
                SELECT r.rolname::text
                  FROM pg_catalog.pg_roles r
                 WHERE r.rolname <> \(app)
                   AND pg_catalog.pg_has_role(\(app)::name, r.oid, 'MEMBER')
                   AND (r.rolsuper OR r.rolbypassrls OR r.rolname = \(ownerName)
                        OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relowner = r.oid))
                 ORDER BY 1
                """)
            #expect(escapes.isEmpty, "\(app) is a member of roles that escape RLS (owner, superuser, BYPASSRLS or table owner): \(escapes.joined(separator: ", "))")

            let ownerRows = try owner.query("""
                SELECT rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user
                """).decode((Bool, Bool).self)
            let ownerRole = try #require(ownerRows.first)
            #expect(!ownerRole.0, "the owner role \(ownerName) is a superuser: FORCE ROW LEVEL SECURITY does not apply to it")
            #expect(!ownerRole.1, "the owner role \(ownerName) has BYPASSRLS: FORCE ROW LEVEL SECURITY does not apply to it")

            // Whoever owns a tenant table must be subject to FORCE as well.
            let tableOwners = try Self.strings(owner, """
                SELECT format('%s (owner %s)', t.relname, r.rolname)
                  FROM (\(unsafeRaw: Self.tenantTables)) t
                  JOIN pg_catalog.pg_class c ON c.oid = t.oid
                  JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                 WHERE r.rolsuper OR r.rolbypassrls OR r.rolname = \(app)
                 ORDER BY 1
                """)
            #expect(tableOwners.isEmpty, "tenant tables owned by a role that RLS does not bind: \(tableOwners.joined(separator: ", "))")
        }
    }

    @Test("rejects privileges that let the application role get around the policies: TRUNCATE, TRIGGER, CREATE")
    func appCannotGetAroundPolicies() async throws {
        try await Self.withCatalog { owner, app in
            // TRUNCATE ignores row-level security; TRIGGER and CREATE let the app run code of its own.
            let tablePrivileges = try Self.strings(owner, """
                SELECT format('%s on %s.%s', p.privilege, n.nspname, c.relname)
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 CROSS JOIN (VALUES ('TRUNCATE'), ('TRIGGER')) AS p(privilege)
                 WHERE \(unsafeRaw: Self.userSchemas) AND c.relkind IN ('r', 'p')
                   AND pg_catalog.has_table_privilege(\(app)::name, c.oid, p.privilege)
                 ORDER BY 1
                """)
            #expect(tablePrivileges.isEmpty, "\(app) holds: \(tablePrivileges.joined(separator: ", "))")

            let create = try Self.strings(owner, """
                SELECT 'CREATE on schema ' || n.nspname
                  FROM pg_catalog.pg_namespace n
                 WHERE \(unsafeRaw: Self.userSchemas) AND pg_catalog.has_schema_privilege(\(app)::name, n.oid, 'CREATE')
                UNION ALL
                SELECT 'CREATE on database ' || pg_catalog.current_database()
                 WHERE pg_catalog.has_database_privilege(\(app)::name, pg_catalog.current_database(), 'CREATE')
                ORDER BY 1
                """)
            #expect(create.isEmpty, "\(app) can create objects (which it would own): \(create.joined(separator: ", "))")
        }
    }

    @Test("rejects a tenant table whose primary key, foreign keys or indexes do not lead with tenant_id")
    func keysAndIndexesLeadWithTenant() async throws {
        try await Self.withCatalog { owner, _ in
            let noPrimaryKey = try Self.strings(owner, """
                SELECT t.relname FROM (\(unsafeRaw: Self.tenantTables)) t
                 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conrelid = t.oid AND con.contype = 'p')
                 ORDER BY 1
                """)
            #expect(noPrimaryKey.isEmpty, "tenant tables without a primary key: \(noPrimaryKey.joined(separator: ", "))")

            // A foreign key must also reference the other table's tenant_id with its tenant_id,
            // or it could point into another tenant.
            let constraints = try Self.strings(owner, """
                SELECT format('%s %s: %s', t.relname, con.conname, pg_catalog.pg_get_constraintdef(con.oid))
                  FROM (\(unsafeRaw: Self.tenantTables)) t
                  JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid
                 WHERE con.contype IN ('p', 'u', 'f', 'x')
                   AND NOT (t.relname = 'tenants' AND con.conname = 'tenants_slug_key')
                   AND (con.conkey[1] <> t.tenant_attnum
                        OR (con.contype = 'f'
                            AND con.confkey[1] IS DISTINCT FROM (
                                SELECT a.attnum FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = con.confrelid AND a.attname = 'tenant_id' AND NOT a.attisdropped)))
                 ORDER BY 1
                """)
            #expect(constraints.isEmpty, "keys that do not lead with tenant_id (referencing tenant_id for foreign keys): \(constraints.joined(separator: "; "))")

            // Expression columns are 0 in indkey, so an index on (lower(email), tenant_id) fails too.
            let indexes = try Self.strings(owner, """
                SELECT format('%s: %s', ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid))
                  FROM (\(unsafeRaw: Self.tenantTables)) t
                  JOIN pg_catalog.pg_index i ON i.indrelid = t.oid
                  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indkey[0] <> t.tenant_attnum
                   AND NOT (t.relname = 'tenants' AND ic.relname = 'tenants_slug_key')
                 ORDER BY 1
                """)
            #expect(indexes.isEmpty, "indexes that do not lead with tenant_id: \(indexes.joined(separator: "; "))")

            let checked = try owner.query("""
                SELECT count(*) FROM (\(unsafeRaw: Self.tenantTables)) t JOIN pg_catalog.pg_index i ON i.indrelid = t.oid
                """).scalar(Int.self)
            #expect(checked >= TenantTable.allCases.count, "control: the index query saw only \(checked) indexes")
        }
    }

    @Test("rejects a view without security_invoker, a materialized view the app can read, and a SECURITY DEFINER function without a pinned search_path or open to PUBLIC")
    func nothingRunsWithTheOwnersRights() async throws {
        try await Self.withCatalog { owner, app in
            let views = try Self.strings(owner, """
                SELECT format('%s.%s', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE \(unsafeRaw: Self.userSchemas) AND c.relkind = 'v'
                   AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) o
                                    WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on',
                                                       'security_invoker=1', 'security_invoker=yes'))
                 ORDER BY 1
                """)
            #expect(views.isEmpty, "views that run with their owner's rights, so RLS sees the owner (set security_invoker = true): \(views.joined(separator: ", "))")

            let matviews = try Self.strings(owner, """
                SELECT format('%s.%s', n.nspname, c.relname)
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE \(unsafeRaw: Self.userSchemas) AND c.relkind = 'm'
                   AND pg_catalog.has_table_privilege(\(app)::name, c.oid, 'SELECT')
                 ORDER BY 1
                """)
            #expect(matviews.isEmpty, "materialized views the app can read (they have no row-level security): \(matviews.joined(separator: ", "))")

            let definers = try owner.query("""
                SELECT format('%s.%s(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
                       coalesce((SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c
                                  WHERE c LIKE 'search_path=%'), ''),
                       EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
                  FROM pg_catalog.pg_proc p
                  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                 WHERE \(unsafeRaw: Self.userSchemas) AND p.prosecdef
                 ORDER BY 1
                """).decode((String, String, Bool).self)
            let offenders = definers.compactMap { name, searchPath, publicExecute -> String? in
                var problems: [String] = []
                let path = searchPath.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "") }
                if path.isEmpty {
                    problems.append("no SET search_path")
                } else if path.last != "pg_temp" {
                    // Without pg_temp listed, temporary objects the caller creates are searched first.
                    problems.append("search_path '\(searchPath)' does not end with pg_temp")
                }
                if publicExecute { problems.append("EXECUTE granted to PUBLIC") }
                return problems.isEmpty ? nil : "\(name): \(problems.joined(separator: ", "))"
            }
            #expect(offenders.isEmpty, "SECURITY DEFINER functions: \(offenders.joined(separator: "; "))")

            let functions = try owner.query("""
                SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'comarca'
                """).scalar(Int.self)
            #expect(functions > 0, "control: the function query saw no function in schema comarca")
        }
    }
}

extension SchemaSecurityTests {
    /// Runs `body` with an owner connection to a fresh migrated database and the app role's name.
    static func withCatalog(_ body: (PGConnection, String) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            // An autovacuum worker attached at the end would make TestDatabase's DROP fail.
            defer { IsolationTests.waitForForeignBackends(app: 0, database: database.name, owner: owner) }
            try body(owner, database.appRole)
        }
    }

    /// The first column of every row, as text.
    static func strings(_ connection: PGConnection, _ query: PGQuery) throws -> [String] {
        try connection.query(query).map { try $0.decode(String.self, at: 0) }
    }
}
