-- Generates the benchmark data set: :tenants tenants, each with a head office, :zones rep zones
-- (one user each) and :records records spread over its zones.
-- Run as the owner role: psql -v tenants=100 -v zones=50 -v records=10000 [-v prefix=bench] -f bench/generate.sql
-- Tenants are named PREFIX-1 … PREFIX-N (default prefix: bench).
-- The owner is bound by FORCE ROW LEVEL SECURITY too, so each tenant is written under its own
-- transaction-local settings, exactly as the service would.
\set ON_ERROR_STOP on
SET synchronous_commit = off;

\if :{?prefix}
\else
\set prefix bench
\endif
SELECT set_config('bench.prefix', :'prefix', false),
       set_config('bench.tenants', :'tenants', false),
       set_config('bench.zones', :'zones', false),
       set_config('bench.records', :'records', false);

DO $$
DECLARE
    n_tenants int := current_setting('bench.tenants')::int;
    n_zones   int := current_setting('bench.zones')::int;
    n_records int := current_setting('bench.records')::int;
    prefix    text := current_setting('bench.prefix');
    t int;
    tid uuid;
    hq uuid;
    rep_role uuid;
    admin_role uuid;
BEGIN
    FOR t IN 1..n_tenants LOOP
        tid := md5(prefix || '-tenant-' || t)::uuid;
        PERFORM set_config('comarca.tenant_id', tid::text, true),
                set_config('comarca.scope', 'tenant', true),
                set_config('comarca.zone_ids', '{}', true),
                set_config('comarca.user_id', '', true);
        CONTINUE WHEN EXISTS (SELECT 1 FROM tenants WHERE tenant_id = tid);

        INSERT INTO tenants (tenant_id, slug, name) VALUES (tid, prefix || '-' || t, 'Bench tenant ' || prefix || ' ' || t);
        INSERT INTO roles (tenant_id, key, name, builtin, scope)
        VALUES (tid, 'admin', 'Admin', true, 'tenant') RETURNING role_id INTO admin_role;
        INSERT INTO roles (tenant_id, key, name, builtin, scope)
        VALUES (tid, 'rep', 'Rep', true, 'own_zone') RETURNING role_id INTO rep_role;
        INSERT INTO zones (tenant_id, code, name) VALUES (tid, 'HQ', 'Head office') RETURNING zone_id INTO hq;
        INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
        VALUES (tid, 'admin@' || prefix || '-' || t || '.test', 'Admin', admin_role, hq);

        INSERT INTO zones (tenant_id, zone_id, parent_zone_id, code, name)
        SELECT tid, md5(prefix || '-zone-' || t || '-' || z)::uuid, hq, 'Z' || z, 'Zone ' || z
          FROM generate_series(1, n_zones) AS z;
        INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
        SELECT tid, 'rep' || z || '@' || prefix || '-' || t || '.test', 'Rep ' || z, rep_role, md5(prefix || '-zone-' || t || '-' || z)::uuid
          FROM generate_series(1, n_zones) AS z;

        INSERT INTO records (tenant_id, zone_id, stage, first_name, last_name, email, phone,
                             display_name, source, updated_at, created_at)
        SELECT tid, md5(prefix || '-zone-' || t || '-' || (1 + r % n_zones))::uuid,
               (ARRAY['target','target','potential','contact'])[1 + r % 4],
               'Nombre' || r, 'Apellido' || (r * 7 % 1000),
               'persona' || r || '@' || prefix || '-' || t || '.test',
               '+346' || lpad((r % 100000000)::text, 8, '0'),
               'Nombre' || r || ' Apellido' || (r * 7 % 1000),
               (ARRAY['web','event','outbound','referral'])[1 + r % 4],
               now() - make_interval(secs => r), now() - make_interval(secs => r)
          FROM generate_series(1, n_records) AS r;
        COMMIT;
    END LOOP;
END
$$;

ANALYZE tenants, zones, users, records;
