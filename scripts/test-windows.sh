#!/bin/sh
# make test-windows: installs dist/twofold-VERSION-windows-amd64.msi with
# Debian's Wine 8.0 in a private prefix and runs the installed twofold.exe:
# add (URI and --image), list, code (== oathtool), remove, bad input, the
# secret in no file but Wine's credential store; then the window, under a
# private Xvfb, screenshot in e2e-artifacts/windows-window.png, its code
# read back with tesseract. Runs itself under scripts/with-xvfb.sh.
#
# Test scaffolding, never shipped: Wine 8.0 lacks ProcessPrng, which Go's
# runtime needs; packaging/wine-shim builds a bcryptprimitives.dll with it
# into this prefix's system32 only.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ -z "${TWOFOLD_IN_XVFB:-}" ]; then
  TWOFOLD_IN_XVFB=1 exec scripts/with-xvfb.sh "$0" "$@"
fi
fail() { echo "test-windows: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 not found: install the Debian package $2 (make deps-test)"; }
need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
need msiinfo msitools
need oathtool oathtool
need qrencode qrencode
need tesseract tesseract-ocr
need import imagemagick
need xdotool xdotool
need display imagemagick
wine=/usr/lib/wine/wine64
[ -x $wine ] || fail "$wine not found: install the Debian packages wine and wine64 (make deps-test)"
name=$(scripts/fyneapp.sh Name)
version=$(scripts/fyneapp.sh Version)
msi=dist/twofold-$version-windows-amd64.msi
[ -f "$msi" ] || fail "$msi missing: run make package-windows"
mkdir -p e2e-artifacts

# The MSI's own tables: version from FyneApp.toml, per user, links, shortcut.
prop() { msiinfo export "$msi" Property | tr -d '\r' | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
[ "$(prop ProductVersion)" = "$version" ] || fail "MSI ProductVersion $(prop ProductVersion), FyneApp.toml says $version"
[ "$(prop ProductName)" = "$name" ] || fail "MSI ProductName $(prop ProductName)"
[ "$(prop MSIINSTALLPERUSER)" = 1 ] || fail "MSI is not per user"
words=$(msiinfo suminfo "$msi" | awk '/^Source:/ { print $2 }')
[ $((words & 8)) -eq 8 ] || fail "MSI asks for elevated privileges (word count $words)"
# Nothing an unprivileged user may not write: every registry value under
# HKCU (Root 1), every folder under the user's own (no Program Files,
# no Windows folder).
roots=$(msiinfo export "$msi" Registry | tr -d '\r' | awk -F'\t' 'NR > 3 { print $2 }' | sort -u)
[ "$roots" = 1 ] || fail "the MSI writes registry roots other than HKCU: $roots"
dirs=$(msiinfo export "$msi" Directory | tr -d '\r' | awk -F'\t' 'NR > 3 { print $1 }')
for d in $dirs; do
  case $d in INSTALLDIR|ProgramsDir|LocalAppDataFolder|ProgramMenuFolder|TARGETDIR) ;; *) fail "the MSI installs into $d" ;; esac
done
for scheme in otpauth otpauth-migration; do
  msiinfo export "$msi" Registry | grep -q "Software\\\\Classes\\\\$scheme\\\\shell\\\\open\\\\command" || fail "MSI does not register $scheme links"
done
# The Start-menu shortcut and the uninstall entry show the icon, which
# holds the sizes Windows picks from.
msiinfo export "$msi" Shortcut | tr -d '\r' | awk -F'\t' '$1 == "StartMenuShortcut" && $2 == "ProgramMenuFolder" && $9 == "TwofoldIcon"' | grep -q . \
  || fail "the Start-menu shortcut has no icon: $(msiinfo export "$msi" Shortcut)"
[ "$(prop ARPPRODUCTICON)" = TwofoldIcon ] || fail "the uninstall entry has no icon (ARPPRODUCTICON)"
tmp0=$(mktemp -d)
msiinfo extract "$msi" Icon.TwofoldIcon >"$tmp0/icon.ico" || fail "no Icon.TwofoldIcon stream in the MSI"
sizes=$(identify -format '%wx%h ' "$tmp0/icon.ico" 2>/dev/null)
rm -rf "$tmp0"
for sz in 16x16 32x32 48x48 256x256; do
  case " $sizes" in *" $sz "*) ;; *) fail "the MSI's icon has no $sz image (it has: $sizes)" ;; esac
done

tmp=$(mktemp -d)
# A private HOME too, and no winemenubuilder: Wine would otherwise copy the
# Start-menu shortcut into the real ~/.local/share/applications and
# ~/.config/menus as Linux menu entries. Go's caches stay where they were.
export GOCACHE="${GOCACHE:-$(${GO:-go} env GOCACHE)}" GOMODCACHE="${GOMODCACHE:-$(${GO:-go} env GOMODCACHE)}" GOPATH="${GOPATH:-$(${GO:-go} env GOPATH)}"
mkdir -m 700 "$tmp/home"
export HOME=$tmp/home
export WINEPREFIX=$tmp/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
cleanup() {
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
$wine wineboot -i >"$tmp/wineboot.log" 2>&1 || fail "wineboot -i: $(tail -5 "$tmp/wineboot.log")"
/usr/lib/wine/wineserver -w
# One wineserver for the whole run: one started and ended per command
# once dropped a client ("wine client error:0: recvmsg: Connection reset
# by peer") as it shut down. flush ends it (which writes the registry to
# the prefix's .reg files) and starts another.
/usr/lib/wine/wineserver -p
flush() {
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  /usr/lib/wine/wineserver -w
  [ "${1:-}" = last ] || /usr/lib/wine/wineserver -p
}
sys32=$WINEPREFIX/drive_c/windows/system32
x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" \
  packaging/wine-shim/processprng.c packaging/wine-shim/bcryptprimitives.def -ladvapi32 || fail "building the ProcessPrng shim"

win() { printf 'Z:%s' "$1" | tr / '\\'; }

# The Windows-only code's own tests, as Windows binaries under Wine: the
# one-window channel (instance/windows.go) and the release constants.
for pkg in instance release; do
  CGO_ENABLED=0 GOOS=windows GOARCH=amd64 ${GO:-go} test -c -o "$tmp/$pkg.test.exe" "./desktop/$pkg" || fail "building the $pkg tests for Windows"
  (cd "desktop/$pkg" && $wine "$tmp/$pkg.test.exe" -test.count=1 -test.v >"$tmp/$pkg.log" 2>&1) \
    || fail "desktop/$pkg tests under Wine: $(tr -d '\r' <"$tmp/$pkg.log")"
  echo "test-windows: desktop/$pkg tests pass under Wine ($(grep -c '^--- PASS' "$tmp/$pkg.log") tests)"
done
$wine msiexec /i "$(win "$top/$msi")" /qn || fail "msiexec /i $msi /qn"
user=$(ls "$WINEPREFIX/drive_c/users" | grep -vx Public | head -1)
home=$WINEPREFIX/drive_c/users/$user
exe=$home/AppData/Local/Programs/$name/twofold.exe
[ -f "$exe" ] || fail "no $exe after install"
# A GUI program (subsystem 2): no console window opens beside the window.
x86_64-w64-mingw32-objdump -p "$exe" | grep -q '^Subsystem[[:space:]]*00000002' \
  || fail "twofold.exe is not a GUI program: $(x86_64-w64-mingw32-objdump -p "$exe" | grep '^Subsystem')"
# Its own icon and version resource: the resource types at the root of
# .rsrc (PE format: IMAGE_RESOURCE_DIRECTORY, then 8-byte entries), and
# the version strings FyneApp.toml gives.
rsrc=$(x86_64-w64-mingw32-objdump -h "$exe" | awk '$2 == ".rsrc" { print $6 }')
[ -n "$rsrc" ] || fail "twofold.exe has no resources (.rsrc)"
types=$(python3 - "$exe" "$rsrc" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb"); off = int(sys.argv[2], 16)
f.seek(off); hdr = f.read(16)
named, ids = struct.unpack_from("<HH", hdr, 12)
for i in range(named + ids):
    name, _ = struct.unpack("<II", f.read(8))
    if not name & 0x80000000:
        print(name)
PY
)
for t in 3:RT_ICON 14:RT_GROUP_ICON 16:RT_VERSION; do
  printf '%s\n' "$types" | grep -qx "${t%%:*}" || fail "twofold.exe has no ${t#*:} resource (types: $types)"
done
strings -el "$exe" | grep -A1 -x ProductVersion | tail -1 | grep -qx "$version" || fail "twofold.exe's ProductVersion is not $version"
strings -el "$exe" | grep -A1 -x ProductName | tail -1 | grep -qx "$name" || fail "twofold.exe's ProductName is not $name"
[ -f "$home/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/$name.lnk" ] || fail "no Start-menu shortcut"
$wine uninstaller --list | tr -d '\r' | grep -q "|||$name\$" || fail "no uninstall entry: $($wine uninstaller --list)"
$wine reg query 'HKCU\Software\Classes\otpauth\shell\open\command' | grep -qF "\\Programs\\$name\\twofold.exe\" \"%1\"" \
  || fail "otpauth link handler: $($wine reg query 'HKCU\Software\Classes\otpauth\shell\open\command')"
$wine reg query 'HKCU\Software\Classes\otpauth-migration' /v 'URL Protocol' >/dev/null || fail "otpauth-migration is not a URL protocol"
echo "test-windows: installed $exe"

# tw ARGS: runs the installed twofold.exe; stdout and stderr as on Linux
# (Wine's CR LF turned back into LF).
tw() {
  rc=0
  $wine "$exe" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  tr -d '\r' <"$tmp/out"
  return $rc
}
twok() { tw "$@" || fail "twofold $*: $(tr -d '\r' <"$tmp/err")"; }
[ "$(twok --version)" = "$name $version" ] || fail "--version printed '$(tw --version)'"
# Started from a terminal as Windows starts a GUI program, with no standard
# handles (packaging/wine-shim/nostdhandles.c; Wine alone would hand them
# over): the command line attaches to the terminal's console and prints
# there. script gives Wine a terminal, and so a console.
need script bsdutils
x86_64-w64-mingw32-gcc -municode -O2 -o "$tmp/nostdhandles.exe" packaging/wine-shim/nostdhandles.c || fail "building nostdhandles.exe"
printf '%s\n' "exec $wine '$tmp/nostdhandles.exe' '$(win "$exe")' --version" >"$tmp/console.sh"
script -qec "sh '$tmp/console.sh'" /dev/null </dev/null >"$tmp/console.out" 2>&1 || fail "twofold --version in a console: $(cat -v "$tmp/console.out")"
tr -d '\r' <"$tmp/console.out" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -qx "$name $version" \
  || fail "twofold --version with no standard handles printed nothing to the terminal's console: $(cat -v "$tmp/console.out")"
echo "test-windows: the GUI program's command line prints to the console of the terminal that started it"

secret=KR3W6ZTPNRSC2V3JNZSS2U3FMNZGK5BR   # "Twofold-Wine-Secret1"
raw=Twofold-Wine-Secret1
isecret=KR3W6ZTPNRSC2SLNMFTWKLKLMV4S2MBS  # "Twofold-Image-Key-02"
iraw=Twofold-Image-Key-02
out=$(twok add "otpauth://totp/WineTest:ann@example.com?secret=$secret&issuer=WineTest")
[ "$out" = "added WineTest:ann@example.com" ] || fail "add printed '$out' ($(cat "$tmp/err"))"
qrencode -o "$tmp/qr.png" "otpauth://totp/ImageTest:bob@example.com?secret=$isecret&issuer=ImageTest"
out=$(twok add --image "$(win "$tmp/qr.png")")
[ "$out" = "added ImageTest:bob@example.com" ] || fail "add --image printed '$out' ($(cat "$tmp/err"))"
out=$(twok list | cut -f2-)
[ "$out" = "$(printf 'WineTest:ann@example.com\ttotp SHA1 6 digits 30s\nImageTest:bob@example.com\ttotp SHA1 6 digits 30s')" ] || fail "list printed:
$out"
for _ in 1 2; do   # again if the 30-second step turned between the two
  now=$(date +%s); got=$(twok code WineTest); want=$(oathtool --totp -b -N "@$now" "$secret")
  [ "$got" = "$want" ] && break
done
[ "$got" = "$want" ] || fail "code $got, oathtool $want"
for _ in 1 2; do
  now=$(date +%s); got=$(twok code ImageTest); want=$(oathtool --totp -b -N "@$now" "$isecret")
  [ "$got" = "$want" ] && break
done
[ "$got" = "$want" ] || fail "code (image) $got, oathtool $want"
index=$home/AppData/Roaming/twofold/accounts.json
[ -f "$index" ] || fail "no account index at $index (os.UserConfigDir)"
# Automatic backups on: a second kind of credential (twofold-backup:…),
# and encrypted files that must not hold a secret either.
backups=$home/twofold-backups
printf 'wine backup pw\n' | twok backup-dir "$(win "$backups")" >/dev/null
ls "$backups"/twofold-backup-*.json >/dev/null 2>&1 || fail "backup-dir wrote no backup to $backups"

# Bad input: the same words as the Linux build says.
linux=$tmp/linux-config
same() {
  tw "$@" >/dev/null && fail "twofold $* succeeded"
  w=$(tr -d '\r' <"$tmp/err")
  l=$(TWOFOLD_CONFIG_DIR=$linux TWOFOLD_KEYRING_TIMEOUT=2s bin/twofold "$@" 2>&1 >/dev/null) && fail "linux twofold $* succeeded"
  [ "$w" = "$l" ] || fail "twofold $*: Windows says '$w', Linux says '$l'"
  echo "test-windows: same error: $w"
}
[ -x bin/twofold ] || fail "bin/twofold missing (make build)"
same add 'otpauth://totp/Bad:x?secret=not!base32'
same add --image
same list extra
same frobnicate
same code

# Secrets: in Wine's credential store and no other file of the prefix.
# Wine keeps credentials in the registry, the prefix's user.reg, under
# [Software\\Wine\\Credential Manager\\Generic: TARGET], the password RC4-encrypted
# with the 8-byte "EncryptionKey" stored beside it (obfuscation; Windows
# uses DPAPI). Decrypting it proves the secrets are there.
flush   # the registry reaches user.reg when the server ends
stored=$(python3 - "$WINEPREFIX/user.reg" <<'PY'
import re, sys
s = open(sys.argv[1], encoding="utf-8", errors="replace").read()
key = bytes.fromhex(re.search(r'"EncryptionKey"=hex:([0-9a-f,]+)', s).group(1).replace(",", ""))
def rc4(k, d):
    S = list(range(256)); j = 0
    for i in range(256):
        j = (j + S[i] + k[i % len(k)]) % 256; S[i], S[j] = S[j], S[i]
    i = j = 0; out = bytearray()
    for c in d:
        i = (i + 1) % 256; j = (j + S[i]) % 256; S[i], S[j] = S[j], S[i]
        out.append(c ^ S[(S[i] + S[j]) % 256])
    return bytes(out)
for block in s.split("\n\n"):
    m = re.match(r'\[Software\\\\Wine\\\\Credential Manager\\\\Generic: (twofold:[^\]]*)\]', block)
    if m:
        p = re.search(r'"Password"=hex:([0-9a-f,\\\s]+)', block)
        print(m.group(1) + "\t" + rc4(key, bytes.fromhex(re.sub(r"[^0-9a-f]", "", p.group(1)))).decode(errors="replace"))
PY
) || fail "reading Wine's credential store"
printf '%s\n' "$stored" | cut -f2 | grep -qx "$secret" || fail "the URI's secret is not in Wine's credential store"
printf '%s\n' "$stored" | cut -f2 | grep -qx "$isecret" || fail "the image's secret is not in Wine's credential store"
# One credential per account, named twofold:ID by the account's id.
ids=$(twok list | cut -f1 | sort)
creds=$(printf '%s\n' "$stored" | cut -f1 | sed 's/^twofold://' | sort)
[ "$(printf '%s\n' "$creds" | wc -l)" -eq 2 ] || fail "$(printf '%s\n' "$creds" | wc -l) credentials for 2 accounts: $creds"
for id in $ids; do
  printf '%s\n' "$creds" | grep -q "^$id" || fail "no credential for the account $id (credentials: $creds)"
done
echo "test-windows: one credential per account in Wine's credential store (user.reg, Credential Manager\\Generic: twofold:ID, RC4 with the stored key)"
# In clear or as the hex of a registry value, in no file: not even user.reg,
# where only the encrypted credential holds it.
for s in "$secret" "$raw" "$isecret" "$iraw"; do
  hex=$(printf '%s' "$s" | od -An -tx1 | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
  hits=$(grep -rlaF -e "$s" -e "$hex" "$WINEPREFIX" || true)
  [ -z "$hits" ] || fail "secret $s found in $hits"
done
echo "test-windows: no secret in any file under the prefix but encrypted in the credential store"

out=$(twok remove ImageTest)
[ "$out" = "removed ImageTest:bob@example.com" ] || fail "remove printed '$out'"
[ "$(twok list | cut -f2)" = "WineTest:ann@example.com" ] || fail "list after remove: $(twok list)"

# Scan QR from screen: a QR code shown on the Xvfb (ImageMagick's display),
# captured through Windows' GDI as Wine gives it, read and added.
ssecret=KNRXEZLFNYWVIZLTOQWUWZLZGAZQ   # "Screen-Test-Key03"
qrencode -s 6 -o "$tmp/sq.png" "otpauth://totp/ScreenTest:sam@example.com?secret=$ssecret&issuer=ScreenTest"
display -geometry +700+300 "$tmp/sq.png" &
dpid=$!
for _ in $(seq 40); do xdotool search --onlyvisible --pid $dpid >/dev/null 2>&1 && break; sleep 0.25; done
out=$(twok add --screen)
kill $dpid; wait $dpid 2>/dev/null || true
[ "$out" = "added ScreenTest:sam@example.com" ] || fail "add --screen printed '$out' ($(cat "$tmp/err"))"
for _ in 1 2; do
  now=$(date +%s); got=$(twok code ScreenTest); want=$(oathtool --totp -b -N "@$now" "$ssecret")
  [ "$got" = "$want" ] && break
done
[ "$got" = "$want" ] || fail "code (screen) $got, oathtool $want"
twok remove ScreenTest >/dev/null
echo "test-windows: add --screen read a QR code off the screen (GDI capture under Wine), its code equals oathtool's"

# The window, with one account, on the private Xvfb.
$wine "$exe" >"$tmp/window.log" 2>&1 &
wpid=$!
found=""
for _ in $(seq 120); do
  found=$(xdotool search --name "^$name\$" 2>/dev/null | head -1) && [ -n "$found" ] && break
  sleep 0.5
done
[ -n "$found" ] || fail "no window named $name appeared ($(cat "$tmp/window.log"))"
shot=e2e-artifacts/windows-window.png
ok=""
# Up to two minutes: under Wine on a busy machine the first keyring read
# and paint took longer than the 12 s this once allowed.
for _ in $(seq 60); do
  sleep 2   # let the keyring read and the first paint land
  now=$(date +%s)
  import -window root "$shot"
  codes=$(for d in -30 0 30; do oathtool --totp -b -N "@$((now + d))" "$secret"; done)
  # Dark or light theme: read the screen as it is and inverted.
  import -window "$found" "$tmp/win.png"
  convert "$tmp/win.png" -colorspace Gray -resize 300% -threshold 50% "$tmp/ocr.png"
  convert "$tmp/win.png" -colorspace Gray -negate -resize 300% -threshold 50% "$tmp/neg.png"
  text=$({ tesseract "$tmp/ocr.png" - --psm 6; tesseract "$tmp/neg.png" - --psm 6; } 2>/dev/null | tr -d ' ')
  for c in $codes; do
    if printf '%s' "$text" | grep -q "$c"; then ok=$c; break; fi
  done
  [ -n "$ok" ] && break
done
[ -n "$ok" ] || fail "the window ($shot) does not show the current code ($codes); OCR read: $text"
echo "test-windows: the window shows the code $ok (tesseract), screenshot $shot"

# One window on Windows too: a second launch with a link hands it to the
# open window over loopback (address and token in %APPDATA%\twofold\window.addr)
# and exits; the open window shows the add preview.
[ -f "$home/AppData/Roaming/twofold/window.addr" ] || fail "no window.addr in the config dir"
twok 'otpauth://totp/Handover:gil@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Handover' >/dev/null
n=$(xdotool search --onlyvisible --name "^$name\$" 2>/dev/null | wc -l)
[ "$n" -eq 1 ] || fail "$n windows after the second launch"
seen=""
for _ in 1 2 3 4 5; do
  sleep 1
  import -window "$found" "$tmp/win.png"
  convert "$tmp/win.png" -colorspace Gray -resize 300% -threshold 50% "$tmp/ocr.png"
  convert "$tmp/win.png" -colorspace Gray -negate -resize 300% -threshold 50% "$tmp/neg.png"
  if { tesseract "$tmp/ocr.png" - --psm 6; tesseract "$tmp/neg.png" - --psm 6; } 2>/dev/null | grep -qF "Found in the link"; then seen=1; break; fi
done
[ -n "$seen" ] || { cp "$tmp/win.png" e2e-artifacts/windows-handover-fail.png; fail "no add preview after the hand-over (e2e-artifacts/windows-handover-fail.png)"; }
import -window root e2e-artifacts/windows-handover.png
echo "test-windows: a second launch handed its link to the open window (e2e-artifacts/windows-handover.png)"
# The window must be gone before the uninstall: Windows keeps a running
# .exe, and Windows Installer then leaves it for a reboot. Killing the
# wine64 that started it does not end twofold.exe at once (a busy machine
# showed it); ending the prefix's processes and waiting for them does.
kill $wpid 2>/dev/null || true
wait $wpid 2>/dev/null || true
flush

# Remove everything, as README says: each account, the automatic backups
# (off, which forgets their password) and their folder, the config and
# Fyne's settings folders; then uninstall, which removes the program, the
# shortcut and the link handlers. Nothing of Twofold is left after.
for id in $(twok list | cut -f1); do twok remove "$id" >/dev/null; done
[ -z "$(twok list)" ] || fail "accounts left after removing each: $(twok list)"
twok backup-dir --off >/dev/null
rm -r "$backups" "$home/AppData/Roaming/twofold"
rm -rf "$home/AppData/Roaming/fyne/$(scripts/fyneapp.sh ID)"
$wine msiexec /x "$(win "$top/$msi")" /qn || fail "msiexec /x"
[ ! -e "$exe" ] || fail "$exe still there after uninstall"
$wine reg query 'HKCU\Software\Classes\otpauth' >/dev/null 2>&1 && fail "otpauth handler still registered after uninstall"
flush last
left=$(find "$WINEPREFIX" -iname '*twofold*' 2>/dev/null; grep -il twofold "$WINEPREFIX"/*.reg || true)
[ -z "$left" ] || fail "left after removing everything as README says: $left
$(grep -i -B2 -A2 twofold "$WINEPREFIX"/*.reg | head -40)"
echo "test-windows: after the README's steps, nothing named twofold is left in the prefix's files or registry (credentials included)"
left=$(find "$HOME" -iname '*twofold*' 2>/dev/null)
[ -z "$left" ] || fail "Wine wrote Linux menu entries into HOME: $left"
echo "test-windows: ok ($msi, $(du -k "$msi" | cut -f1) KiB)"
