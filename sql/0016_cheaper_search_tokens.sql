-- 0016: search tokens that bulk writes can afford.
--
-- Measured on 20k imported records (≈10 tokens each): the insert spent 17 s in the tokenise
-- trigger — 4.5 s computing words (comarca.fold ran three times per e-mail, each part of the
-- word list was its own sub-select) and 5.4 s in the two foreign-key checks of each token row
-- (400k RI lookups), the rest in the two btrees. Imports write a million records at a time.
--
-- 1. The same words, computed in one pass: the e-mail folded once, the phone's digits once, one
--    array unnested. The set of words is identical (checked against the 0009 function on names
--    with accents, ñ/ç, punctuation, empty and NULL values before this migration was written).
CREATE OR REPLACE FUNCTION comarca.record_search_words(
    display_name text, first_name text, last_name text, company_name text,
    email text, phone text, tax_id text
) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT DISTINCT word
      FROM (SELECT comarca.fold(email) AS e, regexp_replace(phone, '[^0-9]', '', 'g') AS p) k,
           unnest(regexp_split_to_array(comarca.fold(concat_ws(' ', display_name, first_name, last_name, company_name)), '[^a-z0-9]+')
                  || ARRAY[k.e, split_part(k.e, '@', 1), split_part(k.e, '@', 2), k.p, right(k.p, 9), lower(tax_id)]) AS word
     WHERE word IS NOT NULL AND length(word) >= 2
$$;

-- 2. Tokens are derived rows, written only by the records triggers, which copy the record's own
--    tenant, id and zone (the record's foreign keys already check those). The constraints on the
--    token table re-checked, per token, what the trigger had just read from the record. They go;
--    the cascade that removed a deleted record's tokens becomes a statement-level trigger, so a
--    bulk delete (undoing an import) stays one statement.
ALTER TABLE public.record_search_tokens
    DROP CONSTRAINT record_search_tokens_record_fkey,
    DROP CONSTRAINT record_search_tokens_zone_fkey;

CREATE FUNCTION comarca.records_untokenise_deleted() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    -- Runs as the deleting user under the tokens' policies: whoever could delete the record sees
    -- its zone, and so its tokens.
    DELETE FROM public.record_search_tokens t
     USING old_rows o
     WHERE t.tenant_id = o.tenant_id AND t.record_id = o.record_id;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION comarca.records_untokenise_deleted() FROM PUBLIC;

CREATE TRIGGER records_untokenise_deleted
    AFTER DELETE ON public.records
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comarca.records_untokenise_deleted();
