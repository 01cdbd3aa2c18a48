#!/bin/sh
# make package-macos: the macOS app bundle, on a Mac only (Fyne's go-gl
# needs cgo with Apple's SDK and Xcode's command line tools).
#   dist/Twofold.app (icon, CFBundleURLTypes for otpauth and otpauth-migration,
#   ad-hoc signature) and dist/Twofold-VERSION-macos-ARCH.zip
# Name, ID and version come from FyneApp.toml. Notarisation is out of scope:
# a downloaded copy needs right-click → Open the first time.
set -eu
if [ "$(uname -s)" != Darwin ]; then
  echo "package-macos: this must run on a Mac (macOS with Xcode's command line tools: xcode-select --install);" >&2
  echo "package-macos: here ($(uname -s)) only 'make lint-platforms' checks the macOS build (go vet, darwin/arm64 and amd64)." >&2
  exit 1
fi
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
GO=${GO:-go}
name=$(scripts/fyneapp.sh Name)
id=$(scripts/fyneapp.sh ID)
version=$(scripts/fyneapp.sh Version)
build=$(scripts/fyneapp.sh Build)
scripts/gen-release.sh
GOBIN=$($GO env GOPATH)/bin
$GO install fyne.io/tools/cmd/fyne@v1.7.4
(cd desktop/cmd/twofold && "$GOBIN/fyne" package --os darwin --release \
  --icon "$top/assets/icon.png" --name "$name" --app-id "$id" \
  --app-version "$version" --app-build "$build")
mkdir -p dist
rm -rf "dist/$name.app"
mv "desktop/cmd/twofold/$name.app" dist/
plist=dist/$name.app/Contents/Info.plist
pb=/usr/libexec/PlistBuddy
$pb -c "Delete :CFBundleURLTypes" "$plist" 2>/dev/null || true
$pb -c "Add :CFBundleURLTypes array" \
    -c "Add :CFBundleURLTypes:0 dict" \
    -c "Add :CFBundleURLTypes:0:CFBundleURLName string $id" \
    -c "Add :CFBundleURLTypes:0:CFBundleURLSchemes array" \
    -c "Add :CFBundleURLTypes:0:CFBundleURLSchemes:0 string otpauth" \
    -c "Add :CFBundleURLTypes:0:CFBundleURLSchemes:1 string otpauth-migration" "$plist"
[ "$($pb -c 'Print :CFBundleShortVersionString' "$plist")" = "$version" ] || { echo "package-macos: Info.plist version is not $version" >&2; exit 1; }
# The plist changed after fyne signed the bundle: sign it again (ad hoc).
codesign --force --deep --sign - "dist/$name.app"
zip=dist/$name-$version-macos-$(uname -m).zip
ditto -c -k --keepParent "dist/$name.app" "$zip"
echo "$zip"
