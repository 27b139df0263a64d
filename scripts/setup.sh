#!/usr/bin/env bash
# Prepares a fresh machine: a Vulkan driver for Dawn (lavapipe when the machine has no GPU driver),
# the npm dependencies from the lockfile, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
# A GPU machine brings its own Vulkan driver; elsewhere Dawn needs lavapipe (bookworm's own mesa is too old).
if ! command -v nvidia-smi >/dev/null 2>&1 && ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "setup: no GPU driver and no lavapipe found; installing lavapipe (software Vulkan)"
  bash scripts/install-vulkan.sh
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
