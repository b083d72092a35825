#!/usr/bin/env python3
"""The Python sidecar our users would otherwise run beside their Node service: Pillow + torchvision transforms +
onnxruntime in a process pool, as issue 23 describes it — `Resize((224, 224))`, `ToTensor()`, `Normalize(ImageNet)`,
`P` processes (default 2) each decoding and classifying its contiguous share of the files in batches of 8 with one
onnxruntime thread (and one torch thread) each.

Timed like a job of an already started sidecar: the clock starts after the imports (which the forked workers
inherit), so it covers starting the pool, loading one session per worker, and classifying every file. CPU time is
this process's plus its reaped workers'. Prints one JSON line:
`{"images", "seconds", "imagesPerSecond", "cpuMsPerImage", "versions", "top1": {"<file>": class}}`.

Usage: python-sidecar.py --model MODEL.onnx [--processes 2] [--batch 8] FOLDER
Run it with today's stack (`.venv-today/bin/python`): Pillow 12.3, torchvision 0.29, onnxruntime 1.30.
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time

import onnxruntime as ort
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

TRANSFORM = T.Compose(
    [T.Resize((224, 224)), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
)


def classify_share(model, files, batch):
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    top1 = []
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        x = torch.stack([TRANSFORM(Image.open(f).convert("RGB")) for f in chunk]).numpy()
        logits = session.run(None, {name: x})[0]
        top1.extend(int(k) for k in logits.argmax(1))
    return top1


def cpu_seconds():
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("folder")
    args = parser.parse_args()
    files = sorted(
        os.path.join(args.folder, f) for f in os.listdir(args.folder) if f.lower().endswith((".jpg", ".jpeg"))
    )
    per = -(-len(files) // args.processes)
    shares = [files[i * per : (i + 1) * per] for i in range(args.processes)]
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    pool = mp.get_context("fork").Pool(args.processes)
    results = pool.starmap(classify_share, [(args.model, share, args.batch) for share in shares])
    pool.close()
    pool.join()
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    top1 = {}
    for share, classes in zip(shares, results):
        top1.update(zip((os.path.basename(f) for f in share), classes))
    json.dump(
        {
            "images": len(files),
            "seconds": seconds,
            "imagesPerSecond": len(files) / seconds,
            "cpuMsPerImage": cpu * 1000 / len(files),
            "versions": {
                "python": sys.version.split()[0],
                "Pillow": PIL.__version__,
                "torchvision": torchvision.__version__,
                "onnxruntime": ort.__version__,
            },
            "top1": top1,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
