-- 0008: the records domain: lifecycle configuration (disqualify reasons), dedupe keys and the
-- duplicate probe, account name matching, opportunities (minimal; the pipeline issue extends the
-- table), activities on opportunities, conversion lineage. Conventions are those of 0002-0004:
-- tenant_id leads every key and index, RLS is ENABLEd and FORCEd, every write policy has an
-- explicit WITH CHECK, and a row may only reference rows its writer can see (0004).

-- disqualify_reasons ------------------------------------------------------------------------------
-- Tenant configuration: the reasons a record may be disqualified with. Readable by everyone in the
-- tenant (a rep must be able to pick one); written only under tenant-wide scope (admins, the
-- operator). A tenant with no rows at all uses the built-in defaults defined in the service
-- (Lifecycle.defaultDisqualifyReasons), so no tenant needs seeding; configuring any reason
-- replaces the defaults. Codes are stored in records.disqualified_reason and record_events.reason,
-- so a reason is deactivated (active = false), never deleted while in use by the app.

CREATE TABLE public.disqualify_reasons (
    tenant_id  uuid        NOT NULL,
    code       text        NOT NULL,
    label      text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    position   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT disqualify_reasons_pkey PRIMARY KEY (tenant_id, code),
    CONSTRAINT disqualify_reasons_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (tenant_id) ON DELETE CASCADE,
    CONSTRAINT disqualify_reasons_code_format CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    CONSTRAINT disqualify_reasons_label_not_blank CHECK (btrim(label) <> '')
);

CREATE TRIGGER disqualify_reasons_touch_updated_at
    BEFORE UPDATE ON public.disqualify_reasons
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.disqualify_reasons ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.disqualify_reasons FORCE ROW LEVEL SECURITY;

CREATE POLICY disqualify_reasons_select ON public.disqualify_reasons
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY disqualify_reasons_insert ON public.disqualify_reasons
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY disqualify_reasons_update ON public.disqualify_reasons
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY disqualify_reasons_delete ON public.disqualify_reasons
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.disqualify_reasons TO comarca_app;

-- records: dedupe keys and conversion lineage ----------------------------------------------------
-- The service stores email, phone and tax_id already normalised (lower-case e-mail, E.164 phone,
-- canonical DNI/NIE/CIF), so the columns themselves are the dedupe keys, compared with plain
-- equality. Not records_email_idx (tenant_id, lower(email)) from 0003: lower() is not leakproof,
-- so under RLS "lower(email) = $1" runs as a filter after the policy and that index only serves
-- tenant_id (EXPLAIN showed a scan of every record of the tenant with an e-mail). texteq is
-- leakproof, so "email = $1" is an index condition on the index below.
-- Not UNIQUE: imports may knowingly hold duplicates; the create path refuses them (below).

CREATE INDEX records_email_key_idx ON public.records (tenant_id, email) WHERE email IS NOT NULL;
CREATE INDEX records_phone_idx ON public.records (tenant_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX records_tax_id_idx ON public.records (tenant_id, tax_id) WHERE tax_id IS NOT NULL;

-- When the record became a contact through conversion (the event holds the rest of the lineage:
-- account_id, account_created, opportunity_id).
ALTER TABLE public.records ADD COLUMN converted_at timestamptz NULL;

-- accounts: matching by folded name ----------------------------------------------------------------
-- Conversion matches an account by CIF, then by name folded by the service (Normalize.folded:
-- lower case, accents and spaces folded). The folding is Swift's, so the service keeps this
-- column in step with name on every write; NULL only for rows written before this migration.

ALTER TABLE public.accounts ADD COLUMN name_key text NULL;
UPDATE public.accounts SET name_key = lower(btrim(name)) WHERE name_key IS NULL;
CREATE INDEX accounts_name_key_idx ON public.accounts (tenant_id, name_key) WHERE name_key IS NOT NULL;

-- opportunities ---------------------------------------------------------------------------------
-- A possible sale. Minimal here (conversion may create one); the pipeline issue adds stages,
-- lost reasons and the board. Visibility is by zone, as for records. won_at/lost_at/lost_reason
-- stay NULL until the pipeline work sets them.

CREATE TABLE public.opportunities (
    tenant_id      uuid          NOT NULL,
    opportunity_id uuid          NOT NULL DEFAULT gen_random_uuid(),
    zone_id        uuid          NOT NULL,
    account_id     uuid          NULL,
    record_id      uuid          NULL,
    owner_user_id  uuid          NULL,
    name           text          NOT NULL,
    amount         numeric(14,2) NULL,
    currency       text          NOT NULL DEFAULT 'EUR',
    stage          text          NOT NULL DEFAULT 'new',
    expected_close date          NULL,
    won_at         timestamptz   NULL,
    lost_at        timestamptz   NULL,
    lost_reason    text          NULL,
    -- Carried over from the record at conversion, so campaign ROI can count won business.
    source         text          NULL,
    campaign_id    uuid          NULL,  -- FK added with the campaigns table, as for records
    version        integer       NOT NULL DEFAULT 1,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    created_by     uuid          NULL DEFAULT comarca.current_actor_id(),
    CONSTRAINT opportunities_pkey PRIMARY KEY (tenant_id, opportunity_id),
    CONSTRAINT opportunities_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT opportunities_account_fkey FOREIGN KEY (tenant_id, account_id)
        REFERENCES public.accounts (tenant_id, account_id),
    -- Lineage survives the record: deleting the record leaves the opportunity without it.
    CONSTRAINT opportunities_record_fkey FOREIGN KEY (tenant_id, record_id)
        REFERENCES public.records (tenant_id, record_id) ON DELETE SET NULL (record_id),
    CONSTRAINT opportunities_owner_fkey FOREIGN KEY (tenant_id, owner_user_id)
        REFERENCES public.users (tenant_id, user_id),
    CONSTRAINT opportunities_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT opportunities_amount_not_negative CHECK (amount IS NULL OR amount >= 0),
    CONSTRAINT opportunities_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT opportunities_not_won_and_lost CHECK (won_at IS NULL OR lost_at IS NULL),
    CONSTRAINT opportunities_version_positive CHECK (version > 0)
);

-- "Latest in my zone" with keyset pagination, newest first (same shape as records). Also the zone FK.
CREATE INDEX opportunities_zone_updated_idx
    ON public.opportunities (tenant_id, zone_id, updated_at DESC, opportunity_id DESC);
-- An account's opportunities; the account FK.
CREATE INDEX opportunities_account_idx ON public.opportunities (tenant_id, account_id)
    WHERE account_id IS NOT NULL;
-- Lineage from a record; the record FK (and its SET NULL on delete).
CREATE INDEX opportunities_record_idx ON public.opportunities (tenant_id, record_id)
    WHERE record_id IS NOT NULL;
-- The owner FK check when a user is deleted.
CREATE INDEX opportunities_owner_idx ON public.opportunities (tenant_id, owner_user_id)
    WHERE owner_user_id IS NOT NULL;

CREATE TRIGGER opportunities_touch_updated_at
    BEFORE UPDATE ON public.opportunities
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

CREATE TRIGGER opportunities_bump_version
    BEFORE UPDATE ON public.opportunities
    FOR EACH ROW EXECUTE FUNCTION comarca.bump_version();

ALTER TABLE public.opportunities ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.opportunities FORCE ROW LEVEL SECURITY;

CREATE POLICY opportunities_select ON public.opportunities
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

-- As in 0004: the referenced account and record must be visible to the writer, so an invisible
-- id and a missing one fail alike (42501) before the foreign key is consulted.
CREATE POLICY opportunities_insert ON public.opportunities
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = opportunities.tenant_id AND a.account_id = opportunities.account_id))
                AND (record_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.records r
                                 WHERE r.tenant_id = opportunities.tenant_id AND r.record_id = opportunities.record_id)));

CREATE POLICY opportunities_update ON public.opportunities
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = opportunities.tenant_id AND a.account_id = opportunities.account_id))
                AND (record_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.records r
                                 WHERE r.tenant_id = opportunities.tenant_id AND r.record_id = opportunities.record_id)));

CREATE POLICY opportunities_delete ON public.opportunities
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.opportunities TO comarca_app;

-- activities on opportunities, and "my open activities" ---------------------------------------------

ALTER TABLE public.activities ADD COLUMN opportunity_id uuid NULL;
ALTER TABLE public.activities
    ADD CONSTRAINT activities_opportunity_fkey FOREIGN KEY (tenant_id, opportunity_id)
        REFERENCES public.opportunities (tenant_id, opportunity_id);
ALTER TABLE public.activities DROP CONSTRAINT activities_attached;
ALTER TABLE public.activities
    ADD CONSTRAINT activities_attached
        CHECK (record_id IS NOT NULL OR account_id IS NOT NULL OR opportunity_id IS NOT NULL);
-- Outcome is what happened: only a done activity has one.
ALTER TABLE public.activities
    ADD CONSTRAINT activities_outcome_when_done CHECK (outcome IS NULL OR done_at IS NOT NULL);

-- An opportunity's timeline; the opportunity FK.
CREATE INDEX activities_opportunity_idx ON public.activities (tenant_id, opportunity_id)
    WHERE opportunity_id IS NOT NULL;

-- "My open activities, overdue first": open activities of one owner by due date, undated last,
-- keyset on (coalesce(due_at, 'infinity'), activity_id). The expression is the sort key itself so
-- the index serves ORDER BY ... LIMIT without a sort. Also the owner FK check.
CREATE INDEX activities_owner_open_idx
    ON public.activities (tenant_id, owner_user_id, (coalesce(due_at, 'infinity'::timestamptz)), activity_id)
    WHERE done_at IS NULL;

-- A record's next follow-up: its earliest open activity with a due date.
CREATE INDEX activities_record_next_idx ON public.activities (tenant_id, record_id, due_at)
    WHERE done_at IS NULL AND due_at IS NOT NULL AND record_id IS NOT NULL;

-- 0004's write checks, extended to the new reference.
DROP POLICY activities_insert ON public.activities;
DROP POLICY activities_update ON public.activities;

CREATE POLICY activities_insert ON public.activities
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (record_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.records r
                                 WHERE r.tenant_id = activities.tenant_id AND r.record_id = activities.record_id))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = activities.tenant_id AND a.account_id = activities.account_id))
                AND (opportunity_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.opportunities o
                                 WHERE o.tenant_id = activities.tenant_id AND o.opportunity_id = activities.opportunity_id)));

CREATE POLICY activities_update ON public.activities
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (record_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.records r
                                 WHERE r.tenant_id = activities.tenant_id AND r.record_id = activities.record_id))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = activities.tenant_id AND a.account_id = activities.account_id))
                AND (opportunity_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.opportunities o
                                 WHERE o.tenant_id = activities.tenant_id AND o.opportunity_id = activities.opportunity_id)));

-- Duplicate probe (SECURITY DEFINER, granted to the app) ---------------------------------------------
-- "Is there a record in my tenant with this normalised e-mail / phone / tax id, and can I see it?"
-- One row per key that matches: (key, visible). No ids, names or zones come out, so a rep learns
-- only that a duplicate exists elsewhere in the company; the service then reads a visible match
-- through the ordinary policies. The tenant and the caller's zones are the caller's own settings
-- (not parameters), so no other tenant can be probed. Like 0006's functions it saves the caller's
-- settings, widens to tenant-wide scope in the same tenant (the owner is bound by FORCE too) and
-- puts them back before returning.
-- Concurrency: a transaction-scoped advisory lock per (tenant, key) serialises two creates of the
-- same key, so the second one sees the first once it commits.
CREATE FUNCTION comarca.record_duplicates(p_email text, p_phone text, p_tax_id text, p_exclude_record_id uuid)
    RETURNS TABLE (key text, visible boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved   text[] := comarca.saved_context();
    v_tenant  uuid := NULLIF(v_saved[1], '')::uuid;
    v_whole   boolean := v_saved[3] = 'tenant';
    v_zones   uuid[] := coalesce(NULLIF(v_saved[4], '')::uuid[], '{}'::uuid[]);
    v_key     text;
    v_value   text;
    v_visible boolean;
BEGIN
    IF v_tenant IS NULL THEN
        RETURN;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['email', 'phone', 'tax_id'] LOOP
        v_value := CASE v_key WHEN 'email' THEN lower(p_email) WHEN 'phone' THEN p_phone ELSE p_tax_id END;
        CONTINUE WHEN v_value IS NULL OR v_value = '';
        PERFORM pg_advisory_xact_lock(hashtextextended(v_tenant::text || E'\n' || v_key || E'\n' || v_value, 0));
        PERFORM comarca.act_in_tenant(v_tenant);
        -- One statement per key, so each uses its own index (tenant_id, key).
        IF v_key = 'email' THEN
            SELECT bool_or(v_whole OR r.zone_id = ANY (v_zones)) INTO v_visible
              FROM public.records r
             WHERE r.tenant_id = v_tenant AND r.email = v_value
               AND r.record_id IS DISTINCT FROM p_exclude_record_id;
        ELSIF v_key = 'phone' THEN
            SELECT bool_or(v_whole OR r.zone_id = ANY (v_zones)) INTO v_visible
              FROM public.records r
             WHERE r.tenant_id = v_tenant AND r.phone = v_value
               AND r.record_id IS DISTINCT FROM p_exclude_record_id;
        ELSE
            SELECT bool_or(v_whole OR r.zone_id = ANY (v_zones)) INTO v_visible
              FROM public.records r
             WHERE r.tenant_id = v_tenant AND r.tax_id = v_value
               AND r.record_id IS DISTINCT FROM p_exclude_record_id;
        END IF;
        PERFORM comarca.restore_context(v_saved);
        IF v_visible IS NOT NULL THEN
            key := v_key;
            visible := v_visible;
            RETURN NEXT;
        END IF;
    END LOOP;
    RETURN;
END
$$;

REVOKE ALL ON FUNCTION comarca.record_duplicates(text, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.record_duplicates(text, text, text, uuid) TO comarca_app;
