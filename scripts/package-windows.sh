#!/bin/sh
# make package-windows: cross-compiles twofold.exe with cgo and Debian's
# mingw-w64 as a GUI program (no console window; the CLI attaches to the
# console it was started from), and wraps it in a per-user MSI with wixl.
# Writes dist/windows/twofold.exe and dist/twofold-VERSION-windows-amd64.msi.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
GO=${GO:-go}
version=$(scripts/fyneapp.sh Version)
scripts/gen-release.sh
out=dist/windows
mkdir -p "$out"
CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc GOOS=windows GOARCH=amd64 \
  $GO build -trimpath -ldflags "-H=windowsgui -s -w" -o "$out/twofold.exe" ./desktop/cmd/twofold
convert assets/icon.png -define icon:auto-resize=256,64,48,32,16 "$out/twofold.ico"
cp packaging/windows/twofold.wxs "$out/"
# wixl resolves sources relative to the working directory.
(cd "$out" && wixl -a x64 -D Version="$version" -D Exe=twofold.exe -D Icon=twofold.ico \
  -o "../twofold-$version-windows-amd64.msi" twofold.wxs)
echo "dist/twofold-$version-windows-amd64.msi"
