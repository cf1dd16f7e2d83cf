#!/usr/bin/env bash
# Fetches the jars of Gavel's offline MongoDB engine (mongo-java-server, see engine/java/pom.xml)
# into engine/java/lib/. Idempotent: a stamp file holding the pom's sha256 marks a complete fetch,
# so reruns (npm postinstall) return at once.
#
# Default mode never fails `npm install`: a missing java/mvn or a failed fetch prints a warning and
# exits 0, because machines with a real mongod do not need this engine. `--strict` (CI) exits 1.
set -uo pipefail

strict=0
for arg in "$@"; do
  case "$arg" in
    --strict) strict=1 ;;
    -h | --help)
      echo "usage: bash scripts/fetch-engine-jars.sh [--strict]"
      exit 0
      ;;
    *)
      echo "fetch-engine-jars: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine_dir="$root/engine/java"
pom="$engine_dir/pom.xml"
lib="$engine_dir/lib"
stamp="$lib/.complete"

# Warns loudly; fails only in strict mode.
give_up() {
  {
    echo ""
    echo "!!! fetch-engine-jars: $1"
    echo "!!! The offline MongoDB engine (mongo-java-server) is unavailable until this is fixed;"
    echo "!!! then run: bash scripts/fetch-engine-jars.sh"
    echo ""
  } >&2
  if [ "$strict" -eq 1 ]; then exit 1; fi
  exit 0
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1 # macOS
  fi
}

[ -f "$pom" ] || give_up "missing $pom"
want="$(sha256_of "$pom")"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

java_bin=java
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java_bin="$JAVA_HOME/bin/java"; fi
command -v "$java_bin" >/dev/null 2>&1 || give_up "java not found (install a JDK 17+ or set JAVA_HOME)"
command -v mvn >/dev/null 2>&1 || give_up "mvn not found (install Apache Maven 3.6+)"

echo "fetch-engine-jars: downloading mongo-java-server jars into engine/java/lib/ (once) ..." >&2
started=$SECONDS

# Into a temp dir first, then swapped in: an interrupted fetch never looks complete, and jars of an
# older pom do not linger beside the new ones.
tmp="$engine_dir/.lib.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT

# Debian's Maven prints stray ANSI resets even in batch mode; strip them from the output.
mvn -q -B -Dstyle.color=never -f "$pom" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
  give_up "mvn dependency:copy-dependencies failed (is Maven Central reachable? see output above)"
fi
if ! ls "$tmp"/mongo-java-server-core-*.jar >/dev/null 2>&1; then
  give_up "mvn succeeded but mongo-java-server-core is not among the fetched jars"
fi

echo "$want" >"$tmp/.complete"
rm -rf "$lib"
mv "$tmp" "$lib"
echo "fetch-engine-jars: done in $((SECONDS - started)) s ($(ls "$lib"/*.jar | wc -l | tr -d ' ') jars)" >&2
