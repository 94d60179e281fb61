-- 0001: privileges baseline, the comarca schema, and the "who is asking" context.
--
-- Applied by the migration runner as the owner role (comarca_owner) inside one
-- transaction. It does not create roles. deploy/bootstrap.sql creates them as superuser.
-- The runner has already created public.schema_migrations.
--
-- Request context: at the start of each transaction the service sets these with SET LOCAL,
-- and the policies read them through the helper functions below:
--   comarca.tenant_id  uuid text
--   comarca.user_id    uuid text of the acting user ('' for operator/CLI work)
--   comarca.scope      'tenant' (every zone of the tenant) | 'zones' (only comarca.zone_ids)
--   comarca.zone_ids   array literal of uuids, e.g. '{uuid1,uuid2}'
-- When a setting is missing, or '' (what a pooled session reads after COMMIT once the name
-- has been used), the helpers return NULL / false / NULL, so policies match no rows.

-- The application role is the security boundary. Refuse to continue if it can get around
-- RLS, or if it can SET ROLE to the owner. NOINHERIT does not stop SET ROLE, and the owner
-- can turn RLS off.
DO $$
DECLARE
    app pg_catalog.pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO app FROM pg_catalog.pg_roles WHERE rolname = 'comarca_app';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role comarca_app does not exist (run deploy/bootstrap.sql first)';
    END IF;
    IF app.rolsuper OR app.rolbypassrls THEN
        RAISE EXCEPTION 'role comarca_app must be NOSUPERUSER NOBYPASSRLS';
    END IF;
    IF pg_catalog.pg_has_role('comarca_app', current_user, 'MEMBER') THEN
        RAISE EXCEPTION 'role comarca_app must not be a member of the owner role %', current_user;
    END IF;
END
$$;

-- Schemas -------------------------------------------------------------------------------

-- PG15 no longer grants CREATE on public to PUBLIC. Revoke it anyway in case this database
-- was upgraded from an older version: only the owner creates objects.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO comarca_app;

-- Helper and trigger functions live here, owned by the owner role.
CREATE SCHEMA comarca;
REVOKE ALL ON SCHEMA comarca FROM PUBLIC;
GRANT USAGE ON SCHEMA comarca TO comarca_app;

-- A function the owner creates from now on is not executable by PUBLIC unless a migration
-- grants it. This is per database, for functions created by the current role in any schema.
-- Each function below still revokes explicitly.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- /readyz (running as comarca_app) checks that migrations are current.
GRANT SELECT ON TABLE public.schema_migrations TO comarca_app;

-- Context helpers ------------------------------------------------------------------------
-- Each helper is LANGUAGE sql STABLE PARALLEL SAFE, is not SECURITY DEFINER, and has an
-- SQL-standard body (RETURN ...). Such a body is parsed once, here, so a caller's
-- search_path cannot redirect current_setting() or the casts. It can still be inlined.
-- current_setting(name, true) returns NULL when the name was never set in the session,
-- and '' after a transaction that set it has ended. NULLIF turns both into NULL.
-- A malformed value raises an error. That also fails closed.

CREATE FUNCTION comarca.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(current_setting('comarca.tenant_id', true), '')::uuid;

COMMENT ON FUNCTION comarca.current_tenant_id() IS
    'Tenant of the current transaction (SET LOCAL comarca.tenant_id), NULL when unset or empty.';

CREATE FUNCTION comarca.current_actor_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(current_setting('comarca.user_id', true), '')::uuid;

COMMENT ON FUNCTION comarca.current_actor_id() IS
    'Acting user (SET LOCAL comarca.user_id), NULL when unset or empty (operator/CLI work).';

-- false, never NULL, unless scope is exactly 'tenant'. Then "sees_whole_tenant() OR ..."
-- in a policy depends only on the zone test.
CREATE FUNCTION comarca.sees_whole_tenant() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(current_setting('comarca.scope', true) = 'tenant', false);

COMMENT ON FUNCTION comarca.sees_whole_tenant() IS
    'true only when comarca.scope = ''tenant''; any other value, unset or empty gives false.';

-- NULL (unset/empty) and '{}' both make "zone_id = ANY (...)" false for every row.
CREATE FUNCTION comarca.visible_zone_ids() RETURNS uuid[]
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN NULLIF(current_setting('comarca.zone_ids', true), '')::uuid[];

COMMENT ON FUNCTION comarca.visible_zone_ids() IS
    'Zones visible under scope=zones (SET LOCAL comarca.zone_ids = ''{...}''), NULL when unset or empty.';

-- Shared trigger functions ---------------------------------------------------------------
-- Trigger functions run as the user whose statement fired them, and firing does not check
-- EXECUTE (only CREATE TRIGGER does). So comarca_app gets no EXECUTE on them.
-- They call only pg_catalog.now(), so they get no "SET search_path". That SET would add a
-- GUC save/restore to every updated row in bulk UPDATEs.

-- The database maintains updated_at. A value that the caller supplies is overwritten.
CREATE FUNCTION comarca.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;

-- Optimistic concurrency: the service updates "... WHERE version = $expected", and every
-- successful UPDATE increments version by one, whatever the caller put in SET.
CREATE FUNCTION comarca.bump_version() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

-- Function privileges ---------------------------------------------------------------------
-- The owner keeps EXECUTE through its owner entry in each ACL. REVOKE ... FROM PUBLIC does
-- not remove that entry.
REVOKE ALL ON FUNCTION
    comarca.current_tenant_id(),
    comarca.current_actor_id(),
    comarca.sees_whole_tenant(),
    comarca.visible_zone_ids(),
    comarca.touch_updated_at(),
    comarca.bump_version()
FROM PUBLIC;

-- Policies run with the privileges of the querying role, so the app needs EXECUTE on the
-- context helpers.
GRANT EXECUTE ON FUNCTION
    comarca.current_tenant_id(),
    comarca.current_actor_id(),
    comarca.sees_whole_tenant(),
    comarca.visible_zone_ids()
TO comarca_app;
