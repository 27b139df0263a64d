#!/usr/bin/env bash
# Installs a Vulkan driver Dawn accepts when the machine has none: lavapipe (software Vulkan) from
# bookworm-backports. Bookworm's own mesa 22.3 is refused by Dawn, so the backports suite is added,
# reusing the URI the machine already uses for Debian (no host is hard-coded here).
set -euo pipefail
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "lavapipe already installed"; exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'bookworm-backports' "$src" /etc/apt/sources.list.d/*.sources 2>/dev/null; then
  uri=$(awk '/^URIs:/{print $2; exit}' "$src")
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
ls /usr/share/vulkan/icd.d/
