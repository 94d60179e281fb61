-- 0017: an import started with an API token whose role is narrower than its user's keeps that
-- role when a restarted service resumes it. Before, the resumed job ran with the user's own
-- role: more than the token that asked for it was allowed.

ALTER TABLE public.import_jobs
    ADD COLUMN role_override uuid NULL,
    ADD CONSTRAINT import_jobs_role_override_fkey FOREIGN KEY (tenant_id, role_override)
        REFERENCES public.roles (tenant_id, role_id);

-- The resume list now says which role to run each job with (NULL: the user's own).
DROP FUNCTION comarca.import_jobs_to_resume();

CREATE FUNCTION comarca.import_jobs_to_resume()
    RETURNS TABLE (tenant_id uuid, job_id uuid, created_by uuid, role_override uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved  text[] := comarca.saved_context();
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT t.tenant_id FROM public.tenants t LOOP
        PERFORM comarca.act_in_tenant(v_tenant);
        RETURN QUERY SELECT j.tenant_id, j.job_id, j.created_by, j.role_override FROM public.import_jobs j
                      WHERE j.tenant_id = v_tenant AND j.status IN ('queued', 'running') AND NOT j.cancel_requested
                      ORDER BY j.created_at;
    END LOOP;
    PERFORM comarca.restore_context(v_saved);
END
$$;

REVOKE ALL ON FUNCTION comarca.import_jobs_to_resume() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.import_jobs_to_resume() TO comarca_app;
