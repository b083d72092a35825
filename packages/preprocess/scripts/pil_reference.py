#!/usr/bin/python3
"""Reference outputs of the real Pillow / torchvision for @mtailor/preprocess's parity tests.

Run with Debian's interpreter (Pillow 9.4, torchvision 0.14, numpy):

    /usr/bin/python3 packages/preprocess/scripts/pil_reference.py --images ../shared/images --out /tmp/pp-ref

Writes into --out (nothing is written anywhere else):
  manifest.json   versions + one entry per case (kind, input file, parameters, expected file)
  in/*.raw        input pixels, HWC uint8: PIL's decode of each shared image (its own mode: L or RGB) and the
                  seeded synthetic images (L, RGB, RGBA)
  out/*.raw       expected uint8 pixels (Image.resize, torchvision Resize/CenterCrop on PIL images)
  out/*.f32       expected float32 tensors, little-endian, CHW (torchvision ToTensor + Normalize)

Case kinds: "resize" (Image.resize for each filter), "resizeShorterSide" (torchvision F.resize with an int),
"centerCrop" (torchvision F.center_crop), "tensor" (a whole torchvision pipeline; "preset" names the
@mtailor/preprocess preset it must equal, otherwise "tensor" gives mean/std for a ToTensor + Normalize only).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# (input width, height) -> (output width, height): odd sizes, upscales, large downscales, extreme aspect ratios,
# 1×N / N×1 / 1×1, and resizes along one axis only (Pillow then skips the other pass).
SYNTHETIC_RESIZES = [
    ((37, 23), (224, 224)),
    ((333, 251), (224, 224)),
    ((97, 101), (13, 17)),
    ((5, 4), (401, 3)),
    ((17, 13), (300, 200)),
    ((2, 2), (7, 9)),
    ((3, 2), (1000, 1)),
    ((1000, 10), (7, 3)),
    ((997, 503), (10, 5)),
    ((2000, 3), (224, 224)),
    ((300, 7), (11, 60)),
    ((1, 50), (3, 7)),
    ((50, 1), (10, 1)),
    ((1, 100), (1, 33)),
    ((100, 1), (33, 1)),
    ((1, 1), (5, 3)),
    ((1, 1), (1, 2)),
    ((64, 48), (64, 20)),
    ((64, 48), (20, 48)),
    ((64, 48), (65, 48)),
    ((640, 480), (224, 224)),
]
# Sizes for the shared (real) images, besides 224×224: a non-square downscale and one that upscales the height
# of the smaller images.
REAL_SIZES = [(224, 224), (160, 97), (61, 300)]
# torchvision Resize(int) cases: (input w, h, size, max_size).
SHORTER_SIDE = [
    (500, 375, 256, None),
    (375, 500, 256, None),
    (256, 300, 256, None),  # short side already 256: returned unchanged
    (300, 256, 256, None),
    (257, 1000, 256, None),
    (1000, 999, 224, None),
    (33, 77, 256, None),  # upscale
    (640, 480, 256, 300),  # max_size caps the long side
    (100, 900, 64, 200),
    (7, 3, 5, None),
]
# torchvision CenterCrop cases: (input w, h, crop w, crop h): odd margins (half-to-even rounding) and crops larger
# than the image (zero padding), on one or both axes.
CENTER_CROPS = [
    (341, 256, 224, 224),
    (256, 341, 224, 224),
    (227, 225, 224, 224),
    (301, 300, 224, 224),
    (101, 51, 100, 50),
    (103, 53, 100, 50),
    (105, 55, 100, 50),
    (200, 150, 224, 224),
    (150, 250, 224, 224),
    (250, 150, 224, 224),
    (7, 5, 10, 3),
    (7, 5, 12, 14),
    (1, 1, 2, 3),
    (224, 224, 224, 224),
]


class Writer:
    def __init__(self, out_dir):
        self.out = out_dir
        os.makedirs(os.path.join(out_dir, "in"), exist_ok=True)
        os.makedirs(os.path.join(out_dir, "out"), exist_ok=True)
        self.cases = []
        self.inputs = {}
        self.synthetic = {}

    def synthetic_input(self, rng, width, height, mode, pattern):
        """A seeded synthetic image, generated once per (size, mode, pattern), and its input descriptor."""
        name = f"syn_{mode}_{pattern}_{width}x{height}"
        if name not in self.synthetic:
            self.synthetic[name] = synthetic_image(rng, width, height, mode, pattern)
        im = self.synthetic[name]
        return name, im, self.input(name, im)

    def input(self, name, im):
        """Writes a PIL image's pixels (HWC uint8) once and returns its descriptor."""
        if name not in self.inputs:
            rel = f"in/{name}.raw"
            np.asarray(im, dtype=np.uint8).tofile(os.path.join(self.out, rel))
            self.inputs[name] = {
                "input": rel,
                "width": im.size[0],
                "height": im.size[1],
                "channels": CHANNELS[im.mode],
            }
        return dict(self.inputs[name])

    def expected(self, case_id, array, ext):
        rel = f"out/{case_id}.{ext}"
        array.tofile(os.path.join(self.out, rel))
        return rel

    def add(self, case):
        self.cases.append(case)


def synthetic_image(rng, width, height, mode, pattern):
    channels = CHANNELS[mode]
    if pattern == "noise":
        a = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    else:  # 0/255 blocks with a few mid values: hard edges that make bicubic/lanczos overshoot (clipping)
        a = (rng.integers(0, 2, (height, width, channels)) * 255).astype(np.uint8)
        a[rng.random((height, width, channels)) < 0.1] = 128
    if mode == "RGBA":
        # Include fully transparent and fully opaque pixels: both skip Pillow's unpremultiply division.
        alpha = a[:, :, 3]
        alpha[rng.random((height, width)) < 0.15] = 0
        alpha[rng.random((height, width)) < 0.15] = 255
    return Image.fromarray(a[:, :, 0] if channels == 1 else a, mode)


def resize_cases(w, rng):
    for mode in ("L", "RGB", "RGBA"):
        for pattern in ("noise", "edges"):
            for (iw, ih), (ow, oh) in SYNTHETIC_RESIZES:
                if pattern == "edges" and iw * ih > 200_000:
                    continue
                name, im, src = w.synthetic_input(rng, iw, ih, mode, pattern)
                for fname, fval in FILTERS.items():
                    case_id = f"resize_{name}_to_{ow}x{oh}_{fname}"
                    out = np.asarray(im.resize((ow, oh), fval), dtype=np.uint8)
                    w.add({
                        "id": case_id, "kind": "resize", "source": "synthetic", **src,
                        "outWidth": ow, "outHeight": oh, "filter": fname,
                        "expected": w.expected(case_id, out, "raw"),
                    })


def sweep_cases(w, rng, count):
    """Random size pairs (seeded): many distinct scale factors, so that every filter's weights are exercised
    at scales the fixed list does not hit (up and down, wide and narrow)."""
    modes = ("L", "RGB", "RGBA")
    for i in range(count):
        mode = modes[i % 3]
        iw, ih = int(rng.integers(1, 2500)), int(rng.integers(1, 24))
        ow, oh = int(rng.integers(1, 700)), int(rng.integers(1, 48))
        name, im, src = w.synthetic_input(rng, iw, ih, mode, "noise")
        for fname, fval in FILTERS.items():
            case_id = f"sweep_{name}_to_{ow}x{oh}_{fname}"
            out = np.asarray(im.resize((ow, oh), fval), dtype=np.uint8)
            w.add({
                "id": case_id, "kind": "resize", "source": "synthetic", **src,
                "outWidth": ow, "outHeight": oh, "filter": fname,
                "expected": w.expected(case_id, out, "raw"),
            })


def real_image_cases(w, images_dir, limit, tv):
    names = sorted(f for f in os.listdir(images_dir) if f.lower().endswith((".jpeg", ".jpg", ".png", ".webp")))
    if limit:
        names = names[:limit]
    for fname in names:
        stem = os.path.splitext(fname)[0]
        with Image.open(os.path.join(images_dir, fname)) as opened:
            opened.load()
            native = opened if opened.mode in CHANNELS else opened.convert("RGB")
            rgb = opened.convert("RGB")
        src_native = w.input(f"img_{stem}", native)
        src_rgb = w.input(f"img_{stem}_rgb", rgb) if native.mode != "RGB" else src_native
        for ow, oh in REAL_SIZES:
            for filt, fval in FILTERS.items():
                case_id = f"resize_img_{stem}_to_{ow}x{oh}_{filt}"
                out = np.asarray(rgb.resize((ow, oh), fval), dtype=np.uint8)
                w.add({
                    "id": case_id, "kind": "resize", "source": "image", "image": fname, **src_rgb,
                    "outWidth": ow, "outHeight": oh, "filter": filt,
                    "expected": w.expected(case_id, out, "raw"),
                })
        if native.mode == "L":  # the grayscale JPEGs, resized in their own mode
            for filt, fval in FILTERS.items():
                case_id = f"resize_img_{stem}_L_to_224x224_{filt}"
                out = np.asarray(native.resize((224, 224), fval), dtype=np.uint8)
                w.add({
                    "id": case_id, "kind": "resize", "source": "image", "image": fname, **src_native,
                    "outWidth": 224, "outHeight": 224, "filter": filt,
                    "expected": w.expected(case_id, out, "raw"),
                })
        if tv is not None:
            for preset, transform in tv["presets"].items():
                case_id = f"tensor_img_{stem}_{preset}"
                # What users write: Image.open(path).convert('RGB') then the torchvision transform.
                tensor = transform(rgb).numpy().astype("<f4")
                w.add({
                    "id": case_id, "kind": "tensor", "source": "image", "image": fname, **src_native,
                    "preset": preset, "outWidth": int(tensor.shape[2]), "outHeight": int(tensor.shape[1]),
                    "expected": w.expected(case_id, tensor, "f32"),
                })
    return len(names)


def torchvision_cases(w, rng, tv):
    T, F = tv["T"], tv["F"]
    for iw, ih, size, max_size in SHORTER_SIDE:
        for mode in ("RGB", "RGBA", "L"):
            name, im, src = w.synthetic_input(rng, iw, ih, mode, "noise")
            for filt in ("bilinear", "bicubic", "nearest"):
                case_id = f"shorter_{name}_{size}_{max_size}_{filt}"
                out_im = F.resize(im, size, interpolation=tv["modes"][filt], max_size=max_size)
                case = {
                    "id": case_id, "kind": "resizeShorterSide", "source": "synthetic", **src,
                    "size": size, "filter": filt, "outWidth": out_im.size[0], "outHeight": out_im.size[1],
                    "expected": w.expected(case_id, np.asarray(out_im, dtype=np.uint8), "raw"),
                }
                if max_size is not None:
                    case["maxSize"] = max_size
                w.add(case)
    for iw, ih, cw, ch in CENTER_CROPS:
        for mode in ("RGB", "RGBA", "L"):
            name, im, src = w.synthetic_input(rng, iw, ih, mode, "noise")
            case_id = f"crop_{name}_{cw}x{ch}"
            out_im = F.center_crop(im, [ch, cw])
            w.add({
                "id": case_id, "kind": "centerCrop", "source": "synthetic", **src,
                "cropWidth": cw, "cropHeight": ch, "outWidth": out_im.size[0], "outHeight": out_im.size[1],
                "expected": w.expected(case_id, np.asarray(out_im, dtype=np.uint8), "raw"),
            })
    # Every byte value in every channel, with ImageNet and with other normalisations (incl. a negative std).
    ramp = np.stack(
        [np.arange(256, dtype=np.uint8), np.arange(255, -1, -1, dtype=np.uint8), rng.permutation(256).astype(np.uint8)],
        axis=-1,
    ).reshape(16, 16, 3)
    ramp_im = Image.fromarray(ramp, "RGB")
    src = w.input("syn_RGB_ramp_16x16", ramp_im)
    for label, mean, std in (
        ("imagenet", IMAGENET_MEAN, IMAGENET_STD),
        ("half", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ("odd", [0.1, -0.3, 0.7], [0.3, 1.7, -0.05]),
        ("identity", [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    ):
        case_id = f"tensor_ramp_{label}"
        tensor = T.Compose([T.ToTensor(), T.Normalize(mean, std)])(ramp_im).numpy().astype("<f4")
        w.add({
            "id": case_id, "kind": "tensor", "source": "synthetic", **src,
            "tensor": {"mean": mean, "std": std}, "outWidth": 16, "outHeight": 16,
            "expected": w.expected(case_id, tensor, "f32"),
        })
    # Presets on synthetic RGBA / gray inputs (toRGB first, as convert('RGB') does).
    for mode, (iw, ih) in (("RGBA", (300, 200)), ("L", (199, 401)), ("RGB", (224, 224)), ("RGB", (256, 256))):
        name, im, src = w.synthetic_input(rng, iw, ih, mode, "noise")
        for preset, transform in tv["presets"].items():
            case_id = f"tensor_{name}_{preset}"
            tensor = transform(im.convert("RGB")).numpy().astype("<f4")
            w.add({
                "id": case_id, "kind": "tensor", "source": "synthetic", **src, "preset": preset,
                "outWidth": int(tensor.shape[2]), "outHeight": int(tensor.shape[1]),
                "expected": w.expected(case_id, tensor, "f32"),
            })


def load_torchvision():
    import torch
    import torchvision
    import torchvision.transforms as T
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode

    torch.set_num_threads(1)
    normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    return {
        "T": T,
        "F": F,
        "version": torchvision.__version__,
        "torch_version": torch.__version__,
        "modes": {
            "nearest": InterpolationMode.NEAREST,
            "bilinear": InterpolationMode.BILINEAR,
            "bicubic": InterpolationMode.BICUBIC,
        },
        "presets": {
            "resize-224": T.Compose([T.Resize((224, 224)), T.ToTensor(), normalize]),
            "imagenet-eval": T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), normalize]),
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, help="folder of images (e.g. ../shared/images)")
    parser.add_argument("--out", required=True, help="output folder (created; use a temporary folder)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    parser.add_argument("--skip-torch", action="store_true", help="Pillow cases only (no torch/torchvision)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the synthetic images")
    parser.add_argument("--sweep", type=int, default=240, help="number of random size pairs (each × 6 filters)")
    args = parser.parse_args(argv)

    if not os.path.isdir(args.images):
        parser.error(f"--images {args.images} is not a folder")
    tv = None if args.skip_torch else load_torchvision()
    rng = np.random.default_rng(args.seed)
    w = Writer(args.out)
    resize_cases(w, rng)
    sweep_cases(w, rng, args.sweep)
    n_images = real_image_cases(w, args.images, args.limit, tv)
    if tv is not None:
        torchvision_cases(w, rng, tv)
    manifest = {
        "pillow": Image.__version__,
        "numpy": np.__version__,
        "torchvision": tv["version"] if tv else None,
        "torch": tv["torch_version"] if tv else None,
        "images": n_images,
        "seed": args.seed,
        "cases": w.cases,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    kinds = {}
    for c in w.cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print(f"wrote {len(w.cases)} cases ({kinds}) for {n_images} images to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
