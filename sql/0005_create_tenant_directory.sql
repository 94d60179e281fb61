-- 0005: find a tenant by its slug before anyone is signed in.
--
-- Login names a tenant by slug, and the operator's CLI names tenants by slug; both happen before
-- any tenant setting exists, so the tenants policies (which need comarca.tenant_id) show nothing.
-- The owner role gets a read-only view of the tenants directory (slug, name, status: no business
-- data lives in this table), and the application role reaches it only through one SECURITY
-- DEFINER function that returns an id for an exact, active slug.

-- Only the owner (the role running this migration): not the application role, which stays bound
-- by tenants_select. Read-only: writes still need the tenant settings.
CREATE POLICY tenants_owner_directory ON public.tenants
    AS PERMISSIVE
    FOR SELECT
    TO CURRENT_USER
    USING (true);

-- Returns NULL for an unknown or suspended slug; never raises, so callers cannot tell which.
CREATE FUNCTION comarca.tenant_id_for_slug(p_slug text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tenant_id FROM public.tenants t WHERE t.slug = p_slug AND t.status = 'active'
$$;

REVOKE ALL ON FUNCTION comarca.tenant_id_for_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION comarca.tenant_id_for_slug(text) TO comarca_app;
