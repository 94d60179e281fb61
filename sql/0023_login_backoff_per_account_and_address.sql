-- 0023: sign-in throttling that slows guessing without letting a stranger lock others out.
--
-- 0006 blocked an address outright for 15 minutes after 20 failures, whatever the accounts: 21
-- failed logins with random e-mails locked everyone behind the same NAT or proxy out of every
-- tenant. Following OWASP's authentication guidance, failures now count against three subjects,
-- and each one only makes attempts wait (exponential backoff from its latest failure, capped),
-- never refuses them for a fixed quarter of an hour:
--
--   subject   counts failures of                  free   first wait   cap      known pair exempt
--   pair      this account from this address      5      15 s         15 min   no
--   account   this account from anywhere          10     15 s         15 min   yes
--   address   any account from this address       20     2 s          60 s     yes
--
-- The n-th failure in the last 15 minutes past the free ones doubles the wait: free + 1 failures
-- wait the first wait, free + 2 twice that, and so on. A refused attempt is not a failure, so
-- hammering does not lengthen a wait.
--
-- A known pair is an account that signed in successfully from this address in the last 90 days.
-- It is exempt from the account and address subjects: the office behind a NAT keeps signing in
-- while a stranger there stuffs credentials, and a victim's account attacked from a botnet still
-- opens from the victim's usual address. Only its own pair subject can slow it.
--
-- The address is the caller's group, decided in Swift: an IPv4 address, or the /64 of an IPv6
-- address (a single host usually holds a whole /64). Subjects are SHA-256 digests: no table
-- holds an e-mail or an IP address.

DROP FUNCTION comarca.login_blocked_until(text, text, text);
DROP FUNCTION comarca.note_login_failure(text, text, text);
DROP FUNCTION comarca.clear_login_failures(text, text);
DROP FUNCTION comarca.login_throttle_subjects(text, text, text);

-- login_known_pairs ------------------------------------------------------------------------------
-- One row per (account, address) that signed in successfully, in the account's tenant. Like
-- login_failures, the application role has no grant: only the functions below read and write it.
CREATE TABLE public.login_known_pairs (
    tenant_id       uuid        NOT NULL,
    subject         bytea       NOT NULL,
    last_success_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_known_pairs_pkey PRIMARY KEY (tenant_id, subject),
    CONSTRAINT login_known_pairs_subject_sha256 CHECK (octet_length(subject) = 32)
);

-- Forgetting old pairs.
CREATE INDEX login_known_pairs_age_idx ON public.login_known_pairs (tenant_id, last_success_at);

ALTER TABLE public.login_known_pairs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.login_known_pairs FORCE ROW LEVEL SECURITY;

CREATE POLICY login_known_pairs_select ON public.login_known_pairs
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY login_known_pairs_insert ON public.login_known_pairs
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY login_known_pairs_update ON public.login_known_pairs
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY login_known_pairs_delete ON public.login_known_pairs
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id()) AND (SELECT comarca.sees_whole_tenant()));

-- Subjects (owner only: no grant) -----------------------------------------------------------------
-- The account is counted in its tenant; for an unknown or suspended slug under the pseudo-tenant,
-- keyed by slug and e-mail, so the limits behave the same whether or not the tenant exists. The
-- pair lives with the account; the address in the pseudo-tenant (it spans tenants).
CREATE FUNCTION comarca.login_throttle_subjects(p_slug text, p_email text, p_address text)
    RETURNS TABLE (tenant_id uuid, kind text, subject bytea, free_failures integer, first_wait interval, max_wait interval)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH account AS (
        SELECT coalesce(t.id, '00000000-0000-0000-0000-000000000000'::uuid) AS tenant_id,
               'account' || E'\n'
                   || CASE WHEN t.id IS NULL THEN coalesce(p_slug, '') || E'\n' ELSE '' END
                   || lower(btrim(coalesce(p_email, ''))) AS key
          FROM (SELECT comarca.tenant_id_for_slug(p_slug) AS id) t
    ),
    address AS (
        SELECT lower(btrim(p_address)) AS key WHERE p_address IS NOT NULL AND btrim(p_address) <> ''
    )
    SELECT a.tenant_id, 'account', sha256(convert_to(a.key, 'UTF8')), 10, interval '15 seconds', interval '15 minutes'
      FROM account a
    UNION ALL
    SELECT a.tenant_id, 'pair', sha256(convert_to('pair' || E'\n' || a.key || E'\n' || d.key, 'UTF8')),
           5, interval '15 seconds', interval '15 minutes'
      FROM account a CROSS JOIN address d
    UNION ALL
    SELECT '00000000-0000-0000-0000-000000000000'::uuid, 'address', sha256(convert_to('address' || E'\n' || d.key, 'UTF8')),
           20, interval '2 seconds', interval '60 seconds'
      FROM address d
$$;

REVOKE ALL ON FUNCTION comarca.login_throttle_subjects(text, text, text) FROM PUBLIC;

-- Sign-in functions (SECURITY DEFINER, granted to the app) ----------------------------------------

-- NULL when sign-in may proceed now; otherwise when the longest wait ends.
CREATE FUNCTION comarca.login_blocked_until(p_slug text, p_email text, p_address text)
    RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    s record;
    v_known boolean := false;
    v_count integer;
    v_latest timestamptz;
    v_until timestamptz;
    v_result timestamptz;
BEGIN
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, p_address) WHERE kind = 'pair' LOOP
        PERFORM comarca.act_in_tenant(s.tenant_id);
        v_known := EXISTS (SELECT 1 FROM public.login_known_pairs k
                            WHERE k.tenant_id = s.tenant_id AND k.subject = s.subject
                              AND k.last_success_at > now() - interval '90 days');
    END LOOP;
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, p_address) LOOP
        CONTINUE WHEN v_known AND s.kind <> 'pair';
        PERFORM comarca.act_in_tenant(s.tenant_id);
        SELECT count(*), max(f.failed_at) INTO v_count, v_latest
          FROM public.login_failures f
         WHERE f.tenant_id = s.tenant_id AND f.subject = s.subject
           AND f.failed_at > now() - interval '15 minutes';
        CONTINUE WHEN v_count < s.free_failures;
        -- 2^(n - free) grows past any cap within 30 doublings; least() keeps it finite.
        v_until := v_latest + least(s.first_wait * power(2, least(v_count - s.free_failures, 30)), s.max_wait);
        IF v_until > clock_timestamp() AND (v_result IS NULL OR v_until > v_result) THEN
            v_result := v_until;
        END IF;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
    RETURN v_result;
END
$$;

-- Counts one failed attempt for every subject, and deletes expired rows of the same tenants (a
-- bounded number per call).
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

-- After a successful sign-in: forget the account's and the pair's failures (not the address's:
-- one good password must not wipe a stranger's record), and remember the pair as known.
CREATE FUNCTION comarca.note_login_success(p_slug text, p_email text, p_address text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text[] := comarca.saved_context();
    s record;
BEGIN
    FOR s IN SELECT * FROM comarca.login_throttle_subjects(p_slug, p_email, p_address) WHERE kind IN ('account', 'pair') LOOP
        PERFORM comarca.act_in_tenant(s.tenant_id);
        DELETE FROM public.login_failures f WHERE f.tenant_id = s.tenant_id AND f.subject = s.subject;
        IF s.kind = 'pair' THEN
            INSERT INTO public.login_known_pairs (tenant_id, subject) VALUES (s.tenant_id, s.subject)
            ON CONFLICT (tenant_id, subject) DO UPDATE SET last_success_at = now();
            DELETE FROM public.login_known_pairs k
             WHERE k.tenant_id = s.tenant_id
               AND k.subject = ANY (ARRAY(
                       SELECT o.subject FROM public.login_known_pairs o
                        WHERE o.tenant_id = s.tenant_id AND o.last_success_at < now() - interval '90 days'
                        LIMIT 100));
        END IF;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
END
$$;

REVOKE ALL ON FUNCTION
    comarca.login_blocked_until(text, text, text),
    comarca.note_login_failure(text, text, text),
    comarca.note_login_success(text, text, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    comarca.login_blocked_until(text, text, text),
    comarca.note_login_failure(text, text, text),
    comarca.note_login_success(text, text, text)
TO comarca_app;
