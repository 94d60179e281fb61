-- 0004: a row may only point at rows its writer can see.
--
-- Foreign-key checks run without RLS, and the 0003 write checks looked only at the row's own
-- tenant and zone. So a rep could attach an activity or event in their zone to another zone's
-- record, or link their record to another zone's account, and could tell an invisible id from a
-- missing one (23503 for the missing one only). Each write check now also requires every
-- referenced record/account to be visible. The EXISTS subqueries run under the referenced
-- table's own SELECT policy, so "visible" means exactly what a SELECT would show; an invisible
-- and a non-existent id now fail alike, with 42501, before the foreign key is consulted.
-- No recursion: accounts' policies reference nothing, records' reference accounts only.

-- records.account_id -> accounts ----------------------------------------------------------------
DROP POLICY records_insert ON public.records;
DROP POLICY records_update ON public.records;

CREATE POLICY records_insert ON public.records
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = records.tenant_id AND a.account_id = records.account_id)));

CREATE POLICY records_update ON public.records
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND (account_id IS NULL
                     OR EXISTS (SELECT 1 FROM public.accounts a
                                 WHERE a.tenant_id = records.tenant_id AND a.account_id = records.account_id)));

-- activities.record_id -> records, activities.account_id -> accounts -------------------------
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
                                 WHERE a.tenant_id = activities.tenant_id AND a.account_id = activities.account_id)));

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
                                 WHERE a.tenant_id = activities.tenant_id AND a.account_id = activities.account_id)));

-- record_events.record_id -> records (append-only: insert is the only write) ----------------------
DROP POLICY record_events_insert ON public.record_events;

CREATE POLICY record_events_insert ON public.record_events
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND EXISTS (SELECT 1 FROM public.records r
                             WHERE r.tenant_id = record_events.tenant_id AND r.record_id = record_events.record_id));
