#!/usr/bin/env bash
# Checks bin/twofold's importers against files written by other authenticator
# apps (the team's ../shared/samples, not part of the repository), each with
# the values its README says it should give. Run by `make samples` inside a
# private keyring; every secret below is a published test value.
set -euo pipefail
samples=${1:-../shared/samples}
bin=${BIN:-bin/twofold}
[ -d "$samples" ] || { echo "samples: $samples not found (it sits beside the repository on team machines)" >&2; exit 1; }
fails=0 passes=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fresh() { export TWOFOLD_CONFIG_DIR; TWOFOLD_CONFIG_DIR=$(mktemp -d -p "$work"); }
pass() { passes=$((passes + 1)); echo "ok   $1"; }
fail() { fails=$((fails + 1)); echo "FAIL $1" >&2; }
# expect_code LABEL SECRET: our code equals oathtool's for that secret.
expect_code() {
  local got want
  got=$("$bin" code "$1") want=$(oathtool --totp -b "$2")
  if [ "$got" = "$want" ]; then pass "code of $1 = oathtool"; else fail "code of $1: $got, oathtool $want"; fi
}
expect_fail() { # NAME MESSAGE-PART ARGS...
  local name=$1 part=$2 out; shift 2
  fresh
  if out=$("$bin" "$@" 2>&1); then fail "$name was accepted"; return; fi
  if [[ $out == *"$part"* ]] && [ -z "$("$bin" list)" ]; then pass "$name refused: $out"; else fail "$name: $out"; fi
}

fresh
"$bin" add --image "$samples/ga-example_export.png" >/dev/null
expect_code Test1 JBSWY3DPEHPK3PXP; expect_code Test2 JBSWY3DPEHPK3PXQ; expect_code Test3 JBSWY3DPEHPK3PXR

fresh
"$bin" add --image "$samples/otpauth-example.png" >/dev/null
expect_code Example:alice@google.com JBSWY3DPEHPK3PXP

fresh
n=0
while read -r line; do
  case $line in otpauth-migration:*) "$bin" add "$line" >/dev/null 2>&1 && n=$((n + 1)) ;; esac
done < "$samples/ga-example_export.txt"
# Five exports; the third holds only the accounts of the first two again, so
# it is refused as duplicates and adds nothing.
if [ "$n" = 4 ] && [ "$("$bin" list | wc -l)" = 4 ] && "$bin" list | grep -q "hotp demo"; then
  pass "ga-example_export.txt: 4 exports added, the duplicate one refused"
else fail "ga-example_export.txt: $n exports added"; fi
expect_code raspberrypi:pi@raspberrypi 7KSQL2JTUDIS5EF65KLMRQIIGY

fresh
"$bin" add "$(cat "$samples/ga-test_plus_problem_export.txt")" >/dev/null
if [ "$("$bin" list | grep -c SerenityLabs)" = 4 ]; then pass "'+' in export data"; else fail "'+' in export data"; fi

expect_fail ga-test_export_wrong_data.txt "export" add "$(cat "$samples/ga-test_export_wrong_data.txt")"
expect_fail ga-test_export_wrong_prefix.txt "not an otpauth" add "$(cat "$samples/ga-test_export_wrong_prefix.txt")"
expect_fail ga-qr_but_without_otp.png "not an authenticator key" add --image "$samples/ga-qr_but_without_otp.png"
expect_fail ga-text_masquerading_as_image.jpeg "not a PNG, JPEG or GIF image" add --image "$samples/ga-text_masquerading_as_image.jpeg"

fresh
ok=0
while read -r line; do
  [ -n "$line" ] || continue
  if [[ $line == otpauth://steam/* ]]; then
    if "$bin" add "$line" >/dev/null 2>&1; then fail "steam accepted"; else pass "steam refused"; fi
  elif "$bin" add "$line" >/dev/null; then ok=$((ok + 1)); fi
done < "$samples/aegis-importers-plain.txt"
if [ "$ok" = 6 ]; then pass "aegis plain URIs: 6 added"; else fail "aegis plain URIs: $ok added"; fi

# backup_has FILE COUNT: a plain backup adds COUNT accounts and names the
# skipped Steam entry.
backup_has() {
  local err
  fresh
  if ! err=$("$bin" add --backup "$samples/$1" 2>&1 >/dev/null); then fail "$1: $err"; return; fi
  if [ "$("$bin" list | wc -l)" = "$2" ] && [[ $err == *Boeing:Sophia* ]]; then
    pass "$1: $2 accounts, Steam skipped by name"
  else fail "$1: $("$bin" list | wc -l) accounts; $err"; fi
}
backup_has aegis-importers-aegis_plain.json 6
backup_has aegis-importers-2fas_authenticator_plain_v4.2fas 4

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
