#!/bin/sh
# One window, links and live updates, with two real processes of BIN
# (default bin/twofold) on a private Xvfb and Secret Service:
#   scripts/with-keyring.sh scripts/with-xvfb.sh scripts/test-one-window.sh [BIN]
# 1. `twofold 'otpauth://…'` opens the window with the add preview, Enter
# adds; 2. a second `twofold 'otpauth://…'` hands its link to that window
# and exits, no second window opens, the preview shows, Enter adds; 3. a
# second launch with no argument brings the window to the front; 4. `twofold add` from the command line shows
# in the open window (read back with tesseract) without a restart.
set -eu
bin=$(readlink -f "${1:-bin/twofold}")
fail() { echo "test-one-window: FAIL: $*" >&2; [ ! -f "${tmp:-}/s.png" ] || cp "$tmp/s.png" "${ARTIFACTS:-.}/one-window-fail.png"; exit 1; }
for t in xdotool:xdotool xwininfo:x11-utils import:imagemagick tesseract:tesseract-ocr; do
  command -v "${t%%:*}" >/dev/null || fail "${t%%:*} not found: install the Debian package ${t#*:} (make deps-test)"
done
[ -n "${DISPLAY:-}" ] || fail "no DISPLAY: run under scripts/with-xvfb.sh"
[ -x "$bin" ] || fail "$bin missing"
tmp=$(mktemp -d)
export TWOFOLD_CONFIG_DIR=$tmp/config
wpid=""
# The window is waited for: it writes its settings as it ends, and the
# caller removes HOME next.
trap '[ -z "$wpid" ] || { kill $wpid 2>/dev/null; wait $wpid 2>/dev/null; }; rm -rf "$tmp"' EXIT
windows() { xdotool search --onlyvisible --name '^Twofold$' 2>/dev/null | wc -l; }
shows() { # shows TEXT: the screen reads TEXT (OCR), within about 10 s
  for _ in $(seq 10); do
    wid=$(xdotool search --onlyvisible --name '^Twofold$' 2>/dev/null | head -1)
    import -window "${wid:-root}" "$tmp/s.png"
    # Dark or light theme: read the window as it is and inverted.
    convert "$tmp/s.png" -colorspace Gray -resize 300% -threshold 50% "$tmp/o.png"
    convert "$tmp/s.png" -colorspace Gray -negate -resize 300% -threshold 50% "$tmp/n.png"
    { tesseract "$tmp/o.png" - --psm 6; tesseract "$tmp/n.png" - --psm 6; } 2>/dev/null | grep -qF "$1" && return 0
    sleep 1
  done
  return 1
}

# enter LABEL: Enter in the window's preview adds the account LABEL.
enter() {
  xdotool search --onlyvisible --name '^Twofold$' windowactivate --sync key Return 2>/dev/null || xdotool key Return
  for _ in $(seq 20); do "$bin" list | cut -f2 | grep -q "^$1" && return 0; sleep 0.5; done
  fail "Enter in the preview did not add $1"
}

# The first launch with a link (as xdg-open runs it) opens the window
# with the add preview.
"$bin" 'otpauth://totp/Firstco:eve@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Firstco' >"$tmp/window.log" 2>&1 &
wpid=$!
for _ in $(seq 120); do [ "$(windows)" -ge 1 ] && break; sleep 0.5; done
[ "$(windows)" -eq 1 ] || fail "the window did not open ($(cat "$tmp/window.log"))"
[ -S "$TWOFOLD_CONFIG_DIR/window.sock" ] || fail "no window.sock in the config dir"
shows "Found in the link" || fail "no add preview in the first window (screen: $tmp/s.png)"
enter Firstco:eve@example.com

# A second launch with a link: hands over and exits at once; the open
# window shows the preview, no second window opens.
link='otpauth://totp/Linkco:carol@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Linkco'
"$bin" "$link" 2>"$tmp/second.err" || fail "second launch: $(cat "$tmp/second.err")"
kill -0 $wpid || fail "the first window is gone"
sleep 1
[ "$(windows)" -eq 1 ] || fail "$(windows) windows after the second launch"
shows "Found in the link" || fail "no add preview in the window (screen: $tmp/s.png)"
enter Linkco:carol@example.com

# A second launch from the menu (no argument) while another window has
# the focus: it exits, and the open window comes to the front.
wid=$(xdotool search --onlyvisible --name '^Twofold$' | head -1)
root=$(LC_ALL=C xwininfo -root | awk '/Window id:/ { print $4 }')
xdotool windowfocus "$root"
[ "$(xdotool getwindowfocus)" != "$wid" ] || fail "could not take the focus from the window"
"$bin" 2>"$tmp/menu.err" || fail "second launch from the menu: $(cat "$tmp/menu.err")"
for _ in $(seq 20); do [ "$(xdotool getwindowfocus)" = "$wid" ] && break; sleep 0.25; done
[ "$(xdotool getwindowfocus)" = "$wid" ] || fail "the window did not come to the front after a second launch (focus: $(xdotool getwindowfocus))"
[ "$(windows)" -eq 1 ] || fail "$(windows) windows after a second launch from the menu"

# The command line adds while the window is open: the window shows it.
# Frames are taken for 3 s after add returns and read afterwards, so the
# figure printed is when the window showed it, not how long OCR took.
t0=$(date +%s%N)
"$bin" add 'otpauth://totp/Clico:dave@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=Clico' >/dev/null
i=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do
  import -window "$wid" "$tmp/f$i.png"
  echo "$i $(( ($(date +%s%N) - t0) / 1000000 ))" >>"$tmp/frames"
  i=$((i + 1))
done
seen=""
while read -r n ms; do
  convert "$tmp/f$n.png" -colorspace Gray -negate -resize 300% -threshold 50% "$tmp/n.png"
  convert "$tmp/f$n.png" -colorspace Gray -resize 300% -threshold 50% "$tmp/o.png"
  if { tesseract "$tmp/n.png" - --psm 6; tesseract "$tmp/o.png" - --psm 6; } 2>/dev/null | grep -qF "dave@example.com"; then seen=$ms; break; fi
done <"$tmp/frames"
if [ -n "$seen" ]; then
  echo "test-one-window: the window showed the account the CLI added in the frame taken $seen ms after add returned ($i frames in 3 s)"
fi
shows "dave@example.com" || fail "the window does not show the account the CLI added (screen: $tmp/s.png)"
cp "$tmp/s.png" "${ARTIFACTS:-.}/one-window.png" 2>/dev/null || true
"$bin" remove Clico >/dev/null
echo "test-one-window: ok (one window, link handed over and added, CLI change shown)"
