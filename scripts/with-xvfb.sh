#!/usr/bin/env bash
# Runs a command with DISPLAY set to a private Xvfb, stopped after. The one
# Xvfb start-up is Go's (qa/xvfb): a free display chosen by Xvfb itself, and
# no command starts before an X client could connect.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
go -C "$root" build -o "$root/bin/xvfb-run" ./qa/cmd/xvfb-run
exec "$root/bin/xvfb-run" "$@"
