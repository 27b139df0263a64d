#!/usr/bin/env bash
# Runs on the GPU machine: unpacks what pack.sh put in .device/, points Vulkan at the NVIDIA driver, and
# runs the command given as arguments from the project root (the project's copy of ../shared/device/run.sh).
# Differences from the shared copy: without root, the loader is unpacked under /tmp and found through
# LD_LIBRARY_PATH instead of dpkg -x into / and ldconfig; a node_modules without webgpu's dawn.node is
# replaced; the commit pack.sh recorded is exported as ULLAVA_COMMIT_FILE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(id -u)" = 0 ]; then
  for f in .device/*.deb; do dpkg -x "$f" /; done
  ldconfig
else
  mkdir -p /tmp/devvulkan
  for f in .device/*.deb; do dpkg -x "$f" /tmp/devvulkan; done
  export LD_LIBRARY_PATH=/tmp/devvulkan/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
fi
mkdir -p /tmp/devnode
[ -x /tmp/devnode/node ] || { xz -dc .device/node.xz > /tmp/devnode/node; chmod +x /tmp/devnode/node; }
export PATH=/tmp/devnode:$PATH
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { rm -rf node_modules; xz -dc .device/node_modules.tar.xz | tar -xf -; }
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] || icd=$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1 || true)
[ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
[ -f .device/commit.json ] && export ULLAVA_COMMIT_FILE=$PWD/.device/commit.json
echo "node $(node --version); vulkan icd: ${icd:-none found}; gpu: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo '?')"
exec "$@"
