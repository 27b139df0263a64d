#!/usr/bin/env bash
# Packs what the GPU machine lacks into .device/ inside the project checkout (the project's own copy of
# ../shared/device/pack.sh, fixed; see docs/gpu.md):
#   - the Node.js binary of this machine (the GPU machine has no Node.js),
#   - the project's runtime node_modules (Linux x64 only: other platforms' dawn.node, the ffmpeg binary,
#     TypeScript, type declarations and TensorFlow.js are left out to keep it small),
#   - the Vulkan loader (libvulkan1) as a Debian package, to unpack there,
#   - run.sh, which unpacks all of it there and runs the command it is given,
#   - commit: the commit and the date of the pack (the GPU machine gets the working tree without .git;
#     bench/gpu.ts records it in every result).
# Use, from the project root, after `npm ci` and the build (npx tsc -p tsconfig.json):
#   bash scripts/device/pack.sh
# then, on the GPU machine, with .device/ and dist/ carried beside the working tree:
#   bash .device/run.sh node dist/bench/gpu.js --out "$OUT"
# Fixed against the shared copy: .git is a file in a git worktree (the exclude file is found through
# `git rev-parse --git-path`, and only when .device/ is not ignored already); dev-only modules left out.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
if ! git check-ignore -q .device/; then
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  echo '/.device/' >> "$exclude"
fi
[ -f dist/bench/gpu.js ] || { echo "pack.sh: dist/bench/gpu.js is missing: build first (npx tsc -p tsconfig.json)" >&2; exit 1; }
rm -rf .device && mkdir -p .device
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dirty=$(git status --porcelain --untracked-files=no | wc -l | tr -d ' ')
printf '{"commit": "%s", "dirtyFiles": %s, "packedAt": "%s"}\n' "$(git rev-parse HEAD)" "$dirty" "$(date -u +%FT%TZ)" > .device/commit.json

echo "packing node $(node --version)"
xz -T2 -6 -c "$(command -v node)" > .device/node.xz

echo "packing node_modules"
tar -C "$root" -cf - \
  --exclude='node_modules/webgpu/dist/darwin-*' \
  --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/@ffmpeg-installer' \
  --exclude='node_modules/typescript' \
  --exclude='node_modules/@types' \
  --exclude='node_modules/@tensorflow' \
  --exclude='node_modules/.cache' \
  node_modules | xz -T2 -6 > .device/node_modules.tar.xz

echo "fetching the Vulkan loader package"
lists=/tmp/device-apt-lists
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
apt-get $o update >/dev/null
(cd .device && apt-get $o download libvulkan1 >/dev/null)

cp "$here/run.sh" .device/run.sh
du -sh .device dist
echo "ready: carry .device and dist to the GPU machine; run: bash .device/run.sh node dist/bench/gpu.js --out \"\$OUT\""
