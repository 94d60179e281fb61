-- 0021: statistics refreshed when an import has written many rows.
--
-- The planner judges a tenant by the statistics of the last ANALYZE. Right after a big import
-- into a new tenant they still say the tenant has no records, and a probe by key can be planned
-- as a walk over every record of the tenant (seen: a batch of 20k search tokens took 17–34 s
-- instead of 2 until autovacuum caught up). PostgreSQL's advice after a bulk load is ANALYZE; the
-- service's role does not own the tables, so this function does it for the tables an import
-- writes. Statistics carry no rows to the service: pg_stats hides the values of tables whose
-- row-level security applies to the reader.
CREATE FUNCTION comarca.analyze_after_bulk_write() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    ANALYZE public.records, public.record_search_tokens, public.record_events, public.accounts,
            public.activities, public.import_rows;
END
$$;

REVOKE ALL ON FUNCTION comarca.analyze_after_bulk_write() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.analyze_after_bulk_write() TO comarca_app;
