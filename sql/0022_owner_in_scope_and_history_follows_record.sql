-- 0022: owners stay inside scope; a record's history follows it to its new zone.
--
-- Owners. The write policies checked a row's zone but not its owner, so a rep could create a
-- record (or update an activity) owned by a user of a zone they cannot see, and a manager could
-- hand a record to a rep outside their subtree. The owner of a zone-scoped row must now be
--   * an active user of the tenant,
--   * whom the writer may assign to: a user whose zone the writer sees (tenant scope: anyone),
--   * who can see the row: the row's zone is their own zone, or (zone_subtree) below it, or they
--     have tenant scope.
-- The rule is one function, comarca.owner_fits. A trigger applies it to records, activities and
-- opportunities whenever an owner is set or a row changes zone. Only then: a row whose owner was
-- later deactivated or moved stays editable until someone reassigns it. The service calls the same
-- function first, to answer with a field error instead of a failed statement.
--
-- History. record_events kept the zone the record had when each event was written, so after a
-- reassignment the old zone's rep still read the record's past and the new owner did not. Events
-- may now change zone, and nothing else: a column grant on zone_id, and an UPDATE policy whose
-- check holds only when the event's zone is its record's current zone. Events remain append-only
-- in content.

-- The owner rule ------------------------------------------------------------------------------
-- Runs as the caller (not SECURITY DEFINER): users, roles and zones are readable tenant-wide, and
-- "whom the writer may assign to" is the caller's own scope. A user of another tenant is invisible
-- here, so a foreign id fails exactly like a random one. The walk up the tree is bounded by depth
-- in case a cycle ever got past zones_reject_cycle.
CREATE FUNCTION comarca.owner_fits(p_owner uuid, p_zone uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN EXISTS (
        SELECT 1
          FROM public.users u
          JOIN public.roles ro ON ro.tenant_id = u.tenant_id AND ro.role_id = u.role_id
         WHERE u.tenant_id = comarca.current_tenant_id()
           AND u.user_id = p_owner
           AND u.deactivated_at IS NULL
           AND (comarca.sees_whole_tenant() OR u.zone_id = ANY (comarca.visible_zone_ids()))
           AND (ro.scope = 'tenant'
                OR u.zone_id = p_zone
                OR (ro.scope = 'zone_subtree'
                    AND u.zone_id IN (
                        WITH RECURSIVE up (zone_id, parent_zone_id, depth) AS (
                            SELECT z.zone_id, z.parent_zone_id, 0
                              FROM public.zones z
                             WHERE z.tenant_id = comarca.current_tenant_id() AND z.zone_id = p_zone
                            UNION ALL
                            SELECT z.zone_id, z.parent_zone_id, up.depth + 1
                              FROM public.zones z
                              JOIN up ON z.zone_id = up.parent_zone_id
                             WHERE z.tenant_id = comarca.current_tenant_id() AND up.depth < 64
                        )
                        SELECT up.zone_id FROM up))));

COMMENT ON FUNCTION comarca.owner_fits(uuid, uuid) IS
    'true when p_owner is an active user the caller may assign to and who can see a row of zone p_zone.';

REVOKE ALL ON FUNCTION comarca.owner_fits(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.owner_fits(uuid, uuid) TO comarca_app;

-- SQLSTATE 23514 with constraint <table>_owner_in_scope, so callers map it like a CHECK.
CREATE FUNCTION comarca.require_owner_in_scope() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.owner_user_id IS NOT NULL
       AND (TG_OP = 'INSERT'
            OR NEW.owner_user_id IS DISTINCT FROM OLD.owner_user_id
            OR NEW.zone_id IS DISTINCT FROM OLD.zone_id)
       AND NOT comarca.owner_fits(NEW.owner_user_id, NEW.zone_id) THEN
        RAISE EXCEPTION USING
            ERRCODE    = 'check_violation',
            CONSTRAINT = TG_TABLE_NAME || '_owner_in_scope',
            SCHEMA     = TG_TABLE_SCHEMA,
            TABLE      = TG_TABLE_NAME,
            MESSAGE    = 'the owner is not an active user who may be given this row';
    END IF;
    RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION comarca.require_owner_in_scope() FROM PUBLIC;

CREATE TRIGGER records_owner_in_scope
    BEFORE INSERT OR UPDATE OF owner_user_id, zone_id ON public.records
    FOR EACH ROW EXECUTE FUNCTION comarca.require_owner_in_scope();

CREATE TRIGGER activities_owner_in_scope
    BEFORE INSERT OR UPDATE OF owner_user_id, zone_id ON public.activities
    FOR EACH ROW EXECUTE FUNCTION comarca.require_owner_in_scope();

CREATE TRIGGER opportunities_owner_in_scope
    BEFORE INSERT OR UPDATE OF owner_user_id, zone_id ON public.opportunities
    FOR EACH ROW EXECUTE FUNCTION comarca.require_owner_in_scope();

-- Events follow their record ----------------------------------------------------------------------
GRANT UPDATE (zone_id) ON TABLE public.record_events TO comarca_app;

-- USING: events the caller sees. WITH CHECK: the new zone is the record's zone now (read under the
-- records policy, so the caller must see the record in its new zone too).
CREATE POLICY record_events_follow_record ON public.record_events
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[]))
                AND EXISTS (SELECT 1 FROM public.records r
                             WHERE r.tenant_id = record_events.tenant_id
                               AND r.record_id = record_events.record_id
                               AND r.zone_id = record_events.zone_id));
