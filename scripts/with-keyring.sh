#!/usr/bin/env bash
# Runs a command against a private, unlocked Secret Service: its own session
# bus (dbus-run-session) and gnome-keyring-daemon, in throwaway HOME and
# XDG_RUNTIME_DIR, so tests never touch the user's real keyring.
# DISPLAY is removed: a locked keyring with a display waits for a prompt.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/run" "$tmp/home"
# Go's caches stay where they were (asked before HOME moves), or every run
# would download modules and build Fyne from cold.
if command -v go >/dev/null; then
  export GOCACHE="${GOCACHE:-$(go env GOCACHE)}" GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}" GOPATH="${GOPATH:-$(go env GOPATH)}"
fi
export XDG_RUNTIME_DIR="$tmp/run" HOME="$tmp/home"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
# Not exec: the trap above must still run when the command ends.
dbus-run-session -- sh -c '
  printf twofold-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec "$@"' sh "$@"
