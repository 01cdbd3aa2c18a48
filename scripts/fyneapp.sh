#!/bin/sh
# fyneapp.sh KEY: prints a [Details] value of FyneApp.toml (Name, ID,
# Version, Build), the one source of the app's name, ID and version for
# every package.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
v=$(awk -v key="$1" '
  /^\[/ { section = $0; next }
  section == "[Details]" && $1 == key { sub(/^[^=]*= */, ""); gsub(/"/, ""); print; exit }
' "$top/FyneApp.toml")
[ -n "$v" ] || { echo "fyneapp.sh: no $1 in FyneApp.toml [Details]" >&2; exit 1; }
printf '%s\n' "$v"
