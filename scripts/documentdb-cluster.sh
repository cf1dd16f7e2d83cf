#!/usr/bin/env bash
# Runs a throw-away sharded DocumentDB cluster (../shared/engines/documentdb-distributed: Citus, one
# coordinator with the MongoDB gateway, WORKERS worker nodes, all on loopback) for the suite and
# the benchmarks, with the test settings of scripts/documentdb.sh.
#
# usage: scripts/documentdb-cluster.sh start [PORT] [WORKERS]   installs the engine if missing, starts it, prints the URI
#        scripts/documentdb-cluster.sh stop  [PORT]             stops it (its data stays in the folder below)
#        scripts/documentdb-cluster.sh add-worker [PORT]        adds a worker and rebalances the shards online
#        scripts/documentdb-cluster.sh uri   [PORT]             prints the URI of a running cluster
#
# PORT defaults to 27200 (this project uses 27200-27299 for clusters; give two clusters ports 10
# apart: each takes PostgreSQL ports DDB_PG_PORT .. DDB_PG_PORT+WORKERS, one more per added worker).
# DDB_PG_PORT defaults to PORT+4100 (27200 -> 31300): below the kernel's ephemeral range
# (32768-60999 on Linux), which the engine's own default (PORT+28800) falls in, so that an outgoing
# connection holding one of those ports cannot make a node's start fail with "Address already in use".
# WORKERS defaults to 2 and is fixed at the first start. Data lives in /tmp/gavel-ddbd/<PORT>, a
# folder the `postgres` user can reach. Gavel shards its collections there with MONGODB_SHARDING=on
# (docs/scaling.md). Set GAVEL_DDBD_DIR to use another engine folder.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
engine_dir="${GAVEL_DDBD_DIR:-$here/../shared/engines/documentdb-distributed}"
action="${1:-}"
port="${2:-27200}"
workers="${3:-2}"
data="/tmp/gavel-ddbd/$port"
# The nodes know each other by port (Citus keeps them in its metadata), so a cluster keeps the
# ports it was created with: recorded in $data/pg-port; a cluster created before that file
# existed used the engine's default.
if [ -z "${DDB_PG_PORT:-}" ] && [ -f "$data/pg-port" ]; then
  pg_port="$(cat "$data/pg-port")"
elif [ -z "${DDB_PG_PORT:-}" ] && [ -e "$data/coord/PG_VERSION" ]; then
  pg_port=$((port + 28800))
else
  pg_port="${DDB_PG_PORT:-$((port + 4100))}"
fi
uri="mongodb://docdb:docdb@127.0.0.1:$port/?authMechanism=SCRAM-SHA-256&tls=false&maxConnecting=1"

[ -d "$engine_dir" ] || { echo "documentdb-cluster.sh: no engine folder at $engine_dir (set GAVEL_DDBD_DIR)" >&2; exit 1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
settings() {
  export DDB_FAST=1
  export DDB_PG_PORT="$pg_port"
  export DDB_PG_CONF='documentdb.defaultUseCompositeOpClass=on;documentdb.enableIndexOrderbyPushdown=on'
}

case "$action" in
  start)
    if [ ! -x /usr/local/lib/documentdb-distributed/documentdb_gateway ] || [ ! -f /usr/lib/postgresql/15/lib/citus.so ]; then
      echo "documentdb-cluster.sh: installing the engine (Debian packages + prebuilt extensions)" >&2
      sudo_if_needed bash "$engine_dir/install.sh" >&2
    fi
    # The postgres user must be able to traverse every parent folder of the data folder.
    mkdir -p "$data"
    chmod 755 /tmp/gavel-ddbd "$data"
    echo "$pg_port" > "$data/pg-port"
    settings
    sudo_if_needed env DDB_FAST="$DDB_FAST" DDB_PG_PORT="$DDB_PG_PORT" DDB_PG_CONF="$DDB_PG_CONF" bash "$engine_dir/start-cluster.sh" "$data" "$port" "$workers" >&2
    echo "$uri"
    ;;
  stop)
    sudo_if_needed bash "$engine_dir/stop-cluster.sh" "$data" >&2
    ;;
  add-worker)
    settings
    sudo_if_needed env DDB_FAST="$DDB_FAST" DDB_PG_PORT="$DDB_PG_PORT" DDB_PG_CONF="$DDB_PG_CONF" bash "$engine_dir/add-worker.sh" "$data" "$port" >&2
    ;;
  uri)
    echo "$uri"
    ;;
  *)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
