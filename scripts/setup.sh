#!/usr/bin/env bash
# One-time setup on a fresh machine: system packages for the PyTorch side, pnpm (via corepack), dependencies, build.
# Safe to re-run. Used by the README's first command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need (no PyPI, no browser downloads here), installed in one apt run, only as root and only
# when something is missing:
# - the PyTorch stack for the converter and the parity tests;
# - libtiff's tools (tiffcp, tiffset) for the decode tests' generated TIFF corpus;
# - Chromium for the in-browser example's tests (driven by playwright-core);
# - qemu-user (x86-64 hosts): the int8 tests run Node + onnxruntime under `qemu-x86_64 -cpu Haswell`, an AVX2 CPU
#   without VNNI, whatever CPU the machine has;
# - libjpeg-turbo's headers and a C toolchain for @mtailor/native-jpeg, core's exact JPEG fast path, which pnpm
#   install builds (without them it stays unbuilt and sharp decodes every JPEG).
PY=${MTAILOR_PYTHON:-/usr/bin/python3}
CHROMIUM=${MTAILOR_CHROMIUM:-/usr/bin/chromium}
missing=()
if ! "$PY" -c 'import torch, torchvision, onnx, PIL' >/dev/null 2>&1; then
  missing+=(python3-torch python3-torchvision python3-onnx python3-pil python3-numpy)
fi
if ! command -v tiffcp >/dev/null || ! command -v tiffset >/dev/null; then
  missing+=(libtiff-tools)
fi
if [ ! -f /usr/include/jpeglib.h ]; then
  missing+=(libjpeg62-turbo-dev)
fi
if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
  missing+=(gcc make)
fi
if [ ! -x "$CHROMIUM" ]; then
  missing+=(chromium)
fi
if [ "$(uname -m)" = x86_64 ] && ! command -v qemu-x86_64 >/dev/null; then
  missing+=(qemu-user)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's ${missing[*]}" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: WARNING: missing ${missing[*]}; the tests that need them will be skipped (set MTAILOR_PYTHON / MTAILOR_CHROMIUM)" >&2
  fi
fi

# Today's PyTorch stack (torch 2.14 / torchvision 0.29 / Pillow 12.3 / timm / transformers 5 / onnxscript), exactly as
# python/today.lock pins it, in .venv-today/. --no-deps: torch's metadata asks for cuda-bindings, which is not
# served here and not needed on CPU; the lock lists every other dependency with its hash.
VENV_TODAY=${MTAILOR_VENV_TODAY:-.venv-today}
if ! "$VENV_TODAY/bin/python" -c 'import torch, torchvision, onnx, onnxscript, timm, transformers, PIL' >/dev/null 2>&1 \
  || ! cmp -s python/today.lock "$VENV_TODAY/today.lock"; then
  echo "setup: creating today's PyTorch stack in $VENV_TODAY" >&2
  # Where this machine's Python packages come from is set in the account's own pip configuration. CI runs with an
  # empty HOME (for caches), so pip is pointed at that file, found from the account's home in the passwd database.
  account_home=$(getent passwd "$(id -u)" | cut -d: -f6)
  if [ -z "${PIP_CONFIG_FILE:-}" ] && [ -n "$account_home" ] && [ -f "$account_home/.config/pip/pip.conf" ]; then
    export PIP_CONFIG_FILE="$account_home/.config/pip/pip.conf"
  fi
  rm -rf "$VENV_TODAY"
  python3 -m venv "$VENV_TODAY"
  "$VENV_TODAY/bin/pip" install -q --no-deps --retries 0 --require-hashes -r python/today.lock 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$VENV_TODAY/bin/python" -c 'import torch, torchvision, onnx, onnxscript, timm, transformers, PIL'
  cp python/today.lock "$VENV_TODAY/today.lock"
fi

# pnpm, pinned by package.json's packageManager field (with its sha512). The registry reachable here serves
# packages without the signatures corepack's built-in keys expect, so corepack's signature check is turned off;
# the pinned sha512 still checks the pnpm tarball.
export COREPACK_INTEGRITY_CHECK=0
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version >/dev/null 2>&1; then
  corepack enable
fi
pnpm --version >/dev/null

# onnxruntime-node's install script (CUDA download) must not run: pnpm does not run dependency build scripts.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build

# The npm cache the package contract test installs the packed tarballs from (it runs npm install --offline, so the
# test itself sends nothing beyond loopback); filling it needs the registry, like pnpm install above.
node scripts/prime-contract-cache.mjs
