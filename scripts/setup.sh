#!/usr/bin/env bash
# One-time setup on a fresh machine: system packages for the PyTorch side, pnpm (via corepack), dependencies, build.
# Safe to re-run. Used by the README's first command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's PyTorch stack for the converter and the parity tests (no PyPI here). Only as root, only when missing.
PY=${MTAILOR_PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, torchvision, onnx, PIL' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's python3-torch python3-torchvision python3-onnx python3-pil" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3-torch python3-torchvision python3-onnx python3-pil python3-numpy
  else
    echo "setup: WARNING: $PY cannot import torch/torchvision/onnx/PIL; PyTorch tests will be skipped (set MTAILOR_PYTHON)" >&2
  fi
fi

# Debian's Chromium for the in-browser example's tests (driven by playwright-core; no browser download). Only as
# root, only when missing.
CHROMIUM=${MTAILOR_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's chromium" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
  else
    echo "setup: WARNING: no Chromium at $CHROMIUM; browser tests will be skipped (set MTAILOR_CHROMIUM)" >&2
  fi
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
