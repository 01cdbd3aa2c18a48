#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when it can.
# As root (or with passwordless sudo) it runs apt-get; otherwise it prints
# exactly what is missing and fails, so no test ever skips for lack of a tool.
set -euo pipefail

# Usage: scripts/deps.sh [GROUP...]   (no group: test, i.e. everything)
#   build    compiling the portal and the Fyne desktop app (make build, make desktop)
#   package  build, plus what the packages need (make package, package-windows)
#   test     package, plus every tool the tests and the e2e run use (make test),
#            and the npm packages the tests read (scripts/npm-deps.sh)

# package -> a file (or glob) that proves it is installed, per group.
declare -A build=(
  [gcc]=/usr/bin/gcc
  [pkg-config]=/usr/bin/pkg-config
  [libgl1-mesa-dev]=/usr/include/GL/gl.h
  [libx11-dev]=/usr/include/X11/Xlib.h
  [libxcursor-dev]=/usr/include/X11/Xcursor/Xcursor.h
  [libxrandr-dev]=/usr/include/X11/extensions/Xrandr.h
  [libxinerama-dev]=/usr/include/X11/extensions/Xinerama.h
  [libxi-dev]=/usr/include/X11/extensions/XInput2.h
  [libxxf86vm-dev]=/usr/include/X11/extensions/xf86vmode.h
)
declare -A package=(
  [imagemagick]=/usr/bin/convert
  [xz-utils]=/usr/bin/xz
  [gcc-mingw-w64-x86-64]=/usr/bin/x86_64-w64-mingw32-gcc
  [wixl]=/usr/bin/wixl
  [msitools]=/usr/bin/msiinfo
)
declare -A test=(
  [libgl1-mesa-dri]='/usr/lib/*/dri/swrast_dri.so'
  [xvfb]=/usr/bin/Xvfb
  [xauth]=/usr/bin/xauth
  [xdotool]=/usr/bin/xdotool
  [imagemagick]=/usr/bin/import
  [dbus-daemon]=/usr/bin/dbus-run-session
  [gnome-keyring]=/usr/bin/gnome-keyring-daemon
  [libsecret-tools]=/usr/bin/secret-tool
  [oathtool]=/usr/bin/oathtool
  [argon2]=/usr/bin/argon2
  [qrencode]=/usr/bin/qrencode
  [zbar-tools]=/usr/bin/zbarimg
  [chromium]=/usr/bin/chromium
  [fonts-dejavu-core]=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  [postgresql]='/usr/lib/postgresql/*/bin/initdb'
  [xclip]=/usr/bin/xclip
  [x11-utils]=/usr/bin/xprop
  [sqlite3]=/usr/bin/sqlite3
  [wine]=/usr/bin/wine
  [wine64]=/usr/lib/wine/wine64
  [desktop-file-utils]=/usr/bin/desktop-file-validate
  [appstream]=/usr/bin/appstreamcli
  [dpkg-dev]=/usr/bin/dpkg-architecture
  [tesseract-ocr]=/usr/bin/tesseract
  [xdg-utils]=/usr/bin/xdg-mime
  [python3]=/usr/bin/python3
  [python3-aiosmtpd]=/usr/lib/python3/dist-packages/aiosmtpd/__main__.py
)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(test)
declare -A want=()
add() { local -n g=$1; for p in "${!g[@]}"; do want[$p]=${g[$p]}; done; }
for group in "${groups[@]}"; do
  case $group in
    build) add build ;;
    package) add build; add package ;;
    test) add build; add package; add test ;;
    *) echo "deps: unknown group $group (build, package or test)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${!want[@]}"; do
  compgen -G "${want[$pkg]}" >/dev/null || missing+=("$pkg")
done
# npm packages once the Debian ones (npm itself) are there.
npm_deps() { case " ${groups[*]} " in *" test "*) "$(dirname "$0")/npm-deps.sh" ;; esac; }
[ ${#missing[@]} -eq 0 ] && { npm_deps; exit 0; }

IFS=$'\n' missing=($(sort <<<"${missing[*]}")); unset IFS
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "deps: no apt-get here; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# dbus-x11 is deliberately absent: with it, godbus spawns an orphan dbus-launch.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_deps
