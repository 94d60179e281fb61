-- 0024: the owner check answers only for rows the other guards would let through.
--
-- 0022's trigger ran before row-level security's WITH CHECK and before the foreign key, so a
-- row moved into a zone the writer cannot see, or an owner id that is no user of the tenant, was
-- refused as <table>_owner_in_scope instead of by the guard that owns that rule. The statement
-- failed either way, but the isolation suite holds each guard to its own refusal: a zone the
-- writer cannot see is a row-security violation, an id outside the tenant is a foreign-key
-- violation, identical for another tenant's user and for a random id. The trigger now steps aside
-- in those two cases and lets RLS and the foreign key refuse; everything it checked before, it
-- still checks. FORCE ROW LEVEL SECURITY on all three tables means no writer skips those guards.
CREATE OR REPLACE FUNCTION comarca.require_owner_in_scope() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.owner_user_id IS NULL
       OR (TG_OP = 'UPDATE'
           AND NEW.owner_user_id IS NOT DISTINCT FROM OLD.owner_user_id
           AND NEW.zone_id IS NOT DISTINCT FROM OLD.zone_id) THEN
        RETURN NEW;
    END IF;
    -- Left to WITH CHECK: a row of another tenant, or in a zone the writer cannot see.
    IF NEW.tenant_id IS DISTINCT FROM comarca.current_tenant_id()
       OR NOT (comarca.sees_whole_tenant() OR NEW.zone_id = ANY (comarca.visible_zone_ids())) THEN
        RETURN NEW;
    END IF;
    -- Left to the foreign key: an owner id that is no user of this tenant.
    IF NOT EXISTS (SELECT 1 FROM public.users u
                    WHERE u.tenant_id = NEW.tenant_id AND u.user_id = NEW.owner_user_id) THEN
        RETURN NEW;
    END IF;
    IF NOT comarca.owner_fits(NEW.owner_user_id, NEW.zone_id) THEN
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
