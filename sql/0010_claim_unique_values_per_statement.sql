-- 0010: unique-value claims maintained per statement, not per row.
--
-- 0007 kept record_unique_values with a FOR EACH ROW trigger: a plpgsql call, a to_jsonb and a
-- query on field_specs for every row written, even in tenants without a single unique field. Bulk
-- writes (imports: a million rows in one INSERT ... SELECT) pay that a million times. These
-- statement-level triggers do the same work set-based from the transition tables, and do nothing
-- beyond one cheap EXISTS when the tenant has no unique field. Same rules as 0007: the caller's
-- rights (RLS applies), built-in fields read the column, custom fields read custom -> key, values
-- compared lower-cased, empty values claim nothing.

DROP TRIGGER records_claim_unique_values ON public.records;
DROP TRIGGER accounts_claim_unique_values ON public.accounts;
DROP FUNCTION comarca.claim_unique_values();

-- The claims a set of rows makes: one per (row, unique field) with a non-empty value.
-- p_rows: to_jsonb of each row; TG_ARGV-free so one function serves both tables.
CREATE FUNCTION comarca.unique_claims(p_entity text, p_id_column text, p_rows jsonb[])
RETURNS TABLE (tenant_id uuid, entity text, field_key text, value text, row_id uuid, zone_id uuid)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (r ->> 'tenant_id')::uuid, p_entity, s.key, v.value, (r ->> p_id_column)::uuid, (r ->> 'zone_id')::uuid
      FROM unnest(p_rows) AS r
      JOIN public.field_specs s
        ON s.tenant_id = (r ->> 'tenant_id')::uuid AND s.entity = p_entity AND s.is_unique AND NOT s.archived
     CROSS JOIN LATERAL (
            SELECT lower(CASE WHEN s.builtin THEN r -> s.key ELSE r -> 'custom' -> s.key END #>> '{}') AS value) v
     WHERE v.value IS NOT NULL AND v.value <> ''
$$;

CREATE FUNCTION comarca.claim_unique_values_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entity text := TG_ARGV[0];
    v_id_column text := TG_ARGV[1];
BEGIN
    -- Nothing to claim in tenants without unique fields (the common case): one index probe.
    IF NOT EXISTS (SELECT 1 FROM public.field_specs s
                    WHERE s.tenant_id IN (SELECT (to_jsonb(n) ->> 'tenant_id')::uuid FROM new_rows n)
                      AND s.entity = v_entity AND s.is_unique AND NOT s.archived) THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.record_unique_values (tenant_id, entity, field_key, value, row_id, zone_id)
    SELECT c.* FROM comarca.unique_claims(v_entity, v_id_column, (SELECT array_agg(to_jsonb(n)) FROM new_rows n)) c;
    RETURN NULL;
END
$$;

CREATE FUNCTION comarca.claim_unique_values_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entity text := TG_ARGV[0];
    v_id_column text := TG_ARGV[1];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.field_specs s
                    WHERE s.tenant_id IN (SELECT (to_jsonb(n) ->> 'tenant_id')::uuid FROM new_rows n)
                      AND s.entity = v_entity AND s.is_unique AND NOT s.archived) THEN
        RETURN NULL;
    END IF;
    DELETE FROM public.record_unique_values u
     USING old_rows o
     WHERE u.tenant_id = (to_jsonb(o) ->> 'tenant_id')::uuid AND u.entity = v_entity
       AND u.row_id = (to_jsonb(o) ->> v_id_column)::uuid;
    INSERT INTO public.record_unique_values (tenant_id, entity, field_key, value, row_id, zone_id)
    SELECT c.* FROM comarca.unique_claims(v_entity, v_id_column, (SELECT array_agg(to_jsonb(n)) FROM new_rows n)) c;
    RETURN NULL;
END
$$;

CREATE FUNCTION comarca.claim_unique_values_deleted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entity text := TG_ARGV[0];
    v_id_column text := TG_ARGV[1];
BEGIN
    DELETE FROM public.record_unique_values u
     USING old_rows o
     WHERE u.tenant_id = (to_jsonb(o) ->> 'tenant_id')::uuid AND u.entity = v_entity
       AND u.row_id = (to_jsonb(o) ->> v_id_column)::uuid;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION comarca.unique_claims(text, text, jsonb[]), comarca.claim_unique_values_inserted(),
    comarca.claim_unique_values_updated(), comarca.claim_unique_values_deleted() FROM PUBLIC;
-- The trigger functions call this one with the writer's rights.
GRANT EXECUTE ON FUNCTION comarca.unique_claims(text, text, jsonb[]) TO comarca_app;

CREATE TRIGGER records_claim_unique_values_inserted AFTER INSERT ON public.records
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_inserted('records', 'record_id');
CREATE TRIGGER records_claim_unique_values_updated AFTER UPDATE ON public.records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_updated('records', 'record_id');
CREATE TRIGGER records_claim_unique_values_deleted AFTER DELETE ON public.records
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_deleted('records', 'record_id');

CREATE TRIGGER accounts_claim_unique_values_inserted AFTER INSERT ON public.accounts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_inserted('accounts', 'account_id');
CREATE TRIGGER accounts_claim_unique_values_updated AFTER UPDATE ON public.accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_updated('accounts', 'account_id');
CREATE TRIGGER accounts_claim_unique_values_deleted AFTER DELETE ON public.accounts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.claim_unique_values_deleted('accounts', 'account_id');
