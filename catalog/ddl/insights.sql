-- The batch pipeline's tables (Spark SQL; the jobs in spark_apps/insights_*.py run these
-- statements themselves with IF NOT EXISTS, this file is for review). Both are Parquet, partitioned
-- by the day they describe; each run replaces exactly one partition (INSERT OVERWRITE ... PARTITION).
-- Trino reads them as hive.trusted.insights / hive.trusted.grouped_insights (quote "date" if you like).

CREATE DATABASE IF NOT EXISTS trusted LOCATION '/lake/trusted/trusted.db';

CREATE TABLE IF NOT EXISTS trusted.insights (
    event_id   STRING,    -- <yyyymmdd>-<seed>-<index>, unique per day
    username   STRING,
    page       STRING,
    event_name STRING,    -- click, view, form submission, scroll, add to cart, purchase, login, logout
    event_time TIMESTAMP, -- UTC, inside the partition's day
    date       DATE
) USING parquet PARTITIONED BY (date);

CREATE TABLE IF NOT EXISTS trusted.grouped_insights (
    event_name STRING,
    events     BIGINT,    -- number of insights rows of that event_name on that day
    date       DATE
) USING parquet PARTITIONED BY (date);
