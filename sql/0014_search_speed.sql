-- 0014: search tokens keyed by zone, so that a search reads only the caller's part of a big tenant.
--
-- A search now counts first how many tokens each word matches in the caller's scope, capped,
-- then picks its strategy (RecordQuery / SearchPlan). With the key (tenant_id, token, record_id)
-- a zone rep's count and id scan read every matching token of the tenant and dropped the other
-- zones' ones: a word 1M records of the tenant share cost a rep of one 20k-record zone 300 ms to
-- count. Keyed (tenant_id, zone_id, token, record_id), a rep or manager reads the ranges of their
-- zones only, and the admin one range per zone of the tenant (zone_id = ANY(all its zones):
-- one more descent per zone, well under a millisecond for 50 zones).
--
-- A record's tokens all carry the record's zone (the tokenise triggers move them along on a
-- reassignment), so the key is as unique as before; zone_id moves from INCLUDE into the key and
-- the policy is still checked on index entries (index-only). This replaces the key instead of
-- adding a third index on a table of ~7 tokens per record that every record write maintains.
-- Rebuilding it takes about half a minute for 14M tokens (2M records) and locks the table meanwhile.
ALTER TABLE public.record_search_tokens
    DROP CONSTRAINT record_search_tokens_pkey,
    ADD CONSTRAINT record_search_tokens_pkey PRIMARY KEY (tenant_id, zone_id, token, record_id);
