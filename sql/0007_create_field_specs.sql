-- 0007: field specs (per tenant and entity: built-in field settings and custom fields) and the
-- claims that make a field's values unique within a tenant.

-- field_specs ---------------------------------------------------------------------------------
-- Tenant configuration, like zones: the whole tenant reads it (every path validates values with
-- it), only tenant-wide scope writes it. One row per field the tenant has configured: a custom
-- field, or the settings of a built-in field (label, required, required from stage, unique,
-- options, aliases…). Built-in fields without a row use their defaults from code.
--   * `definition` holds the whole spec as JSON (type, labels, options, default, help, aliases,
--     required, required_from_stage, currency); the service reads and writes it as one value.
--   * `is_unique` and `archived` are copied out of it because the unique-value trigger below and
--     the indexes need them as columns.
--   * Removing a field archives it: the row stays, and so do the values in records.custom.

CREATE TABLE public.field_specs (
    tenant_id  uuid        NOT NULL,
    entity     text        NOT NULL,
    key        text        NOT NULL,
    position   integer     NOT NULL DEFAULT 0,
    builtin    boolean     NOT NULL DEFAULT false,
    is_unique  boolean     NOT NULL DEFAULT false,
    archived   boolean     NOT NULL DEFAULT false,
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT field_specs_pkey PRIMARY KEY (tenant_id, entity, key),
    CONSTRAINT field_specs_tenant_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (tenant_id),
    CONSTRAINT field_specs_entity_valid
        CHECK (entity IN ('records', 'accounts', 'activities', 'opportunities')),
    CONSTRAINT field_specs_key_format CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT field_specs_definition_object CHECK (jsonb_typeof(definition) = 'object')
);

CREATE TRIGGER field_specs_touch_updated_at
    BEFORE UPDATE ON public.field_specs
    FOR EACH ROW EXECUTE FUNCTION comarca.touch_updated_at();

ALTER TABLE public.field_specs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.field_specs FORCE ROW LEVEL SECURITY;

CREATE POLICY field_specs_select ON public.field_specs
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY field_specs_insert ON public.field_specs
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY field_specs_update ON public.field_specs
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY field_specs_delete ON public.field_specs
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.field_specs TO comarca_app;

-- record_unique_values ------------------------------------------------------------------------
-- "Unique within the tenant" for a field, built-in or custom, of records or accounts.
--
-- Why a claims table and not one expression index per unique field (ON records (tenant_id,
-- (custom ->> 'vat'))): creating an index at run time puts a field key into DDL text (keys come
-- from tenant files), takes a lock on the whole records table of every tenant, and gives one
-- index per tenant per field on a shared table. A claims table is ordinary DML under RLS, bound
-- values only, and one UNIQUE index serves every tenant and field.
--
-- How it is kept: an AFTER trigger on records and accounts (below) replaces the row's claims on
-- every insert and update (so every path, HTTP, CLI and import, is covered and a change of zone
-- moves the claims with the row) and removes them on delete. Values are compared lower-cased.
-- A second row claiming the same value fails with SQLSTATE 23505 on
-- record_unique_values_value_key; the service maps it to a conflict naming the field only.
--
-- RLS: a claim belongs to the zone of its row, with the same policies as records. A rep cannot
-- read another zone's claims (no values leak), but the UNIQUE check bypasses RLS, so a duplicate
-- in another zone is still refused: the caller learns only that the value exists elsewhere in
-- the company, which is what the dedupe rule of issue 4 says.

CREATE TABLE public.record_unique_values (
    tenant_id  uuid NOT NULL,
    entity     text NOT NULL,
    field_key  text NOT NULL,
    value      text NOT NULL,
    row_id     uuid NOT NULL,
    zone_id    uuid NOT NULL,
    CONSTRAINT record_unique_values_pkey PRIMARY KEY (tenant_id, entity, row_id, field_key),
    CONSTRAINT record_unique_values_value_key UNIQUE (tenant_id, entity, field_key, value),
    CONSTRAINT record_unique_values_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT record_unique_values_entity_valid CHECK (entity IN ('records', 'accounts'))
);

-- The zone FK check when a zone is deleted.
CREATE INDEX record_unique_values_zone_idx ON public.record_unique_values (tenant_id, zone_id);

ALTER TABLE public.record_unique_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.record_unique_values FORCE ROW LEVEL SECURITY;

CREATE POLICY record_unique_values_select ON public.record_unique_values
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY record_unique_values_insert ON public.record_unique_values
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY record_unique_values_update ON public.record_unique_values
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND ((SELECT comarca.sees_whole_tenant())
                     OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

CREATE POLICY record_unique_values_delete ON public.record_unique_values
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND ((SELECT comarca.sees_whole_tenant())
                OR zone_id = ANY ((SELECT comarca.visible_zone_ids())::uuid[])));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.record_unique_values TO comarca_app;

-- The trigger runs with the caller's rights (not SECURITY DEFINER), so RLS applies to what it
-- reads and writes. TG_ARGV[0] is the entity, TG_ARGV[1] the row's id column: both are constants
-- of the CREATE TRIGGER statements below. Field keys are only ever used as jsonb keys.
-- A built-in field reads the column of that name; a custom field reads custom -> key.
CREATE FUNCTION comarca.claim_unique_values() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_entity text := TG_ARGV[0];
    v_row    jsonb;
    v_id     uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := to_jsonb(OLD);
        DELETE FROM public.record_unique_values u
         WHERE u.tenant_id = OLD.tenant_id AND u.entity = v_entity
           AND u.row_id = (v_row ->> TG_ARGV[1])::uuid;
        RETURN NULL;
    END IF;

    v_row := to_jsonb(NEW);
    v_id := (v_row ->> TG_ARGV[1])::uuid;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM public.record_unique_values u
         WHERE u.tenant_id = NEW.tenant_id AND u.entity = v_entity AND u.row_id = v_id;
    END IF;
    INSERT INTO public.record_unique_values (tenant_id, entity, field_key, value, row_id, zone_id)
    SELECT NEW.tenant_id, v_entity, s.key, v.value, v_id, (v_row ->> 'zone_id')::uuid
      FROM public.field_specs s
     CROSS JOIN LATERAL (
            SELECT lower(CASE WHEN s.builtin THEN v_row -> s.key
                              ELSE v_row -> 'custom' -> s.key END #>> '{}') AS value) v
     WHERE s.tenant_id = NEW.tenant_id AND s.entity = v_entity
       AND s.is_unique AND NOT s.archived
       AND v.value IS NOT NULL AND v.value <> '';
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION comarca.claim_unique_values() FROM PUBLIC;

CREATE TRIGGER records_claim_unique_values
    AFTER INSERT OR UPDATE OR DELETE ON public.records
    FOR EACH ROW EXECUTE FUNCTION comarca.claim_unique_values('records', 'record_id');

CREATE TRIGGER accounts_claim_unique_values
    AFTER INSERT OR UPDATE OR DELETE ON public.accounts
    FOR EACH ROW EXECUTE FUNCTION comarca.claim_unique_values('accounts', 'account_id');
