#!/bin/sh
# make package-windows: cross-compiles twofold.exe with cgo and Debian's
# mingw-w64 as a GUI program (no console window; the CLI attaches to the
# console it was started from), and wraps it in a per-user MSI with wixl.
# Writes dist/windows/twofold.exe and dist/twofold-VERSION-windows-amd64.msi.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
GO=${GO:-go}
name=$(scripts/fyneapp.sh Name)
version=$(scripts/fyneapp.sh Version)
build=$(scripts/fyneapp.sh Build)
scripts/gen-release.sh
out=dist/windows
mkdir -p "$out"
convert assets/icon.png -define icon:auto-resize=256,64,48,32,16 "$out/twofold.ico"

# The .exe's own icon (Explorer, Alt+Tab) and version resource (its
# Properties), from FyneApp.toml: a .syso beside main, which go build links
# in, made with mingw's windres and removed after the build.
syso=desktop/cmd/twofold/rsrc_windows_amd64.syso
trap 'rm -f "$syso"' EXIT
nums=$(printf '%s' "$version" | awk -F. '{ printf "%d,%d,%d", $1, $2, $3 }')
cat >"$out/twofold.rc" <<RC
1 ICON "twofold.ico"
1 VERSIONINFO
FILEVERSION $nums,$build
PRODUCTVERSION $nums,$build
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "$name"
      VALUE "FileDescription", "$name authenticator"
      VALUE "FileVersion", "$version"
      VALUE "InternalName", "twofold"
      VALUE "OriginalFilename", "twofold.exe"
      VALUE "ProductName", "$name"
      VALUE "ProductVersion", "$version"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
(cd "$out" && x86_64-w64-mingw32-windres -O coff -i twofold.rc -o twofold.syso)
mv "$out/twofold.syso" "$syso"
CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc GOOS=windows GOARCH=amd64 \
  $GO build -trimpath -ldflags "-H=windowsgui -s -w" -o "$out/twofold.exe" ./desktop/cmd/twofold
rm -f "$syso"
cp packaging/windows/twofold.wxs "$out/"
# wixl resolves sources relative to the working directory.
(cd "$out" && wixl -a x64 -D Version="$version" -D Exe=twofold.exe -D Icon=twofold.ico \
  -o "../twofold-$version-windows-amd64.msi" twofold.wxs)
echo "dist/twofold-$version-windows-amd64.msi"
