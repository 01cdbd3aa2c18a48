#!/bin/sh
# make test-packages: checks what `make package` wrote to dist/ (run it
# through scripts/with-keyring.sh: the packaged binary adds, lists, prints a
# code and removes an account in a private Secret Service).
#  - the .desktop file passes desktop-file-validate and says what issue 11
#    asks (Comment, categories, keywords, %u, the otpauth link types);
#  - the AppStream file passes appstreamcli validate --no-net;
#  - the icons are at their sizes;
#  - the .deb, extracted into a throwaway root (dpkg -x), runs, and its
#    version, the tarball's and the AppStream release are FyneApp.toml's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 not found: install the Debian package $2 (make deps-test)"; }
need desktop-file-validate desktop-file-utils
need appstreamcli appstream
need dpkg-deb dpkg
need oathtool oathtool
need identify imagemagick
name=$(scripts/fyneapp.sh Name)
id=$(scripts/fyneapp.sh ID)
version=$(scripts/fyneapp.sh Version)
build=$(scripts/fyneapp.sh Build)
arch=$(dpkg --print-architecture)
deb=dist/twofold_${version}-${build}_$arch.deb
tarball=dist/$name-$version-linux-$arch.tar.xz
[ -f "$deb" ] || fail "$deb missing: run make package"
[ -f "$tarball" ] || fail "$tarball missing: run make package"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The .deb's fields.
[ "$(dpkg-deb -f "$deb" Version)" = "$version-$build" ] || fail "deb Version $(dpkg-deb -f "$deb" Version), FyneApp.toml says $version-$build"
[ "$(dpkg-deb -f "$deb" Package)" = twofold ] || fail "deb Package is not twofold"

root=$tmp/root
dpkg -x "$deb" "$root"
desk=$root/usr/share/applications/$id.desktop
meta=$root/usr/share/metainfo/$id.metainfo.xml
[ -x "$root/usr/bin/twofold" ] || fail "no /usr/bin/twofold in the deb"

# The desktop entry.
desktop-file-validate "$desk" || fail "desktop-file-validate $desk"
grep -qx 'Exec=twofold %u' "$desk" || fail ".desktop Exec is not 'twofold %u'"
grep -qx 'Categories=Utility;Security;' "$desk" || fail ".desktop Categories"
grep -q '^Comment=..........' "$desk" || fail ".desktop has no Comment"
grep -q '^Keywords=.*TOTP' "$desk" || fail ".desktop Keywords"
grep -q '^Keywords=.*fyne' "$desk" && fail ".desktop Keywords still say fyne"
grep -qx 'MimeType=x-scheme-handler/otpauth;x-scheme-handler/otpauth-migration;' "$desk" || fail ".desktop MimeType"
grep -qx "Icon=$id" "$desk" || fail ".desktop Icon"

# AppStream.
appstreamcli validate --no-net "$meta" || fail "appstreamcli validate --no-net $meta"
grep -q "<id>$id</id>" "$meta" || fail "metainfo id is not $id"
grep -q "<release version=\"$version\"" "$meta" || fail "metainfo release is not $version"
grep -q "<launchable type=\"desktop-id\">$id.desktop</launchable>" "$meta" || fail "metainfo launchable"

# Icons at the standard sizes.
for s in 16 22 24 32 48 64 128 256 512; do
  f=$root/usr/share/icons/hicolor/${s}x$s/apps/$id.png
  [ -f "$f" ] || fail "no ${s}x$s icon"
  [ "$(identify -format '%wx%h' "$f")" = "${s}x$s" ] || fail "icon ${s}x$s is $(identify -format '%wx%h' "$f")"
done

# The packaged binary runs: --version, then add, list, code, remove on a
# private config dir and keyring.
bin=$root/usr/bin/twofold
[ "$("$bin" --version)" = "$name $version" ] || fail "twofold --version printed '$("$bin" --version)', want '$name $version'"
export TWOFOLD_CONFIG_DIR=$tmp/config
secret=JBSWY3DPEHPK3PXPTESTPKGS
uri="otpauth://totp/PkgTest:deb@example.com?secret=$secret&issuer=PkgTest"
"$bin" add "$uri" | grep -qx 'added PkgTest:deb@example.com' || fail "add"
"$bin" list | grep -qE '^[0-9a-f]{8}	PkgTest:deb@example.com	totp SHA1 6 digits 30s$' || fail "list: $("$bin" list)"
# A code is compared with oathtool at the same second; retry once if the
# 30-second step turned between the two.
for _ in 1 2; do
  now=$(date +%s)
  got=$("$bin" code PkgTest)
  want=$(oathtool --totp -b -N "@$now" "$secret")
  [ "$got" = "$want" ] && break
done
[ "$got" = "$want" ] || fail "code $got, oathtool $want"
"$bin" remove PkgTest | grep -qx 'removed PkgTest:deb@example.com' || fail "remove"
[ -z "$("$bin" list)" ] || fail "list after remove: $("$bin" list)"
grep -rqs "$secret" "$tmp/config" && fail "the secret is in a file under the config dir"
"$bin" list extra 2>"$tmp/err" && fail "list with an argument succeeded"
grep -qx 'twofold: list takes no arguments' "$tmp/err" || fail "bad input error: $(cat "$tmp/err")"

# The fyne package tarball: its desktop file is ours, its binary the same version.
mkdir "$tmp/tar"
tar -xJf "$tarball" -C "$tmp/tar"
tdesk=$(find "$tmp/tar" -path "*/share/applications/$id.desktop")
[ -n "$tdesk" ] || fail "no $id.desktop in $tarball"
desktop-file-validate "$tdesk" || fail "desktop-file-validate (tarball)"
cmp -s "$tdesk" "$desk" || fail "the tarball's .desktop differs from the deb's"
tbin=$(find "$tmp/tar" -path '*/bin/twofold')
[ "$("$tbin" --version)" = "$name $version" ] || fail "tarball twofold --version"
[ -f "$(dirname "$tbin")/../../../Makefile" ] || [ -f "$(dirname "$tbin")/../../Makefile" ] || fail "tarball has no Makefile"

echo "test-packages: ok ($deb $(du -k "$deb" | cut -f1) KiB, $tarball $(du -k "$tarball" | cut -f1) KiB)"
