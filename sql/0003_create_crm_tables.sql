-- 0003: zone-scoped business tables: accounts, records, activities, record_events.
-- The conventions are those of 0002.
--
-- Zone-scoped visibility, identical in every policy below (USING and WITH CHECK alike):
--
--     tenant_id = (SELECT comarca.current_tenant_id())
--     AND ((SELECT comarca.sees_whole_tenant())
--          OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
--
--   * The helpers sit in scalar subqueries, so they are InitPlans evaluated once per
--     statement (see the first policy in 0002).
--   * The zone test is written inline and not hidden in a helper, so the planner sees
--     "zone_id = ANY ($n)" on the column.
--   * The "::uuid[]" is required. "= ANY ((SELECT f()))" parses as "= ANY (subquery)":
--     it compares zone_id with each row of the subquery, and that row is a uuid[], which
--     fails with "operator does not exist: uuid = uuid[]". The cast makes the subquery a
--     scalar array expression (still an InitPlan).
--   * The same expression is the WITH CHECK of INSERT and UPDATE. No row can be written into
--     another tenant or an invisible zone, or moved there by an UPDATE.
--   * App queries still state tenant_id and zone_id themselves, e.g.
--     "WHERE tenant_id = $1 AND zone_id = $2 ORDER BY updated_at DESC, record_id DESC".
--     The policy then only filters, and the ordered index serves the query. With the
--     policy's "zone_id = ANY(array)" alone, PostgreSQL reads and sorts every visible row.
--     With 200k rows that was a parallel seq scan plus top-N sort, 38 ms, against 0.2 ms.
--
-- created_by / actor_user_id default to the acting user (NULL for operator/CLI work). The
-- service may still pass them explicitly.

-- accounts ------------------------------------------------------------------------------------

CREATE TABLE public.accounts (
    tenant_id  uuid        NOT NULL,
    account_id uuid        NOT NULL DEFAULT gen_random_uuid(),
    zone_id    uuid        NOT NULL,
    name       text        NOT NULL,
    tax_id     text        NULL,
    sector     text        NULL,
    size       text        NULL,
    province   text        NULL,
    custom     jsonb       NOT NULL DEFAULT '{}',
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid        NULL DEFAULT comarca.current_actor_id(),
    CONSTRAINT accounts_pkey PRIMARY KEY (tenant_id, account_id),
    CONSTRAINT accounts_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT accounts_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT accounts_custom_object CHECK (jsonb_typeof(custom) = 'object'),
    CONSTRAINT accounts_version_positive CHECK (version > 0)
);

-- One account per tax id per tenant (when known).
CREATE UNIQUE INDEX accounts_tax_id_key ON public.accounts (tenant_id, tax_id)
    WHERE tax_id IS NOT NULL;

-- "Latest accounts in my zone" with keyset pagination on (updated_at, account_id), newest
-- first. Both sort columns are DESC to match ORDER BY updated_at DESC, account_id DESC.
-- Also supports the zone FK.
CREATE INDEX accounts_zone_updated_idx
    ON public.accounts (tenant_id, zone_id, updated_at DESC, account_id DESC);

CREATE TRIGGER accounts_touch_updated_at
    BEFORE UPDATE ON public.accounts
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

CREATE TRIGGER accounts_bump_version
    BEFORE UPDATE ON public.accounts
    FOR EACH ROW EXECUTE FUNCTION comarca.bump_version();

ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.accounts FORCE ROW LEVEL SECURITY;

CREATE POLICY accounts_select ON public.accounts
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY accounts_insert ON public.accounts
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY accounts_update ON public.accounts
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY accounts_delete ON public.accounts
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.accounts TO comarca_app;

-- records -------------------------------------------------------------------------------------
-- A person or company we sell to, through target -> potential -> contact, or disqualified
-- (with a reason, and reopenable). The transition rules live in the service's state
-- machine. The table only keeps the stage value and its reason consistent.

CREATE TABLE public.records (
    tenant_id           uuid        NOT NULL,
    record_id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    zone_id             uuid        NOT NULL,
    owner_user_id       uuid        NULL,
    account_id          uuid        NULL,
    stage               text        NOT NULL DEFAULT 'target',
    disqualified_reason text        NULL,
    first_name          text        NULL,
    last_name           text        NULL,
    company_name        text        NULL,
    email               text        NULL,
    phone               text        NULL,
    tax_id              text        NULL,
    display_name        text        NOT NULL,
    source              text        NULL,
    campaign_id         uuid        NULL,  -- FK added with the campaigns table
    external_id         text        NULL,
    custom              jsonb       NOT NULL DEFAULT '{}',
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    created_by          uuid        NULL DEFAULT comarca.current_actor_id(),
    CONSTRAINT records_pkey PRIMARY KEY (tenant_id, record_id),
    CONSTRAINT records_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT records_owner_fkey FOREIGN KEY (tenant_id, owner_user_id)
        REFERENCES public.users (tenant_id, user_id),
    CONSTRAINT records_account_fkey FOREIGN KEY (tenant_id, account_id)
        REFERENCES public.accounts (tenant_id, account_id),
    CONSTRAINT records_stage_valid
        CHECK (stage IN ('target', 'potential', 'contact', 'disqualified')),
    -- A reason exists exactly when the record is disqualified, and it is not blank.
    CONSTRAINT records_disqualified_reason
        CHECK ((stage = 'disqualified')
               = (disqualified_reason IS NOT NULL AND btrim(disqualified_reason) <> '')),
    CONSTRAINT records_display_name_not_blank CHECK (btrim(display_name) <> ''),
    CONSTRAINT records_custom_object CHECK (jsonb_typeof(custom) = 'object'),
    CONSTRAINT records_version_positive CHECK (version > 0)
);

-- Idempotent imports and integrations: one record per external id per tenant.
CREATE UNIQUE INDEX records_external_id_key ON public.records (tenant_id, external_id)
    WHERE external_id IS NOT NULL;

-- "Latest 50 in my zone" plus keyset pagination on (updated_at, record_id), newest first.
-- Both sort columns are DESC to match ORDER BY updated_at DESC, record_id DESC. With
-- "record_id ASC" the planner would need an Incremental Sort on top, and a row comparison
-- (updated_at, record_id) < ($u, $r) could not become an index condition.
-- Also supports the zone FK.
CREATE INDEX records_zone_updated_idx
    ON public.records (tenant_id, zone_id, updated_at DESC, record_id DESC);

-- Funnel counts by stage.
CREATE INDEX records_stage_idx ON public.records (tenant_id, stage);

-- Duplicate detection and lookup by e-mail, case-insensitive (not enforced unique).
CREATE INDEX records_email_idx ON public.records (tenant_id, lower(email))
    WHERE email IS NOT NULL;

-- The contacts of an account. Also supports the account FK.
CREATE INDEX records_account_idx ON public.records (tenant_id, account_id)
    WHERE account_id IS NOT NULL;

-- (Not in the brief.) "My records", reassignment when a user is deactivated, and the
-- owner FK check.
CREATE INDEX records_owner_idx ON public.records (tenant_id, owner_user_id)
    WHERE owner_user_id IS NOT NULL;

CREATE TRIGGER records_touch_updated_at
    BEFORE UPDATE ON public.records
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

CREATE TRIGGER records_bump_version
    BEFORE UPDATE ON public.records
    FOR EACH ROW EXECUTE FUNCTION comarca.bump_version();

ALTER TABLE public.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.records FORCE ROW LEVEL SECURITY;

CREATE POLICY records_select ON public.records
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY records_insert ON public.records
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

-- USING picks the rows the caller may touch. WITH CHECK stops a change of zone_id
-- (reassignment) to a zone the caller cannot see.
CREATE POLICY records_update ON public.records
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY records_delete ON public.records
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.records TO comarca_app;

-- activities ----------------------------------------------------------------------------------
-- Calls, meetings, e-mails, tasks and notes, attached to a record and/or an account.
-- Foreign keys use the default NO ACTION: deleting a record or account that still has
-- activities fails. The service decides explicitly what happens to them.

CREATE TABLE public.activities (
    tenant_id     uuid        NOT NULL,
    activity_id   uuid        NOT NULL DEFAULT gen_random_uuid(),
    zone_id       uuid        NOT NULL,
    kind          text        NOT NULL,
    subject       text        NOT NULL,
    body          text        NULL,
    record_id     uuid        NULL,
    account_id    uuid        NULL,
    owner_user_id uuid        NULL,
    due_at        timestamptz NULL,
    done_at       timestamptz NULL,
    outcome       text        NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid        NULL DEFAULT comarca.current_actor_id(),
    CONSTRAINT activities_pkey PRIMARY KEY (tenant_id, activity_id),
    CONSTRAINT activities_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT activities_record_fkey FOREIGN KEY (tenant_id, record_id)
        REFERENCES public.records (tenant_id, record_id),
    CONSTRAINT activities_account_fkey FOREIGN KEY (tenant_id, account_id)
        REFERENCES public.accounts (tenant_id, account_id),
    CONSTRAINT activities_owner_fkey FOREIGN KEY (tenant_id, owner_user_id)
        REFERENCES public.users (tenant_id, user_id),
    CONSTRAINT activities_kind_valid
        CHECK (kind IN ('call', 'meeting', 'email', 'task', 'note')),
    CONSTRAINT activities_attached
        CHECK (record_id IS NOT NULL OR account_id IS NOT NULL),
    CONSTRAINT activities_subject_not_blank CHECK (btrim(subject) <> '')
);

-- Open agenda of a zone, by due date.
CREATE INDEX activities_zone_open_idx ON public.activities (tenant_id, zone_id, due_at)
    WHERE done_at IS NULL;

-- A record's timeline. Also supports the record FK.
CREATE INDEX activities_record_idx ON public.activities (tenant_id, record_id)
    WHERE record_id IS NOT NULL;

-- (Not in the brief.) An account's timeline. Also supports the account FK.
CREATE INDEX activities_account_idx ON public.activities (tenant_id, account_id)
    WHERE account_id IS NOT NULL;

CREATE TRIGGER activities_touch_updated_at
    BEFORE UPDATE ON public.activities
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.activities FORCE ROW LEVEL SECURITY;

CREATE POLICY activities_select ON public.activities
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY activities_insert ON public.activities
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY activities_update ON public.activities
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY activities_delete ON public.activities
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.activities TO comarca_app;

-- record_events -------------------------------------------------------------------------------
-- Append-only history of a record: every lifecycle move (from, to, who, when, why). The
-- funnel and conversion reports read it. The app gets only SELECT and INSERT, and only
-- SELECT and INSERT policies exist, so the app cannot UPDATE or DELETE an event.
-- Deleting a record removes its events through the FK cascade. The cascade runs as the
-- table owner and bypasses RLS.
-- zone_id is the record's zone when the event was written. Visibility follows it, so
-- after a record is reassigned its earlier events stay in the old zone (see the report).
-- event_id is an identity column. Its nextval happens inside the INSERT and needs no
-- USAGE grant on the sequence.

CREATE TABLE public.record_events (
    tenant_id     uuid        NOT NULL,
    event_id      bigint      GENERATED ALWAYS AS IDENTITY,
    record_id     uuid        NOT NULL,
    zone_id       uuid        NOT NULL,
    kind          text        NOT NULL DEFAULT 'stage',
    from_stage    text        NULL,
    to_stage      text        NOT NULL,
    reason        text        NULL,
    actor_user_id uuid        NULL DEFAULT comarca.current_actor_id(),
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    detail        jsonb       NOT NULL DEFAULT '{}',
    CONSTRAINT record_events_pkey PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT record_events_record_fkey FOREIGN KEY (tenant_id, record_id)
        REFERENCES public.records (tenant_id, record_id) ON DELETE CASCADE,
    CONSTRAINT record_events_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT record_events_detail_object CHECK (jsonb_typeof(detail) = 'object')
);

-- A record's history in order. Also supports the cascade from records.
CREATE INDEX record_events_record_idx
    ON public.record_events (tenant_id, record_id, occurred_at);

ALTER TABLE public.record_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.record_events FORCE ROW LEVEL SECURITY;

CREATE POLICY record_events_select ON public.record_events
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY record_events_insert ON public.record_events
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT ON TABLE public.record_events TO comarca_app;
