-- 0002: tenancy and access tables: tenants, zones (the security tree), roles, users.
--
-- Conventions, here and in every later migration:
--   * tenant_id uuid NOT NULL leads every primary key, foreign key and index. Foreign keys
--     are composite (tenant_id, x), so a row cannot reference another tenant's row, and
--     Citus can later distribute everything by tenant_id.
--   * Constraints are named, so the service can map them to API errors and Citus can
--     propagate them.
--   * Every table: ENABLE and FORCE ROW LEVEL SECURITY (FORCE applies the policies to the
--     owner too). Policies are written per command. Each INSERT/UPDATE policy gives its
--     WITH CHECK explicitly.
--   * Policies are TO PUBLIC (the default). comarca_app owns nothing and gets only the
--     grants written next to each table.
--   * Foreign key checks, cascades and unique checks bypass RLS. That is what we want for
--     integrity. It also means a unique violation can reveal that a key exists somewhere
--     in the tenant.

-- tenants -----------------------------------------------------------------------------------

CREATE TABLE public.tenants (
    tenant_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    slug       text        NOT NULL,
    name       text        NOT NULL,
    status     text        NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    CONSTRAINT tenants_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT tenants_status_valid CHECK (status IN ('active', 'suspended'))
);

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenants FORCE ROW LEVEL SECURITY;

-- Every policy calls the context helpers inside a scalar subquery: "(SELECT comarca.f())".
-- The subquery does not reference the row, so the planner makes it an InitPlan. It runs
-- once per statement, and its result is a parameter that can also serve as an index
-- condition. A bare "tenant_id = comarca.current_tenant_id()" may instead be evaluated
-- once per row (measured 5-18x slower on big tenants). Keep the wrapper in every policy.
-- An operator creating a tenant sets comarca.tenant_id to the new id first, with scope
-- 'tenant'.
CREATE POLICY tenants_select ON public.tenants
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY tenants_insert ON public.tenants
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY tenants_update ON public.tenants
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

-- No DELETE policy and no DELETE grant: tenants are suspended, never deleted by the app.
GRANT SELECT, INSERT, UPDATE ON TABLE public.tenants TO comarca_app;

-- zones -------------------------------------------------------------------------------------
-- Territories and security groups, in a tree. They are configuration: the whole tenant can
-- read the tree (a rep may see it), and only tenant-wide scope can change it.

CREATE TABLE public.zones (
    tenant_id      uuid        NOT NULL,
    zone_id        uuid        NOT NULL DEFAULT gen_random_uuid(),
    parent_zone_id uuid        NULL,
    code           text        NOT NULL,
    name           text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT zones_pkey PRIMARY KEY (tenant_id, zone_id),
    CONSTRAINT zones_code_key UNIQUE (tenant_id, code),
    CONSTRAINT zones_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (tenant_id),
    -- A zone with children cannot be deleted. Move or delete the children first.
    CONSTRAINT zones_parent_fkey FOREIGN KEY (tenant_id, parent_zone_id)
        REFERENCES public.zones (tenant_id, zone_id) ON DELETE RESTRICT,
    CONSTRAINT zones_parent_not_self CHECK (parent_zone_id <> zone_id),
    CONSTRAINT zones_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$'),
    CONSTRAINT zones_name_not_blank CHECK (btrim(name) <> '')
);

-- For children-of lookups (subtree computation), and for the parent FK check when a zone
-- is deleted.
CREATE INDEX zones_parent_idx ON public.zones (tenant_id, parent_zone_id)
    WHERE parent_zone_id IS NOT NULL;

-- Cycle guard. Only an UPDATE of parent_zone_id can close a cycle. An INSERT cannot,
-- because no zone can point at a zone that does not exist yet (composite FK). Changing
-- zone_id or tenant_id cannot either, because children still reference the old key (NO
-- ACTION FK). The function walks up from the new parent. If it reaches the zone being
-- moved, the move would make the zone its own ancestor.
--   * The walk reads zones under the caller's RLS. The zones SELECT policy is tenant-wide,
--     so the walk sees the whole tree. If zones ever become zone-scoped for SELECT, this
--     walk needs another way to see the full tree. SECURITY DEFINER would not do it: FORCE
--     applies to the owner too.
--   * Two concurrent moves could each pass and together form a cycle (A under B, B under
--     A). A per-tenant transaction advisory lock serializes tree moves. Under READ
--     COMMITTED the walk after the lock takes a new snapshot and sees the other move.
--     (Under REPEATABLE READ it would not. Tree edits should use READ COMMITTED.)
--   * UNION (not UNION ALL) ends the walk even if a cycle somehow already exists.
--   * Error: SQLSTATE 23514 (check_violation) with constraint name zones_no_cycle, so the
--     service maps it like any other constraint violation.
CREATE FUNCTION comarca.zones_reject_cycle() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('comarca.zones'), hashtext(NEW.tenant_id::text));

    IF EXISTS (
        WITH RECURSIVE ancestors (zone_id, parent_zone_id) AS (
            SELECT z.zone_id, z.parent_zone_id
              FROM public.zones z
             WHERE z.tenant_id = NEW.tenant_id
               AND z.zone_id = NEW.parent_zone_id
            UNION
            SELECT z.zone_id, z.parent_zone_id
              FROM public.zones z
              JOIN ancestors a ON z.zone_id = a.parent_zone_id
             WHERE z.tenant_id = NEW.tenant_id
        )
        SELECT 1 FROM ancestors WHERE zone_id = NEW.zone_id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE    = 'check_violation',
            CONSTRAINT = 'zones_no_cycle',
            SCHEMA     = 'public',
            TABLE      = 'zones',
            MESSAGE    = 'zone cycle: a zone cannot be placed under itself or one of its descendants',
            DETAIL     = format('zone %s cannot get parent %s, which is in its own subtree',
                                NEW.zone_id, NEW.parent_zone_id);
    END IF;

    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION comarca.zones_reject_cycle() FROM PUBLIC;

CREATE TRIGGER zones_reject_cycle
    BEFORE UPDATE OF parent_zone_id ON public.zones
    FOR EACH ROW
    WHEN (NEW.parent_zone_id IS NOT NULL
          AND NEW.parent_zone_id IS DISTINCT FROM OLD.parent_zone_id)
    EXECUTE FUNCTION comarca.zones_reject_cycle();

CREATE TRIGGER zones_touch_updated_at
    BEFORE UPDATE ON public.zones
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.zones ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.zones FORCE ROW LEVEL SECURITY;

CREATE POLICY zones_select ON public.zones
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY zones_insert ON public.zones
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY zones_update ON public.zones
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY zones_delete ON public.zones
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.zones TO comarca_app;

-- roles -------------------------------------------------------------------------------------
-- Named permission sets. Configuration, with the same policies as zones.

CREATE TABLE public.roles (
    tenant_id   uuid        NOT NULL,
    role_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    key         text        NOT NULL,
    name        text        NOT NULL,
    builtin     boolean     NOT NULL DEFAULT false,
    scope       text        NOT NULL,
    permissions jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_pkey PRIMARY KEY (tenant_id, role_id),
    CONSTRAINT roles_key_key UNIQUE (tenant_id, key),
    CONSTRAINT roles_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (tenant_id),
    CONSTRAINT roles_key_format CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    CONSTRAINT roles_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT roles_scope_valid CHECK (scope IN ('own_zone', 'zone_subtree', 'tenant')),
    CONSTRAINT roles_permissions_object CHECK (jsonb_typeof(permissions) = 'object')
);

CREATE TRIGGER roles_touch_updated_at
    BEFORE UPDATE ON public.roles
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.roles FORCE ROW LEVEL SECURITY;

CREATE POLICY roles_select ON public.roles
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY roles_insert ON public.roles
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY roles_update ON public.roles
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY roles_delete ON public.roles
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.roles TO comarca_app;

-- users -------------------------------------------------------------------------------------
-- A user is bound 1:1 to a zone, and the database enforces it:
--   * users_zone_key: a zone has at most one user.
--   * users_active_has_zone: an active user has exactly one zone, and a deactivated user
--     has none (it gives the zone up, so the zone can be bound again).
-- users_zone_key is DEFERRABLE INITIALLY IMMEDIATE, so it is checked at the end of each
-- statement and not row by row. Two reps can then swap zones in one UPDATE. Swapping in
-- steps is impossible: an active user cannot be left without a zone in between.
-- Credentials come in a later migration.

CREATE TABLE public.users (
    tenant_id      uuid        NOT NULL,
    user_id        uuid        NOT NULL DEFAULT gen_random_uuid(),
    email          text        NOT NULL,
    display_name   text        NOT NULL,
    role_id        uuid        NOT NULL,
    zone_id        uuid        NULL,
    deactivated_at timestamptz NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT users_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES public.roles (tenant_id, role_id),
    CONSTRAINT users_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT users_zone_key UNIQUE (tenant_id, zone_id) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT users_active_has_zone CHECK ((deactivated_at IS NULL) = (zone_id IS NOT NULL)),
    -- Stored normalized: lower-case and trimmed, exactly one '@', text on both sides and no
    -- whitespace.
    CONSTRAINT users_email_normalized CHECK (email = lower(btrim(email))),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_display_name_not_blank CHECK (btrim(display_name) <> '')
);

-- One account per e-mail address per tenant, case-insensitively. (users_email_normalized
-- already makes lower(email) = email. The expression index also covers a future relaxed
-- check.) Lookups must say lower(email) = lower($1) to use it.
CREATE UNIQUE INDEX users_email_key ON public.users (tenant_id, lower(email));

CREATE TRIGGER users_touch_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;

CREATE POLICY users_select ON public.users
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY users_insert ON public.users
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY users_update ON public.users
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY users_delete ON public.users
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.users TO comarca_app;
