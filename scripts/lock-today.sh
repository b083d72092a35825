#!/usr/bin/env bash
# Regenerates python/today.lock: today's PyTorch stack, every package pinned exactly with its hash, for
#   pip install --no-deps --retries 0 --require-hashes -r python/today.lock      (scripts/setup.sh does this)
#
# How: pip resolves the top-level packages below (--dry-run --report: nothing is installed) from the package index
# configured on this machine. torch 2.14.1's metadata requires cuda-bindings, which that index does not serve and
# which torch does not need on CPU, so the resolve is given a throw-away local stub wheel `cuda-bindings==13.0.3`
# (metadata only) to satisfy it; the stub and triton (GPU kernels only) are then left out of the lock. The nvidia-*
# libraries stay: torch's CUDA build links them at import. Hence --no-deps when installing.
#
# Usage: bash scripts/lock-today.sh [python3]   (the interpreter whose version and platform the lock is for)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}

TOP_LEVEL=(
  torch==2.14.1 torchvision==0.29.1 pillow==12.3.0 numpy onnx==1.23.1 onnx-ir onnxscript==0.7.2
  onnxruntime==1.30.0 timm==1.0.29 transformers==5.18.0
)
LEFT_OUT='cuda-bindings triton'

work=$(mktemp -d "${TMPDIR:-/tmp}/mtailor-lock.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/stub"

# The stub wheel: a dist-info with METADATA, WHEEL and RECORD, nothing else.
"$PY" - "$work/stub" <<'EOF'
import base64, hashlib, os, sys, zipfile
out = sys.argv[1]
name, version = "cuda_bindings", "13.0.3"
info = f"{name}-{version}.dist-info"
files = {
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: cuda-bindings\nVersion: {version}\nSummary: stub for resolving only\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mtailor-lock-today\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{info}/RECORD,,")
files[f"{info}/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-py3-none-any.whl"), "w") as whl:
    for path, text in files.items():
        whl.writestr(path, text)
EOF

"$PY" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --dry-run --ignore-installed --retries 0 --find-links "$work/stub" \
  --report "$work/report.json" "${TOP_LEVEL[@]}" >&2

"$PY" - "$work/report.json" "$LEFT_OUT" > python/today.lock <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
left_out = set(sys.argv[2].split())
print("""# Today's PyTorch stack, pinned exactly with hashes. scripts/setup.sh installs it into .venv-today/ with
#   pip install --no-deps --retries 0 --require-hashes -r python/today.lock
# torch 2.14.1 is the CUDA build: it links the nvidia-* libraries at import, so they are here; its cuda-bindings and
# triton requirements are left out (not served here; torch imports and runs on CPU without them), which is why the
# install is --no-deps. Regenerate with scripts/lock-today.sh.""")
lines = []
for item in report["install"]:
    name = item["metadata"]["name"]
    if name.lower().replace("_", "-") in left_out:
        continue
    hashes = item["download_info"].get("archive_info", {}).get("hashes", {})
    if "sha256" not in hashes:
        sys.exit(f"lock-today: no sha256 for {name} in pip's report")
    lines.append(f"{name.lower()}=={item['metadata']['version']} --hash=sha256:{hashes['sha256']}")
print("\n".join(sorted(lines, key=str.lower)))
EOF
echo "lock-today: wrote python/today.lock ($(grep -c -- '--hash=' python/today.lock) packages)" >&2
