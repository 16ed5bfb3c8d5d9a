-- The operational database of a condominium manager: the source change data capture reads (issue 14).
--
-- Applied by postgres-setup on every `up`, as the database's owner (role `condo`), with search_path set
-- to `[cdc] schema_name`: every statement is idempotent (IF NOT EXISTS), so a rerun changes nothing.
-- Every table keeps REPLICA IDENTITY DEFAULT (its primary key): an UPDATE that leaves a TOASTed value
-- (transactions.description beyond ~2 kB) alone sends it as "unchanged" in the change event, which
-- the lake's merge must keep. Money is numeric (Debezium sends it as a string); times are timestamptz.

CREATE TABLE IF NOT EXISTS condominiums (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL,
    address      text        NOT NULL,
    city         text        NOT NULL,
    postal_code  text,
    built_year   integer     CHECK (built_year BETWEEN 1800 AND 2100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS properties (
    id              bigserial PRIMARY KEY,
    condominium_id  bigint        NOT NULL REFERENCES condominiums (id),
    unit_code       text          NOT NULL,
    floor           integer,
    area_m2         numeric(8, 2) NOT NULL CHECK (area_m2 > 0),
    bedrooms        integer       NOT NULL DEFAULT 0 CHECK (bedrooms >= 0),
    status          text          NOT NULL DEFAULT 'vacant'
                    CHECK (status IN ('occupied', 'vacant', 'renovation', 'for_sale')),
    monthly_fee     numeric(10, 2) NOT NULL CHECK (monthly_fee >= 0),
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (condominium_id, unit_code)
);

CREATE TABLE IF NOT EXISTS residents (
    id           bigserial PRIMARY KEY,
    property_id  bigint      NOT NULL REFERENCES properties (id),
    full_name    text        NOT NULL,
    email        text,
    phone        text,
    moved_in     date        NOT NULL,
    is_owner     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS residents_property_id_idx ON residents (property_id);

-- The ledger: fees charged, repairs paid, fines... property_id NULL: the whole building's;
-- resident_id NULL: nobody in particular (or a resident who has moved out since).
CREATE TABLE IF NOT EXISTS transactions (
    id              bigserial PRIMARY KEY,
    condominium_id  bigint         NOT NULL REFERENCES condominiums (id),
    property_id     bigint         REFERENCES properties (id),
    resident_id     bigint         REFERENCES residents (id) ON DELETE SET NULL,
    kind            text           NOT NULL
                    CHECK (kind IN ('fee', 'utility', 'repair', 'fine', 'deposit', 'refund')),
    amount          numeric(12, 2) NOT NULL,
    status          text           NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'posted', 'reversed')),
    happened_at     timestamptz    NOT NULL DEFAULT now(),
    description     text,
    created_at      timestamptz    NOT NULL DEFAULT now(),
    updated_at      timestamptz    NOT NULL DEFAULT now()
);
-- Few indexes: each one slows bulk loads (10 million rows for the snapshot benchmark) further.
CREATE INDEX IF NOT EXISTS transactions_condominium_happened_idx
    ON transactions (condominium_id, happened_at);
CREATE INDEX IF NOT EXISTS transactions_resident_id_idx ON transactions (resident_id);  -- move-outs

-- Written by Debezium's heartbeat.action.query (as the replication role) so the replication slot
-- advances even when the captured tables are idle; published with them.
CREATE TABLE IF NOT EXISTS dataplat_heartbeat (
    id  integer     PRIMARY KEY,
    ts  timestamptz NOT NULL
);

-- Debezium's signal table (source channel): `dataplat cdc snapshot TABLE` inserts an
-- execute-snapshot signal here; the connector writes its incremental-snapshot windows here too.
CREATE TABLE IF NOT EXISTS dataplat_signal (
    id    varchar(64) PRIMARY KEY,
    type  varchar(32) NOT NULL,
    data  text
);
