#!/usr/bin/env bash
# Prepares a fresh machine: a Vulkan driver for Dawn (lavapipe when the machine has no GPU driver),
# Chromium for the web page's browser test, the npm dependencies from the lockfile, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
# A GPU machine brings its own Vulkan driver; elsewhere Dawn needs lavapipe (bookworm's own mesa is too old).
if ! command -v nvidia-smi >/dev/null 2>&1 && ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "setup: no GPU driver and no lavapipe found; installing lavapipe (software Vulkan)"
  bash scripts/install-vulkan.sh
fi
# The web page's test drives a real headless Chromium (playwright-core, no bundled browser download).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium (the serve web page's browser test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # A fresh machine may have no package lists yet.
  { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; } \
    || echo "setup: could not install chromium; the web page test will be skipped"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
