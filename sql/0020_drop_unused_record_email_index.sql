-- 0020: records_email_idx (tenant_id, lower(email)) from 0003 goes.
--
-- Since 0008 the service stores e-mails normalised (lower case) and compares the column itself,
-- through records_email_key_idx (tenant_id, email); 0008 explains why lower(email) could not serve
-- queries under RLS (lower() is not leakproof, so it ran as a filter after the policy). No
-- statement of the service reads it, yet every record written paid for it: one of eleven indexes
-- maintained on each insert and on each update of an e-mail (imports write a million at a time).
DROP INDEX public.records_email_idx;
