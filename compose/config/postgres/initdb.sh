#!/bin/sh
# Rendered by dataplat.compose_render from the platform settings: re-render, do not edit.
set -eu
if [ -f /dataplat/data/postgres/PG_VERSION ]; then
  echo "postgres-init: /dataplat/data/postgres already holds a cluster"
  exit 0
fi
printf '%s\n' "$POSTGRES_PASSWORD" | /usr/lib/postgresql/15/bin/initdb --pgdata=/dataplat/data/postgres --username=postgres --pwfile=/dev/stdin --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --data-checksums --no-instructions
