-- 0013: spreadsheet imports as jobs: what was asked, what each source row became, the errors
-- found, the before-images that make undo possible, and saved named mappings.
--
-- An import reads the file, stages the rows in a temporary table (COPY; RLS forbids COPY into
-- records), decides every row set-based under the importer's settings, then writes records in
-- batches, each batch in one transaction together with its import_rows and the job's progress.
-- A crashed or killed import resumes from the file: rows that already have an import_rows entry
-- are done and are not written again, so nothing is duplicated or lost.
--
-- Jobs, rows and errors belong to the importer's zone and follow the records' zone policies, so
-- a rep never reads another zone's import (its error file quotes raw cell values).

CREATE TABLE public.import_jobs (
    tenant_id        uuid        NOT NULL,
    job_id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    entity           text        NOT NULL,
    status           text        NOT NULL DEFAULT 'queued',
    dry_run          boolean     NOT NULL DEFAULT false,
    mode             text        NOT NULL DEFAULT 'create',
    match_key        text        NULL,
    all_or_nothing   boolean     NOT NULL DEFAULT false,
    file_name        text        NOT NULL,
    file_kind        text        NOT NULL,
    file_sha256      text        NOT NULL,
    file_bytes       bigint      NOT NULL,
    -- Where the worker reads the file again to resume (CLI path or the service's upload spool).
    source_path      text        NULL,
    sheet            text        NULL,
    -- Mapping, locale, defaults, constants: what is needed to run the job again identically.
    options          jsonb       NOT NULL DEFAULT '{}',
    created_by       uuid        NOT NULL,
    zone_id          uuid        NOT NULL,
    rows_total       integer     NULL,
    rows_done        integer     NOT NULL DEFAULT 0,
    created_count    integer     NOT NULL DEFAULT 0,
    updated_count    integer     NOT NULL DEFAULT 0,
    skipped_count    integer     NOT NULL DEFAULT 0,
    rejected_count   integer     NOT NULL DEFAULT 0,
    warnings         jsonb       NOT NULL DEFAULT '[]',
    -- Per sheet index: the header cells as in the file (the rejected-rows file repeats them).
    headers          jsonb       NOT NULL DEFAULT '{}',
    cancel_requested boolean     NOT NULL DEFAULT false,
    failure          text        NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz NULL,
    finished_at      timestamptz NULL,
    heartbeat_at     timestamptz NULL,
    CONSTRAINT import_jobs_pkey PRIMARY KEY (tenant_id, job_id),
    CONSTRAINT import_jobs_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT import_jobs_creator_fkey FOREIGN KEY (tenant_id, created_by)
        REFERENCES public.users (tenant_id, user_id),
    CONSTRAINT import_jobs_entity_valid
        CHECK (entity IN ('records', 'contacts', 'accounts', 'activities', 'workbook')),
    CONSTRAINT import_jobs_status_valid
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'undone')),
    CONSTRAINT import_jobs_mode_valid CHECK (mode IN ('create', 'update', 'upsert')),
    CONSTRAINT import_jobs_match_valid
        CHECK (match_key IS NULL OR match_key IN ('external_id', 'tax_id', 'email', 'name')),
    -- Updates need something to match on.
    CONSTRAINT import_jobs_match_needed CHECK (mode = 'create' OR match_key IS NOT NULL),
    CONSTRAINT import_jobs_counts_non_negative
        CHECK (rows_done >= 0 AND created_count >= 0 AND updated_count >= 0
               AND skipped_count >= 0 AND rejected_count >= 0),
    CONSTRAINT import_jobs_options_object CHECK (jsonb_typeof(options) = 'object'),
    CONSTRAINT import_jobs_warnings_array CHECK (jsonb_typeof(warnings) = 'array'),
    CONSTRAINT import_jobs_headers_object CHECK (jsonb_typeof(headers) = 'object')
);

-- One real import per tenant and entity at a time (dry runs write nothing and may overlap).
-- A workbook job touches every entity, so it conflicts with all of them through the check in
-- ImportService (one advisory lock per tenant); this index is the last line.
CREATE UNIQUE INDEX import_jobs_one_active_key ON public.import_jobs (tenant_id, entity)
    WHERE status IN ('queued', 'running') AND NOT dry_run;

-- "Recent imports" and "was this file imported before?".
CREATE INDEX import_jobs_recent_idx ON public.import_jobs (tenant_id, created_at DESC, job_id);
CREATE INDEX import_jobs_file_idx ON public.import_jobs (tenant_id, file_sha256);

ALTER TABLE public.import_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.import_jobs FORCE ROW LEVEL SECURITY;

CREATE POLICY import_jobs_select ON public.import_jobs
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY import_jobs_insert ON public.import_jobs
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY import_jobs_update ON public.import_jobs
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE ON TABLE public.import_jobs TO comarca_app;

-- import_rows ------------------------------------------------------------------------------------
-- One row per source row that was decided: created / updated / skipped / rejected, with the
-- record it became, the zone rule that placed it, the before-image of an update (undo) and, for
-- a rejected row, its cells in the original layout (the rejected-rows file).

CREATE TABLE public.import_rows (
    tenant_id      uuid     NOT NULL,
    job_id         uuid     NOT NULL,
    sheet_index    smallint NOT NULL DEFAULT 0,
    row_number     integer  NOT NULL,
    -- The importer's zone (the job's): the policies below match the job's.
    job_zone_id    uuid     NOT NULL,
    entity         text     NOT NULL,
    action         text     NOT NULL,
    target_id      uuid     NULL,
    zone_id        uuid     NULL,
    zone_rule      text     NULL,
    before         jsonb    NULL,
    raw            text[]   NULL,
    CONSTRAINT import_rows_pkey PRIMARY KEY (tenant_id, job_id, sheet_index, row_number),
    CONSTRAINT import_rows_job_fkey FOREIGN KEY (tenant_id, job_id)
        REFERENCES public.import_jobs (tenant_id, job_id) ON DELETE CASCADE,
    CONSTRAINT import_rows_action_valid CHECK (action IN ('created', 'updated', 'skipped', 'rejected')),
    CONSTRAINT import_rows_entity_valid CHECK (entity IN ('records', 'accounts', 'activities')),
    -- Written rows name what they wrote; an update keeps what it overwrote.
    CONSTRAINT import_rows_target_present CHECK ((action IN ('created', 'updated')) <= (target_id IS NOT NULL)),
    CONSTRAINT import_rows_before_present CHECK ((action = 'updated') = (before IS NOT NULL))
);

-- Undo and "which rows of this job became what", by action.
CREATE INDEX import_rows_action_idx ON public.import_rows (tenant_id, job_id, action);

ALTER TABLE public.import_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.import_rows FORCE ROW LEVEL SECURITY;

CREATE POLICY import_rows_select ON public.import_rows
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY import_rows_insert ON public.import_rows
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY import_rows_update ON public.import_rows
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE ON TABLE public.import_rows TO comarca_app;

-- import_errors ----------------------------------------------------------------------------------
-- Row, column, raw value, stable code, message. row_number is NULL for file-level findings
-- (missing required column, unknown header); severity 'warning' keeps the row.

CREATE TABLE public.import_errors (
    tenant_id   uuid     NOT NULL,
    job_id      uuid     NOT NULL,
    error_no    integer  NOT NULL,
    job_zone_id uuid     NOT NULL,
    sheet_index smallint NOT NULL DEFAULT 0,
    row_number  integer  NULL,
    column_name text     NULL,
    raw_value   text     NULL,
    code        text     NOT NULL,
    message     text     NOT NULL,
    severity    text     NOT NULL DEFAULT 'error',
    -- error_no: row_number * 100 + position within the row; file-level findings are negative.
    CONSTRAINT import_errors_pkey PRIMARY KEY (tenant_id, job_id, sheet_index, error_no),
    CONSTRAINT import_errors_job_fkey FOREIGN KEY (tenant_id, job_id)
        REFERENCES public.import_jobs (tenant_id, job_id) ON DELETE CASCADE,
    CONSTRAINT import_errors_severity_valid CHECK (severity IN ('error', 'warning'))
);

ALTER TABLE public.import_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.import_errors FORCE ROW LEVEL SECURITY;

CREATE POLICY import_errors_select ON public.import_errors
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY import_errors_insert ON public.import_errors
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

-- A resumed job re-validates the file and writes its findings again.
CREATE POLICY import_errors_delete ON public.import_errors
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR job_zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, DELETE ON TABLE public.import_errors TO comarca_app;

-- import_mappings --------------------------------------------------------------------------------
-- Saved named mappings per tenant: columns → fields, locale, defaults, constants, match key.

CREATE TABLE public.import_mappings (
    tenant_id  uuid        NOT NULL,
    name       text        NOT NULL,
    entity     text        NOT NULL,
    definition jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid        NULL DEFAULT comarca.current_actor_id(),
    CONSTRAINT import_mappings_pkey PRIMARY KEY (tenant_id, name),
    CONSTRAINT import_mappings_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (tenant_id) ON DELETE CASCADE,
    CONSTRAINT import_mappings_name_valid CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$'),
    CONSTRAINT import_mappings_definition_object CHECK (jsonb_typeof(definition) = 'object')
);

ALTER TABLE public.import_mappings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.import_mappings FORCE ROW LEVEL SECURITY;

-- Tenant configuration: readable by the tenant; who may write is checked in ComarcaCore (import).
CREATE POLICY import_mappings_select ON public.import_mappings
    FOR SELECT USING (tenant_id = (SELECT comarca.current_tenant_id()));
CREATE POLICY import_mappings_insert ON public.import_mappings
    FOR INSERT WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id()));
CREATE POLICY import_mappings_update ON public.import_mappings
    FOR UPDATE USING (tenant_id = (SELECT comarca.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id()));
CREATE POLICY import_mappings_delete ON public.import_mappings
    FOR DELETE USING (tenant_id = (SELECT comarca.current_tenant_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.import_mappings TO comarca_app;

-- Records created elsewhere in the company ------------------------------------------------------
-- The set-based twin of comarca.record_duplicates for imports: of the given values of one key,
-- those that some record of the tenant holds in a zone the caller cannot see. It says only
-- "exists elsewhere", the same as the online dedupe message, never which record or zone.
CREATE FUNCTION comarca.record_keys_elsewhere(p_key text, p_values text[])
    RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved  text[] := comarca.saved_context();
    v_tenant uuid := NULLIF(v_saved[1], '')::uuid;
    v_whole  boolean := v_saved[3] = 'tenant';
    v_zones  uuid[] := coalesce(NULLIF(v_saved[4], '')::uuid[], '{}'::uuid[]);
BEGIN
    -- Fail closed without a tenant; a tenant-wide caller sees every record, so nothing is elsewhere.
    IF v_tenant IS NULL OR v_whole OR p_key NOT IN ('email', 'phone', 'tax_id', 'external_id') THEN
        RETURN;
    END IF;
    PERFORM comarca.act_in_tenant(v_tenant);
    -- One statement per key, so each uses its own (tenant_id, key) index.
    IF p_key = 'email' THEN
        RETURN QUERY SELECT DISTINCT r.email FROM public.records r
          WHERE r.tenant_id = v_tenant AND r.email = ANY (p_values) AND NOT (r.zone_id = ANY (v_zones));
    ELSIF p_key = 'phone' THEN
        RETURN QUERY SELECT DISTINCT r.phone FROM public.records r
          WHERE r.tenant_id = v_tenant AND r.phone = ANY (p_values) AND NOT (r.zone_id = ANY (v_zones));
    ELSIF p_key = 'tax_id' THEN
        RETURN QUERY SELECT DISTINCT r.tax_id FROM public.records r
          WHERE r.tenant_id = v_tenant AND r.tax_id = ANY (p_values) AND NOT (r.zone_id = ANY (v_zones));
    ELSE
        RETURN QUERY SELECT DISTINCT r.external_id FROM public.records r
          WHERE r.tenant_id = v_tenant AND r.external_id = ANY (p_values) AND NOT (r.zone_id = ANY (v_zones));
    END IF;
    PERFORM comarca.restore_context(v_saved);
END
$$;

REVOKE ALL ON FUNCTION comarca.record_keys_elsewhere(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.record_keys_elsewhere(text, text[]) TO comarca_app;

-- Jobs a restarted service should pick up again: queued or running, in every tenant. Only ids
-- leave this function; the service then loads the importer's own session to run each job, so
-- the work itself stays under RLS. The owner is bound by FORCE RLS too, so each tenant is read
-- under its own settings.
CREATE FUNCTION comarca.import_jobs_to_resume()
    RETURNS TABLE (tenant_id uuid, job_id uuid, created_by uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved  text[] := comarca.saved_context();
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT t.tenant_id FROM public.tenants t LOOP
        PERFORM comarca.act_in_tenant(v_tenant);
        RETURN QUERY SELECT j.tenant_id, j.job_id, j.created_by FROM public.import_jobs j
                      WHERE j.tenant_id = v_tenant AND j.status IN ('queued', 'running') AND NOT j.cancel_requested
                      ORDER BY j.created_at;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
END
$$;

REVOKE ALL ON FUNCTION comarca.import_jobs_to_resume() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.import_jobs_to_resume() TO comarca_app;
