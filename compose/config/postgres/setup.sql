-- Rendered by dataplat.compose_render from the platform settings: re-render, do not edit.
-- postgres-setup, every `up` (a rerun changes nothing but the passwords): condo,
-- the database change data capture reads, readied as dataplat.setup.postgres does natively. Run
-- by psql as the superuser; passwords come from the environment, never from this file, and this
-- session's statements stay out of the server's log.
\set ON_ERROR_STOP on
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv owner_password POSTGRES_CONDO_PASSWORD
\if :{?owner_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'postgres-setup: POSTGRES_CONDO_PASSWORD is not set'; END $$;
\endif
\getenv replicator_password POSTGRES_CDC_REPLICATOR_PASSWORD
\if :{?replicator_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'postgres-setup: POSTGRES_CDC_REPLICATOR_PASSWORD is not set'; END $$;
\endif

-- the database and its owner role (same name)
SELECT 'CREATE ROLE "condo"' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'condo') \gexec
ALTER ROLE "condo" LOGIN PASSWORD :'owner_password';
SELECT 'CREATE DATABASE "condo" OWNER "condo" ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'condo') \gexec
REVOKE ALL ON DATABASE "condo" FROM PUBLIC;

-- the replication role Debezium logs in as
SELECT 'CREATE ROLE "cdc_replicator"' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cdc_replicator') \gexec
ALTER ROLE "cdc_replicator" LOGIN REPLICATION PASSWORD :'replicator_password';

-- in the database, in one transaction, as its owner
\connect 'condo'
BEGIN;
SET LOCAL ROLE "condo";
CREATE SCHEMA IF NOT EXISTS "public";
SET LOCAL search_path TO "public";
\i '/opt/dataplat/pipelines/condo/schema.sql'
CREATE TABLE IF NOT EXISTS "public"."dataplat_heartbeat" (id integer PRIMARY KEY, ts timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS "public"."dataplat_signal" (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text);
-- every published table exists and has a primary key (change events are keyed by it)
DO $$
DECLARE
  missing text;
  keyless text;
BEGIN
  SELECT string_agg(t, ', ' ORDER BY t) INTO missing
    FROM unnest(ARRAY['condominiums', 'residents', 'properties', 'transactions', 'dataplat_heartbeat', 'dataplat_signal']::text[]) AS t
   WHERE NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = t);
  SELECT string_agg(c.relname::text, ', ' ORDER BY c.relname) INTO keyless
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     AND c.relname = ANY(ARRAY['condominiums', 'residents', 'properties', 'transactions', 'dataplat_heartbeat', 'dataplat_signal']::text[])
     AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary);
  IF missing IS NOT NULL OR keyless IS NOT NULL THEN
    RAISE EXCEPTION 'change data capture in condo, schema public: %',
      concat_ws('; ', 'no such tables: ' || missing, 'tables without a primary key: ' || keyless)
      USING HINT = 'create them with a primary key, or remove them from [cdc] tables';
  END IF;
END
$$;
GRANT CONNECT ON DATABASE "condo" TO "cdc_replicator";
GRANT USAGE ON SCHEMA "public" TO "cdc_replicator";
GRANT SELECT ON TABLE "public"."condominiums", "public"."residents", "public"."properties", "public"."transactions", "public"."dataplat_heartbeat", "public"."dataplat_signal" TO "cdc_replicator";
GRANT INSERT, UPDATE ON TABLE "public"."dataplat_heartbeat" TO "cdc_replicator";
GRANT INSERT ON TABLE "public"."dataplat_signal" TO "cdc_replicator";
-- the publication of exactly these tables: created, or its table list set when it differs
WITH present AS (
  SELECT coalesce(array_agg(schemaname || '.' || tablename), '{}'::text[]) AS tables
    FROM pg_publication_tables WHERE pubname = 'dataplat_condo'
), wanted AS (SELECT ARRAY['public.condominiums', 'public.residents', 'public.properties', 'public.transactions', 'public.dataplat_heartbeat', 'public.dataplat_signal']::text[] AS tables)
SELECT CASE
  WHEN NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'dataplat_condo')
  THEN 'CREATE PUBLICATION "dataplat_condo" FOR TABLE "public"."condominiums", "public"."residents", "public"."properties", "public"."transactions", "public"."dataplat_heartbeat", "public"."dataplat_signal"'
  WHEN NOT (present.tables @> wanted.tables AND wanted.tables @> present.tables)
  THEN 'ALTER PUBLICATION "dataplat_condo" SET TABLE "public"."condominiums", "public"."residents", "public"."properties", "public"."transactions", "public"."dataplat_heartbeat", "public"."dataplat_signal"'
  END
FROM present, wanted \gexec
COMMIT;
\echo 'postgres-setup: condo ready (captured: condominiums, residents, properties, transactions; publication dataplat_condo; replication role cdc_replicator)'
