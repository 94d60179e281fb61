-- 0015: zone assignment rules (postal-code prefix / province / default → zone), and which rule
-- placed each record.
--
-- One set of rules per tenant, written by `comarca tenant apply` from the `assignment:` section
-- of the tenant file, and read by online record creation and by the importer
-- (ZoneAssignment.load → ZoneAssignmentRules.assign). The longest postal prefix that matches
-- wins, then a province rule (by the province a postal code implies, or a province value), then
-- the default.

-- zone_assignment_rules -------------------------------------------------------------------------
-- Configuration, like zones: the whole tenant reads it (any user's record creation applies the
-- rules), only tenant-wide scope writes it (the same write policies as zones).
--   * One row per rule; (kind, value) is the rule: 'postal_prefix' with 1-5 digits, 'province'
--     with the two-digit INE code '01'..'52', 'default' with ''. So a prefix or a province cannot
--     have two rules, and there is at most one default.
--   * The value checks repeat the parser's: a prefix must be able to match a postal code
--     (01-52 are the first two digits), so a prefix that lost its leading zero ('8') is refused.
--   * position: the order `export` writes the rules in. It does not change which rule wins.
--   * A zone used by a rule cannot be deleted (zone FK); tenant apply reports it with the rules.

CREATE TABLE public.zone_assignment_rules (
    tenant_id  uuid        NOT NULL,
    kind       text        NOT NULL,
    value      text        NOT NULL DEFAULT '',
    zone_id    uuid        NOT NULL,
    position   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT zone_assignment_rules_pkey PRIMARY KEY (tenant_id, kind, value),
    CONSTRAINT zone_assignment_rules_zone_fkey FOREIGN KEY (tenant_id, zone_id)
        REFERENCES public.zones (tenant_id, zone_id),
    CONSTRAINT zone_assignment_rules_kind_valid
        CHECK (kind IN ('postal_prefix', 'province', 'default')),
    CONSTRAINT zone_assignment_rules_value_valid
        CHECK ((kind = 'postal_prefix' AND value ~ '^([0-5]|(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{0,3})$')
               OR (kind = 'province' AND value ~ '^(0[1-9]|[1-4][0-9]|5[0-2])$')
               OR (kind = 'default' AND value = '')),
    CONSTRAINT zone_assignment_rules_position_valid CHECK (position >= 0)
);

-- The zone FK check when a zone is deleted, and "which rules use this zone".
CREATE INDEX zone_assignment_rules_zone_idx ON public.zone_assignment_rules (tenant_id, zone_id);

ALTER TABLE public.zone_assignment_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.zone_assignment_rules FORCE ROW LEVEL SECURITY;

CREATE POLICY zone_assignment_rules_select ON public.zone_assignment_rules
    FOR SELECT
    USING (tenant_id = (SELECT comarca.current_tenant_id()));

CREATE POLICY zone_assignment_rules_insert ON public.zone_assignment_rules
    FOR INSERT
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY zone_assignment_rules_update ON public.zone_assignment_rules
    FOR UPDATE
    USING      (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()))
    WITH CHECK (tenant_id = (SELECT comarca.current_tenant_id())
                AND (SELECT comarca.sees_whole_tenant()));

CREATE POLICY zone_assignment_rules_delete ON public.zone_assignment_rules
    FOR DELETE
    USING (tenant_id = (SELECT comarca.current_tenant_id())
           AND (SELECT comarca.sees_whole_tenant()));

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.zone_assignment_rules TO comarca_app;

-- records.zone_rule -----------------------------------------------------------------------------
-- Which rule placed the record in its zone when it was created:
--   'explicit'            the caller named the zone (and may write there)
--   'zone_column'         an import's zone column
--   'owner'               an import's owner column: the zone of that user
--   'postal_prefix:08'    a postal-prefix rule (the prefix)
--   'province:17'         a province rule (the INE code)
--   'default'             the tenant's default zone
--   'creator'             no rule applied, or the caller cannot write where it pointed: the
--                         creator's own zone
-- NULL for records created before this migration. A later reassignment keeps the value (it says
-- how the record was first placed; the events say where it went since).
--
-- The CHECK is added NOT VALID: every existing row is NULL (the column is new), so validating
-- would only scan the whole table under the migration's lock to confirm that. New and updated
-- rows are checked.

ALTER TABLE public.records ADD COLUMN zone_rule text NULL;

ALTER TABLE public.records ADD CONSTRAINT records_zone_rule_valid
    CHECK (zone_rule ~ '^(explicit|zone_column|owner|default|creator|postal_prefix:[0-9]{1,5}|province:(0[1-9]|[1-4][0-9]|5[0-2]))$')
    NOT VALID;
