-- 0019: an import may write the search tokens of the records it creates itself, on a second
-- connection while its next batch is written.
--
-- Tokenising is 60% of inserting a record (≈9 token rows in two btrees each). An import writes
-- its batches one after the other on one connection, so PostgreSQL used one core of two while the
-- client waited. A transaction that sets comarca.defer_search_tokens = 'on' inserts records
-- without tokens; the importer then writes them with comarca.record_search_words from the
-- committed records (the same words the trigger computes), in its own transaction, under the same
-- row-level security. A crash between the two leaves committed records without tokens: the
-- import's resume writes the tokens of every record it created that has none before it goes on.
--
-- The setting only ever removes work the caller would have had done for its own rows: records
-- without tokens are not found by search, nothing else. Updates and deletes are unchanged.
CREATE OR REPLACE FUNCTION comarca.records_tokenise_inserted() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF current_setting('comarca.defer_search_tokens', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.record_search_tokens (tenant_id, token, record_id, zone_id)
    SELECT n.tenant_id, w.word, n.record_id, n.zone_id
      FROM new_rows n
     CROSS JOIN LATERAL comarca.record_search_words(
           n.display_name, n.first_name, n.last_name, n.company_name, n.email, n.phone, n.tax_id) AS w(word);
    RETURN NULL;
END
$$;
