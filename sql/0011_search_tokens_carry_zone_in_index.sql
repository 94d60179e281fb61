-- 0011: a rep's search reads the token index without touching the table.
--
-- The zone policy on record_search_tokens needs zone_id. With zone_id only in the heap, a prefix
-- that matches many tokens in the tenant (a common surname) fetches every matching heap row just
-- to throw away the other zones' ones. Carrying zone_id in the primary key's index (INCLUDE, so
-- uniqueness is unchanged) lets PostgreSQL check the policy on index entries (index-only scan).
ALTER TABLE public.record_search_tokens
    DROP CONSTRAINT record_search_tokens_pkey,
    ADD CONSTRAINT record_search_tokens_pkey PRIMARY KEY (tenant_id, token, record_id) INCLUDE (zone_id);
