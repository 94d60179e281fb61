-- 0006: sign-in: password credentials, bearer tokens (sessions, API tokens, invites), and the
-- failed-login counters that rate-limit sign-in across all service instances.
--
-- Secrets the application role must never read back:
--   * user_credentials.password_hash (argon2id, PHC string)
--   * auth_tokens.token_hash (SHA-256 of the token's bytes; the token itself is never stored)
-- comarca_app gets column grants that leave these two columns out of SELECT (it may write
-- them), so "SELECT password_hash ..." or a WHERE on token_hash fails with 42501 even inside
-- the right tenant. The lookups that need them run in SECURITY DEFINER functions below.
--
-- Tokens carry their tenant. The text form is "cmk_" + base64url(tenant_id (16 bytes) || 32
-- random bytes), and token_hash = SHA-256 of those 48 bytes. The lookup is by
-- (tenant_id, token_hash), so every key and index leads with tenant_id like everywhere else
-- (SchemaSecurityTests; Citus can route the lookup to one shard), no function needs to read
-- across tenants, and a token edited to name another tenant hashes to nothing there.
--
-- Pre-authentication access (before any tenant setting exists) is only through the SECURITY
-- DEFINER functions at the end of this file. They are owned by the owner role, which FORCE
-- binds to the policies like everyone else, so each one sets the tenant settings for the one
-- tenant it was asked about (comarca.act_in_tenant) and works through the ordinary policies.
-- A function's "SET name = value" clause would scope those settings to the call, but PostgreSQL
-- 15 lets only a superuser (or a GRANT SET ON PARAMETER) attach custom settings to a function.
-- So each function saves the caller's settings first and puts them back before every RETURN.
-- On an error nothing needs restoring: the rollback of the transaction (or of the caller's
-- savepoint) undoes the SET LOCALs.

-- The all-zero uuid is the service-wide pseudo-tenant that holds per-address login counters
-- (an address is not any one tenant's). No real tenant may have it.
ALTER TABLE public.tenants
    ADD CONSTRAINT tenants_id_not_nil CHECK (tenant_id <> '00000000-0000-0000-0000-000000000000');

-- user_credentials ------------------------------------------------------------------------------
-- One password per user. A user without a row cannot sign in with a password (invited users,
-- integration-only users).

CREATE TABLE public.user_credentials (
    tenant_id           uuid        NOT NULL,
    user_id             uuid        NOT NULL,
    password_hash       text        NOT NULL,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_credentials_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT user_credentials_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES public.users (tenant_id, user_id) ON DELETE CASCADE,
    -- A PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), never a plain password.
    CONSTRAINT user_credentials_hash_phc CHECK (password_hash ~ '^\$[a-z0-9-]+\$')
);

ALTER TABLE public.user_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_credentials FORCE ROW LEVEL SECURITY;

-- A user's own row, or any row of the tenant under tenant-wide scope (admins, the operator).
CREATE POLICY user_credentials_select ON public.user_credentials
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

CREATE POLICY user_credentials_insert ON public.user_credentials
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

CREATE POLICY user_credentials_update ON public.user_credentials
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

CREATE POLICY user_credentials_delete ON public.user_credentials
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

-- Write the hash, never read it. (An upsert must not say EXCLUDED.password_hash: that reads
-- the column. Bind the value twice instead.)
GRANT SELECT (tenant_id, user_id, password_changed_at, created_at),
      INSERT (tenant_id, user_id, password_hash, password_changed_at),
      UPDATE (password_hash, password_changed_at),
      DELETE
   ON TABLE public.user_credentials TO comarca_app;

-- auth_tokens -----------------------------------------------------------------------------------
-- kind 'session': from a password sign-in, expires (12 h by default), revoked by logout.
-- kind 'api':     for integrations, named, with an optional role of its own that replaces the
--                 user's role for requests made with it; 90 days by default.
-- kind 'invite':  lets a user set their first password; 7 days, single use (consuming it sets
--                 revoked_at). Never accepted as a bearer token.

CREATE TABLE public.auth_tokens (
    tenant_id    uuid        NOT NULL,
    token_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL,
    kind         text        NOT NULL,
    name         text        NULL,
    token_hash   bytea       NOT NULL,
    role_id      uuid        NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz NULL,
    last_used_at timestamptz NULL,
    created_by   uuid        NULL,
    CONSTRAINT auth_tokens_pkey PRIMARY KEY (tenant_id, token_id),
    CONSTRAINT auth_tokens_hash_key UNIQUE (tenant_id, token_hash),
    CONSTRAINT auth_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES public.users (tenant_id, user_id) ON DELETE CASCADE,
    -- A role bound to a token cannot be deleted while the token exists.
    CONSTRAINT auth_tokens_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES public.roles (tenant_id, role_id),
    CONSTRAINT auth_tokens_created_by_fkey FOREIGN KEY (tenant_id, created_by)
        REFERENCES public.users (tenant_id, user_id) ON DELETE SET NULL (created_by),
    CONSTRAINT auth_tokens_kind_valid CHECK (kind IN ('session', 'api', 'invite')),
    CONSTRAINT auth_tokens_hash_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT auth_tokens_role_only_api CHECK (role_id IS NULL OR kind = 'api'),
    CONSTRAINT auth_tokens_api_named CHECK (kind <> 'api' OR (name IS NOT NULL AND btrim(name) <> '')),
    CONSTRAINT auth_tokens_expires_after_creation CHECK (expires_at > created_at)
);

-- A user's tokens (listing, and the cascade when a user is deleted).
CREATE INDEX auth_tokens_user_idx ON public.auth_tokens (tenant_id, user_id);
-- For the SET NULL and NO ACTION checks when a user or a role is deleted.
CREATE INDEX auth_tokens_created_by_idx ON public.auth_tokens (tenant_id, created_by)
    WHERE created_by IS NOT NULL;
CREATE INDEX auth_tokens_role_idx ON public.auth_tokens (tenant_id, role_id)
    WHERE role_id IS NOT NULL;

ALTER TABLE public.auth_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.auth_tokens FORCE ROW LEVEL SECURITY;

-- Admins (tenant-wide scope) list and revoke every token of the tenant; anyone else only their own.
CREATE POLICY auth_tokens_select ON public.auth_tokens
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

CREATE POLICY auth_tokens_insert ON public.auth_tokens
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

CREATE POLICY auth_tokens_update ON public.auth_tokens
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant()) OR user_id = (SELECT comarca.current_actor_id())));

-- No DELETE policy or grant: tokens are revoked, and go with their user.
-- The app may insert a hash but never read one back; the only column it may change is revoked_at.
GRANT SELECT (tenant_id, token_id, user_id, kind, name, role_id, created_at, expires_at,
              revoked_at, last_used_at, created_by),
      INSERT (tenant_id, token_id, user_id, kind, name, token_hash, role_id, expires_at, created_by),
      UPDATE (revoked_at)
   ON TABLE public.auth_tokens TO comarca_app;

-- login_failures --------------------------------------------------------------------------------
-- One row per failed sign-in, per subject: the account (tenant + e-mail) in its tenant, and the
-- client address in the service-wide pseudo-tenant (all-zero uuid). Subjects are stored as
-- SHA-256 digests, so this table holds no e-mail addresses or IP addresses. Rows older than the
-- window are deleted as new failures arrive. The application role has no grant at all: it counts
-- and reads failures only through the functions below.

CREATE TABLE public.login_failures (
    tenant_id  uuid        NOT NULL,
    failure_id bigint      GENERATED ALWAYS AS IDENTITY,
    subject    bytea       NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_failures_pkey PRIMARY KEY (tenant_id, failure_id),
    CONSTRAINT login_failures_subject_sha256 CHECK (octet_length(subject) = 32)
);

CREATE INDEX login_failures_subject_idx ON public.login_failures (tenant_id, subject, failed_at);
CREATE INDEX login_failures_age_idx ON public.login_failures (tenant_id, failed_at);

ALTER TABLE public.login_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.login_failures FORCE ROW LEVEL SECURITY;

CREATE POLICY login_failures_select ON public.login_failures
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY login_failures_insert ON public.login_failures
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY login_failures_delete ON public.login_failures
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

-- Internal helpers (owner only: no grant) ---------------------------------------------------------

-- The caller's request context: the four settings the policies read, '' where unset.
CREATE FUNCTION comarca.saved_context() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN ARRAY[coalesce(current_setting('comarca.tenant_id', true), ''),
                 coalesce(current_setting('comarca.user_id', true), ''),
                 coalesce(current_setting('comarca.scope', true), ''),
                 coalesce(current_setting('comarca.zone_ids', true), '')];

-- Puts back what saved_context() returned. SET LOCAL (not set_config): Citus propagates it.
CREATE FUNCTION comarca.restore_context(p_saved text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('SET LOCAL comarca.tenant_id = %L', p_saved[1]);
    EXECUTE format('SET LOCAL comarca.user_id = %L', p_saved[2]);
    EXECUTE format('SET LOCAL comarca.scope = %L', p_saved[3]);
    EXECUTE format('SET LOCAL comarca.zone_ids = %L', p_saved[4]);
END
$$;

-- Switches the request context to tenant-wide scope in one tenant. No SET clause, so the
-- settings outlive this call: the caller restores its saved context before returning.
CREATE FUNCTION comarca.act_in_tenant(p_tenant_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'act_in_tenant: tenant is NULL';
    END IF;
    EXECUTE format('SET LOCAL comarca.tenant_id = %L', p_tenant_id::text);
    SET LOCAL comarca.user_id = '';
    SET LOCAL comarca.scope = 'tenant';
    SET LOCAL comarca.zone_ids = '{}';
END
$$;

-- The throttle subjects of one sign-in attempt, with how many failures in the window block it:
-- the account (5) and, when known, the client address (20). For an unknown or suspended slug
-- the account is counted under the pseudo-tenant, keyed by slug and e-mail, so the limit behaves
-- the same whether or not the tenant exists.
CREATE FUNCTION comarca.login_throttle_subjects(p_slug text, p_email text, p_address text)
    RETURNS TABLE (tenant_id uuid, subject bytea, max_failures integer)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(t.id, '00000000-0000-0000-0000-000000000000'::uuid),
           sha256(convert_to('account' || E'\n'
                             || CASE WHEN t.id IS NULL THEN coalesce(p_slug, '') || E'\n' ELSE '' END
                             || lower(btrim(coalesce(p_email, ''))), 'UTF8')),
           5
      FROM (SELECT comarca.tenant_id_for_slug(p_slug) AS id) t
    UNION ALL
    SELECT '00000000-0000-0000-0000-000000000000'::uuid,
           sha256(convert_to('address' || E'\n' || lower(btrim(p_address)), 'UTF8')),
           20
     WHERE p_address IS NOT NULL AND btrim(p_address) <> ''
$$;

REVOKE ALL ON FUNCTION
    comarca.saved_context(),
    comarca.restore_context(text[]),
    comarca.act_in_tenant(uuid),
    comarca.login_throttle_subjects(text, text, text)
FROM PUBLIC;

-- Sign-in functions (SECURITY DEFINER, granted to the app) ----------------------------------------

-- The active user with this e-mail in this tenant, and their password hash. No row for an
-- unknown e-mail, a deactivated user, a user without a password or a suspended tenant: the
-- caller cannot tell these apart (and must verify against a dummy hash to take the same time).
CREATE FUNCTION comarca.credential_for_login(p_tenant_id uuid, p_email text)
    RETURNS TABLE (user_id uuid, password_hash text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
BEGIN
    IF p_tenant_id IS NULL OR p_email IS NULL THEN
        RETURN;
    END IF;
    PERFORM comarca.act_in_tenant(p_tenant_id);
    RETURN QUERY
        SELECT u.user_id, c.password_hash
          FROM public.users u
          JOIN public.user_credentials c ON c.tenant_id = u.tenant_id AND c.user_id = u.user_id
          JOIN public.tenants t ON t.tenant_id = u.tenant_id AND t.status = 'active'
         WHERE u.tenant_id = p_tenant_id
           AND lower(u.email) = lower(btrim(p_email))
           AND u.deactivated_at IS NULL;
    PERFORM comarca.restore_context(v_saved);
END
$$;

-- NULL when sign-in may proceed; otherwise the moment the latest block ends. A subject is
-- blocked while it has at least max_failures failures in the last 15 minutes, i.e. until its
-- max_failures-th most recent failure is 15 minutes old.
CREATE FUNCTION comarca.login_blocked_until(p_slug text, p_email text, p_address text)
    RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    s record;
    v_until timestamptz;
    v_result timestamptz;
BEGIN
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, p_address) LOOP
        PERFORM comarca.act_in_tenant(s.tenant_id);
        SELECT f.failed_at + interval '15 minutes' INTO v_until
          FROM public.login_failures f
         WHERE f.tenant_id = s.tenant_id AND f.subject = s.subject
           AND f.failed_at > now() - interval '15 minutes'
         ORDER BY f.failed_at DESC
        OFFSET s.max_failures - 1
         LIMIT 1;
        IF v_until IS NOT NULL AND (v_result IS NULL OR v_until > v_result) THEN
            v_result := v_until;
        END IF;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
    RETURN v_result;
END
$$;

-- Counts one failed attempt for the account and the address, and deletes expired rows of the
-- same tenants (a bounded number per call).
CREATE FUNCTION comarca.note_login_failure(p_slug text, p_email text, p_address text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    s record;
BEGIN
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, p_address) LOOP
        PERFORM comarca.act_in_tenant(s.tenant_id);
        INSERT INTO public.login_failures (tenant_id, subject) VALUES (s.tenant_id, s.subject);
        DELETE FROM public.login_failures f
         WHERE f.tenant_id = s.tenant_id
           AND f.failure_id = ANY (ARRAY(
                   SELECT o.failure_id FROM public.login_failures o
                    WHERE o.tenant_id = s.tenant_id AND o.failed_at < now() - interval '15 minutes'
                    LIMIT 100));
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
END
$$;

-- After a successful sign-in: forget the account's failures (not the address's).
CREATE FUNCTION comarca.clear_login_failures(p_slug text, p_email text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    s record;
BEGIN
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, NULL) LOOP
        PERFORM comarca.act_in_tenant(s.tenant_id);
        DELETE FROM public.login_failures f WHERE f.tenant_id = s.tenant_id AND f.subject = s.subject;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
END
$$;

-- A bearer token (session or API) that is live: not revoked, not expired, in an active tenant.
-- No row otherwise. Records last_used_at at most once a minute per token. Whether the user is
-- still active is for the caller's session query (SessionLoader), which runs in the same
-- transaction.
CREATE FUNCTION comarca.authenticate_token(p_tenant_id uuid, p_token_hash bytea)
    RETURNS TABLE (token_id uuid, user_id uuid, kind text, role_id uuid, expires_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    r record;
BEGIN
    IF p_tenant_id IS NULL OR p_token_hash IS NULL THEN
        RETURN;
    END IF;
    PERFORM comarca.act_in_tenant(p_tenant_id);
    SELECT a.token_id, a.user_id, a.kind, a.role_id, a.expires_at, a.last_used_at INTO r
      FROM public.auth_tokens a
      JOIN public.tenants t ON t.tenant_id = a.tenant_id AND t.status = 'active'
     WHERE a.tenant_id = p_tenant_id
       AND a.token_hash = p_token_hash
       AND a.kind IN ('session', 'api')
       AND a.revoked_at IS NULL
       AND a.expires_at > now();
    IF FOUND THEN
        IF r.last_used_at IS NULL OR r.last_used_at < now() - interval '1 minute' THEN
            UPDATE public.auth_tokens a SET last_used_at = now()
             WHERE a.tenant_id = p_tenant_id AND a.token_id = r.token_id;
        END IF;
        token_id := r.token_id;
        user_id := r.user_id;
        kind := r.kind;
        role_id := r.role_id;
        expires_at := r.expires_at;
        RETURN NEXT;
    END IF;
    PERFORM comarca.restore_context(v_saved);
END
$$;

-- Uses up a live invite of an active user and returns the user; NULL when there is none. Single
-- use: the UPDATE takes the row lock, so of two concurrent calls only one gets the user.
CREATE FUNCTION comarca.consume_invite(p_tenant_id uuid, p_token_hash bytea)
    RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    v_user uuid;
BEGIN
    IF p_tenant_id IS NULL OR p_token_hash IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM comarca.act_in_tenant(p_tenant_id);
    UPDATE public.auth_tokens a
       SET revoked_at = now(), last_used_at = now()
     WHERE a.tenant_id = p_tenant_id
       AND a.token_hash = p_token_hash
       AND a.kind = 'invite'
       AND a.revoked_at IS NULL
       AND a.expires_at > now()
       AND EXISTS (SELECT 1 FROM public.tenants t WHERE t.tenant_id = a.tenant_id AND t.status = 'active')
       AND EXISTS (SELECT 1 FROM public.users u
                    WHERE u.tenant_id = a.tenant_id AND u.user_id = a.user_id AND u.deactivated_at IS NULL)
    RETURNING a.user_id INTO v_user;
    PERFORM comarca.restore_context(v_saved);
    RETURN v_user;
END
$$;

-- Logout: revokes the session or API token with this hash. true when a live token was revoked.
CREATE FUNCTION comarca.revoke_token_by_hash(p_tenant_id uuid, p_token_hash bytea)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    n integer;
BEGIN
    IF p_tenant_id IS NULL OR p_token_hash IS NULL THEN
        RETURN false;
    END IF;
    PERFORM comarca.act_in_tenant(p_tenant_id);
    UPDATE public.auth_tokens a SET revoked_at = now()
     WHERE a.tenant_id = p_tenant_id
       AND a.token_hash = p_token_hash
       AND a.kind IN ('session', 'api')
       AND a.revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM comarca.restore_context(v_saved);
    RETURN n > 0;
END
$$;

REVOKE ALL ON FUNCTION
    comarca.credential_for_login(uuid, text),
    comarca.login_blocked_until(text, text, text),
    comarca.note_login_failure(text, text, text),
    comarca.clear_login_failures(text, text),
    comarca.authenticate_token(uuid, bytea),
    comarca.consume_invite(uuid, bytea),
    comarca.revoke_token_by_hash(uuid, bytea)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    comarca.credential_for_login(uuid, text),
    comarca.login_blocked_until(text, text, text),
    comarca.note_login_failure(text, text, text),
    comarca.clear_login_failures(text, text),
    comarca.authenticate_token(uuid, bytea),
    comarca.consume_invite(uuid, bytea),
    comarca.revoke_token_by_hash(uuid, bytea)
TO comarca_app;
