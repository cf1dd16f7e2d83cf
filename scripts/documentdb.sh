#!/usr/bin/env bash
# Runs a throw-away DocumentDB engine (../shared/engines/documentdb) for the suite and the benchmarks.
#
# usage: scripts/documentdb.sh start [PORT]   installs the engine if missing, starts it, prints the URI
#        scripts/documentdb.sh stop  [PORT]   stops it (its data stays in the folder below)
#        scripts/documentdb.sh uri   [PORT]   prints the URI of a running engine
#
# PORT defaults to 27100 (this project uses 27100-27199; one engine per port). Data lives in
# /tmp/gavel-ddb/<PORT>, a folder the `postgres` user can reach, as the engine requires. The
# settings are the test settings of ../shared/GUIDE.md: DDB_FAST=1 (no fsync: fast, not crash-safe)
# and the two 0.106 flags the engine's README recommends (composite index op classes, order-by
# pushdown), set before any index is created since `defaultUseCompositeOpClass` is read then. On
# this build they do not give in-order index reads (that needs the optional extended RUM access
# method); search's sort windows cover that (src/catalog/sortWindows.ts). The URI asks the driver
# to open one connection at a time (`maxConnecting=1`): the 0.106 gateway re-binds its listener
# after each accepted connection and resets connections opened meanwhile. Set GAVEL_DDB_DIR to use
# another engine folder.
#
# The engine's PostgreSQL listens on DDB_PG_PORT, by default PORT+4000 (27100 -> 31100): below the
# kernel's ephemeral range (32768-60999 on Linux), which the engine's own default (PORT+28332) falls
# in, so that an outgoing connection holding that port cannot make the start fail with "Address
# already in use".
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
engine_dir="${GAVEL_DDB_DIR:-$here/../shared/engines/documentdb}"
action="${1:-}"
port="${2:-27100}"
data="/tmp/gavel-ddb/$port"
pg_port="${DDB_PG_PORT:-$((port + 4000))}"
uri="mongodb://docdb:docdb@127.0.0.1:$port/?authMechanism=SCRAM-SHA-256&tls=false&maxConnecting=1"

[ -d "$engine_dir" ] || { echo "documentdb.sh: no engine folder at $engine_dir (set GAVEL_DDB_DIR)" >&2; exit 1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

case "$action" in
  start)
    if [ ! -x /usr/local/lib/documentdb/documentdb_gateway ]; then
      echo "documentdb.sh: installing the engine (Debian packages + prebuilt extensions)" >&2
      sudo_if_needed bash "$engine_dir/install.sh" >&2
    fi
    # The postgres user must be able to traverse every parent folder of the data folder.
    mkdir -p "$data"
    chmod 755 /tmp/gavel-ddb "$data"
    DDB_FAST=1 DDB_PG_PORT="$pg_port" \
      DDB_PG_CONF='documentdb.defaultUseCompositeOpClass=on;documentdb.enableIndexOrderbyPushdown=on' \
      bash "$engine_dir/start.sh" "$data" "$port" >&2
    echo "$uri"
    ;;
  stop)
    bash "$engine_dir/stop.sh" "$data" >&2
    ;;
  uri)
    echo "$uri"
    ;;
  *)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
