#!/usr/bin/env bash
# Debian's Chromium for the browser tests (the tests launch /usr/bin/chromium through
# playwright-python). Installs it with apt-get only when /usr/bin/chromium is missing;
# uses sudo only when not already root. Usage: bash scripts/chromium.sh
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "Chromium is already installed at $CHROMIUM: nothing to do"
  exit 0
fi

SUDO=()
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "Error: $CHROMIUM is missing and this user is not root and has no sudo." >&2
    echo "Install it as root: apt-get install -y chromium" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "Chromium not found at $CHROMIUM: installing the Debian package with apt-get${SUDO:+ (via sudo)}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "Error: apt-get finished but $CHROMIUM is still missing." >&2
  exit 1
fi
echo "Installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) at $CHROMIUM"
