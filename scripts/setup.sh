#!/usr/bin/env bash
# Prepares a fresh machine: a Vulkan driver for Dawn (lavapipe when the machine has no GPU driver),
# the npm dependencies from the lockfile, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
have_icd=0
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d; do
  ls "$d"/*.json >/dev/null 2>&1 && have_icd=1
done
if [ "$have_icd" = 0 ] || { [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/lvp_icd*.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; }; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "setup: no usable Vulkan driver found; installing lavapipe (software Vulkan)"
    bash scripts/install-vulkan.sh
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
