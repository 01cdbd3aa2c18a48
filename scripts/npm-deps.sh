#!/usr/bin/env bash
# Fetches the npm packages the tests read (server/web/testdata/npm-packages.txt:
# name, version, integrity) as tarballs into the cache the tests look in,
# ${XDG_CACHE_HOME:-$HOME/.cache}/twofold/npm/NAME-VERSION.tgz, and checks
# each against its pinned sha512 integrity. Nothing is installed or run:
# the tests read files out of the tarballs (axe-core's axe.min.js, injected
# into Chromium by server/web's accessibility test). The tarball comes
# straight from the registry ($NPM_CONFIG_REGISTRY, else npm's), with
# python3 (already a test tool), so neither node nor npm is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

pins=server/web/testdata/npm-packages.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/twofold/npm
registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
command -v python3 >/dev/null || { echo "npm-deps: python3 is missing: apt-get install python3" >&2; exit 1; }
mkdir -p "$cache"

grep -v '^\s*\(#\|$\)' "$pins" | while read -r name version want; do
  python3 - "$registry" "$name" "$version" "$want" "$cache/$name-$version.tgz" <<'PY'
import base64, hashlib, os, sys, tempfile, urllib.request
registry, name, version, want, dest = sys.argv[1:]
def integrity(b): return "sha512-" + base64.b64encode(hashlib.sha512(b).digest()).decode()
if os.path.exists(dest) and integrity(open(dest, "rb").read()) == want:
    sys.exit(0)
url = f"{registry.rstrip('/')}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
print(f"npm-deps: fetching {url}", file=sys.stderr)
try:
    data = urllib.request.urlopen(url, timeout=60).read()
except Exception as e:
    sys.exit(f"npm-deps: cannot fetch {name}@{version} from {url}: {e}")
if integrity(data) != want:
    sys.exit(f"npm-deps: {name}@{version} has integrity {integrity(data)}, not the pinned {want}")
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".fetch.")
with os.fdopen(fd, "wb") as f:
    f.write(data)
os.replace(tmp, dest)
PY
done
