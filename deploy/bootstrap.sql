-- Comarca: roles and database, idempotent. Run as a PostgreSQL superuser, e.g.
--   psql -X -v ON_ERROR_STOP=1 [-v dbname=comarca] -d <superuser URL, database postgres> -f deploy/bootstrap.sql
-- deploy/dev runs it on every start; running it again changes nothing that is already right.
--
-- Two roles, because the database is the security boundary (Row-Level Security):
--   comarca_owner  owns the schema and every table; migrations and admin tooling connect as it.
--                  A table owner is exempt from RLS unless the table is FORCEd, so the app must
--                  never connect as the owner.
--   comarca_app    the HTTP service connects as it; it owns nothing, so every policy applies.
-- Neither gets a password here: the private dev cluster trusts its (mode 0700) Unix socket.
-- On a shared server set passwords yourself (ALTER ROLE ... PASSWORD ...) or use client certs.

\set ON_ERROR_STOP on
\if :{?dbname}
\else
  \set dbname comarca
\endif

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'comarca_owner') THEN
    CREATE ROLE comarca_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'comarca_app') THEN
    CREATE ROLE comarca_app LOGIN;
  END IF;
END
$$;

-- Attributes are re-asserted on every run, so a role someone widened by hand is put back.
ALTER ROLE comarca_owner
  LOGIN          -- migrations and `comarca demo load` connect as it
  NOSUPERUSER    -- a superuser ignores RLS even on FORCEd tables, and could do anything else
  NOBYPASSRLS    -- FORCE ROW LEVEL SECURITY then applies to the owner too
  NOCREATEROLE   -- roles are created here, by a superuser, not by the application's tooling
  CREATEDB       -- the test suites create (and drop) one database per suite
  NOREPLICATION; -- no use for streaming replication

ALTER ROLE comarca_app
  LOGIN          -- the HTTP service (`comarca serve`) connects as it
  NOSUPERUSER    -- superusers bypass RLS
  NOBYPASSRLS    -- the whole point: every query the app runs is filtered by the policies
  NOCREATEROLE   -- the app cannot mint itself a more powerful role
  NOCREATEDB     -- the app has no business creating databases
  NOINHERIT      -- should it ever be granted a role, it does not silently gain that role's rights
  NOREPLICATION; -- no use for streaming replication

-- The app role must not be able to SET ROLE to the owner (that would escape RLS as table owner).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_auth_members m
             JOIN pg_roles r ON r.oid = m.roleid
             JOIN pg_roles u ON u.oid = m.member
             WHERE r.rolname = 'comarca_owner' AND u.rolname = 'comarca_app') THEN
    REVOKE comarca_owner FROM comarca_app;
  END IF;
END
$$;

-- CREATE DATABASE cannot run inside a DO block (nor any transaction), so the statement is built
-- by a query that returns no row when the database exists, and \gexec runs what it returns.
SELECT format('CREATE DATABASE %I OWNER comarca_owner ENCODING %L TEMPLATE template0',
              :'dbname', 'UTF8')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname')
\gexec

-- The owner of the database may create schemas in it and is pg_database_owner.
ALTER DATABASE :"dbname" OWNER TO comarca_owner;

\connect :dbname

-- The owner role owns the public schema, where the migrations create every table.
ALTER SCHEMA public OWNER TO comarca_owner;
-- Nobody else may create objects in it (PostgreSQL 15 already defaults to this; older servers do
-- not): the app role in particular must not own any table, or RLS would not apply to it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
