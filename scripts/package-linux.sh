#!/bin/sh
# make package: the Linux packages, from one build of bin/twofold.
#   dist/twofold_VERSION-BUILD_amd64.deb  (dpkg-deb, no root needed)
#   dist/Twofold-VERSION-linux-amd64.tar.xz (fyne package, with our .desktop file)
# Name, ID and version come from FyneApp.toml.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
GO=${GO:-go}
name=$(scripts/fyneapp.sh Name)
id=$(scripts/fyneapp.sh ID)
version=$(scripts/fyneapp.sh Version)
build=$(scripts/fyneapp.sh Build)
# The release date in the AppStream file: when FyneApp.toml last changed.
date=$(git log -1 --format=%cs -- FyneApp.toml 2>/dev/null || true)
[ -n "$date" ] || date=$(date -u +%F)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

scripts/gen-release.sh
mkdir -p bin dist
$GO build -ldflags "-s -w" -o bin/twofold ./desktop/cmd/twofold

# The file tree both packages install.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -Dm755 bin/twofold "$root/usr/bin/twofold"
install -Dm644 "packaging/linux/$id.desktop" "$root/usr/share/applications/$id.desktop"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "packaging/linux/$id.metainfo.xml.in" \
  > "$stage/$id.metainfo.xml"
install -Dm644 "$stage/$id.metainfo.xml" "$root/usr/share/metainfo/$id.metainfo.xml"
for s in 16 22 24 32 48 64 128 256 512; do
  d=$root/usr/share/icons/hicolor/${s}x$s/apps
  mkdir -p "$d"
  convert assets/icon.png -resize "${s}x$s" "$d/$id.png"
done

# .deb
mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: twofold
Version: $version-$build
Architecture: $arch
Maintainer: Twofold <hello@twofold.dev>
Installed-Size: $size
Depends: libc6, libgl1, libx11-6, libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1
Recommends: gnome-keyring | keepassxc, xclip
Section: utils
Priority: optional
Homepage: https://twofold.dev
Description: two-factor authenticator for the desktop
 $name shows the rotating two-factor codes (TOTP and HOTP) of your accounts
 on your computer. It reads a service's QR code off the screen, from an image
 or from an otpauth:// link, and keeps every secret in the Secret Service
 keyring (GNOME Keyring, KeePassXC). A command line works on the same accounts.
CONTROL
deb=dist/twofold_${version}-${build}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
rm -rf "$root/DEBIAN"
echo "$deb"

# The fyne package tarball: fyne's layout and Makefile (make user-install),
# with our .desktop file in place of the one fyne writes (fyne's has no
# Comment, keywords "fyne;" and %F instead of %u for links).
GOBIN=$($GO env GOPATH)/bin
[ -x "$GOBIN/fyne" ] && "$GOBIN/fyne" version 2>/dev/null | grep -q 'v1.7.4' || \
  $GO install fyne.io/tools/cmd/fyne@v1.7.4
fdir=$stage/fyne
mkdir -p "$fdir"
cp bin/twofold "$fdir/twofold"
(cd desktop/cmd/twofold && "$GOBIN/fyne" package --os linux --release --exe "$fdir/twofold" \
  --icon "$top/assets/icon.png" --name "$name" --app-id "$id" \
  --app-version "$version" --app-build "$build")
mv "desktop/cmd/twofold/$name.tar.xz" "$fdir/fyne.tar.xz"
mkdir "$fdir/x"
tar -xJf "$fdir/fyne.tar.xz" -C "$fdir/x"
desk=$(find "$fdir/x" -path "*/share/applications/$id.desktop")
[ -n "$desk" ] || { echo "package-linux: fyne's tarball has no $id.desktop" >&2; exit 1; }
cp "packaging/linux/$id.desktop" "$desk"
tarball=dist/$name-$version-linux-$arch.tar.xz
tar -cJf "$tarball" -C "$fdir/x" .
echo "$tarball"
