#!/usr/bin/env bash
# Fetches the npm packages the tests read (server/web/testdata/npm-packages.txt:
# name, version, integrity) as tarballs into the cache the tests look in,
# ${XDG_CACHE_HOME:-$HOME/.cache}/twofold/npm/NAME-VERSION.tgz, and checks
# each against its pinned sha512 integrity. Nothing is installed or run:
# the tests read files out of the tarballs (axe-core's axe.min.js, injected
# into Chromium by server/web's accessibility test).
set -euo pipefail
cd "$(dirname "$0")/.."

pins=server/web/testdata/npm-packages.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/twofold/npm
for tool in npm node; do
  command -v $tool >/dev/null || { echo "npm-deps: $tool is missing: install Debian's npm (apt-get install --no-install-recommends npm)" >&2; exit 1; }
done
mkdir -p "$cache"

# integrity FILE prints the file's npm integrity (sha512-BASE64).
integrity() { node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"; }

grep -v '^\s*\(#\|$\)' "$pins" | while read -r name version want; do
  tgz=$cache/$name-$version.tgz
  if [ -f "$tgz" ] && [ "$(integrity "$tgz")" = "$want" ]; then continue; fi
  echo "npm-deps: fetching $name@$version" >&2
  tmp=$(mktemp -d "$cache/.pack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
  got=$(integrity "$tmp/$name-$version.tgz")
  if [ "$got" != "$want" ]; then
    echo "npm-deps: $name@$version has integrity $got, not the pinned $want" >&2
    exit 1
  fi
  mv "$tmp/$name-$version.tgz" "$tgz"
  rm -rf "$tmp"
  trap - EXIT
done
