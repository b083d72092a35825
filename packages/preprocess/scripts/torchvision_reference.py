"""Reference outputs of today's torchvision / timm / transformers for @mtailor/preprocess's parity tests.

Run with today's PyTorch stack (torch 2.x, torchvision, timm, transformers 5, Pillow, numpy):

    .venv-today/bin/python packages/preprocess/scripts/torchvision_reference.py --images ../shared/images --out /tmp/tv

Writes into --out only:
  manifest.json   versions + one entry per case
  in/*.raw        input pixels, HWC uint8 (PIL's decode of each shared image converted to RGB; seeded synthetic
                  gray / RGB / RGBA images)
  out/*.raw       expected uint8 pixels, HWC
  out/*.f32       expected float32 tensors, little-endian, CHW

Case kinds:
  "resize"     torchvision.transforms.v2.functional.resize(uint8 tensor, [h, w] or [shorter side], interpolation,
               antialias=True), the tensor made as transformers and torchvision v2 make it (pil_to_tensor: a
               channels-last view); the same resize of the contiguous copy must give the same bytes, else the case
               records formatsAgree: false.
  "centerCrop" transformers' two center_crop implementations (torchvision and PIL backend) on small images,
               padding included.
  "pipeline"   a whole library pipeline on a shared image: timm's eval transform (create_transform), or a
               transformers image processor with its torchvision or PIL backend; "recipe" is the @mtailor/preprocess
               recipe that must give the same tensor.
"""
import argparse
import json
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as tvF

INTERPOLATION = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "lanczos": InterpolationMode.LANCZOS,
}
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
HALF = [0.5, 0.5, 0.5]
EFFICIENTNET_STD = [0.47853944, 0.4732864, 0.47434163]  # google/efficientnet-* preprocessor_config.json

# Resizes of every shared image: (filter, size) with size [h, w] or [shorter side].
IMAGE_RESIZES = [
    ("bilinear", [224, 224]), ("bicubic", [224, 224]), ("bilinear", [256]), ("bicubic", [97, 160]), ("lanczos", [384]),
]


def write_raw(out_dir, rel, array):
    with open(os.path.join(out_dir, rel), "wb") as f:
        f.write(np.ascontiguousarray(array).tobytes())


def hwc(tensor):
    """CHW uint8 tensor -> HWC numpy array."""
    return tensor.permute(1, 2, 0).contiguous().numpy()


def tensor_of(array):
    """HWC uint8 numpy array -> CHW tensor as pil_to_tensor makes it (a channels-last view of the pixels)."""
    return torch.from_numpy(np.array(array, copy=True)).permute(2, 0, 1)


def tv_resize(array, size, filt):
    """Resizes with both memory formats; returns (HWC bytes, whether both formats agree)."""
    view = tensor_of(array)
    a = tvF.resize(view, size, interpolation=INTERPOLATION[filt], antialias=True)
    b = tvF.resize(view.contiguous(), size, interpolation=INTERPOLATION[filt], antialias=True)
    return hwc(a), bool(torch.equal(a, b))


def synthetic(rng, w, h, channels):
    """Seeded image: smooth gradients + noise + hard 0/255 edges (so bicubic overshoots and clips)."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 255 // max(w - 1, 1) + yy * 127 // max(h - 1, 1)) % 256
    noise = rng.integers(0, 256, size=(h, w, channels))
    img = np.where(rng.random((h, w, channels)) < 0.5, base[..., None], noise).astype(np.uint8)
    img[:, : max(1, w // 7)] = 255
    img[: max(1, h // 9)] = 0
    return img


def resize_cases(args, out_dir, cases):
    names = sorted(n for n in os.listdir(args.images) if not n.startswith("."))
    if args.limit:
        names = names[: args.limit]
    for i, name in enumerate(names):
        rgb = np.asarray(Image.open(os.path.join(args.images, name)).convert("RGB"))
        h, w = rgb.shape[:2]
        rel_in = f"in/img{i}.raw"
        write_raw(out_dir, rel_in, rgb)
        for j, (filt, size) in enumerate(IMAGE_RESIZES):
            out, agree = tv_resize(rgb, size, filt)
            rel = f"out/img{i}-{j}.raw"
            write_raw(out_dir, rel, out)
            cases.append(
                dict(id=f"{name} {filt} {size}", kind="resize", source="image", input=rel_in, width=w, height=h,
                     channels=3, filter=filt, size=size, outWidth=out.shape[1], outHeight=out.shape[0],
                     expected=rel, formatsAgree=agree)
            )
    rng = np.random.default_rng(21)
    sizes = [
        ((37, 23), (224, 224)), ((333, 251), (224, 224)), ((97, 101), (13, 17)), ((5, 4), (401, 3)),
        ((2, 2), (7, 9)), ((3, 2), (1000, 1)), ((1000, 10), (7, 3)), ((997, 503), (10, 5)), ((2000, 3), (224, 224)),
        ((1, 50), (3, 7)), ((50, 1), (10, 1)), ((1, 1), (5, 3)), ((64, 48), (64, 20)), ((64, 48), (20, 48)),
        ((640, 480), (224, 224)), ((500, 375), (341, 256)), ((4000, 3), (13, 3)),
    ]
    while len(sizes) < args.random_pairs + 17:
        w, h = (int(v) for v in rng.integers(1, 400, size=2))
        ow, oh = (int(v) for v in rng.integers(1, 400, size=2))
        sizes.append(((w, h), (ow, oh)))
    for k, ((w, h), (ow, oh)) in enumerate(sizes):
        channels = [3, 1, 4][k % 3]
        img = synthetic(rng, w, h, channels)
        rel_in = f"in/syn{k}.raw"
        write_raw(out_dir, rel_in, img)
        for filt in INTERPOLATION:
            out, agree = tv_resize(img, [oh, ow], filt)
            rel = f"out/syn{k}-{filt}.raw"
            write_raw(out_dir, rel, out)
            cases.append(
                dict(id=f"synthetic {w}x{h}x{channels} -> {ow}x{oh} {filt}", kind="resize", source="synthetic",
                     input=rel_in, width=w, height=h, channels=channels, filter=filt, size=[oh, ow],
                     outWidth=ow, outHeight=oh, expected=rel, formatsAgree=agree)
            )


def center_crop_cases(out_dir, cases):
    from transformers.image_processing_backends import PilBackend, TorchvisionBackend
    from transformers.image_utils import SizeDict

    tv_backend = TorchvisionBackend()
    pil_backend = PilBackend()
    rng = np.random.default_rng(7)
    crops = [((9, 7), (4, 3)), ((10, 8), (3, 5)), ((5, 6), (9, 6)), ((4, 4), (7, 10)), ((11, 3), (6, 8)), ((2, 9), (5, 2))]
    for k, ((w, h), (cw, ch)) in enumerate(crops):
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        rel_in = f"in/crop{k}.raw"
        write_raw(out_dir, rel_in, img)
        size = SizeDict(height=ch, width=cw)
        results = {
            "transformers-torchvision": hwc(tv_backend.center_crop(tensor_of(img).contiguous(), size)),
            "transformers-pil": np.transpose(pil_backend.center_crop(np.transpose(img, (2, 0, 1)), size), (1, 2, 0)),
        }
        for offsets, out in results.items():
            rel = f"out/crop{k}-{offsets}.raw"
            write_raw(out_dir, rel, out)
            cases.append(
                dict(id=f"center_crop {w}x{h} -> {cw}x{ch} {offsets}", kind="centerCrop", source="synthetic",
                     input=rel_in, width=w, height=h, channels=3, cropWidth=cw, cropHeight=ch, offsets=offsets,
                     outWidth=out.shape[1], outHeight=out.shape[0], expected=rel)
            )


def tensor_recipe(mean, std, formula):
    return {"mean": mean, "std": std, "scale": 255, "formula": formula}


def timm_pipelines():
    """(label, create_transform kwargs, recipe steps, tensor options) for timm's eval transforms."""
    from timm.data import create_transform

    def make(**kw):
        return create_transform(is_training=False, **kw)

    border_fill = [round(255 * v) for v in HALF]
    return [
        ("timm center 224 crop_pct 0.95 bicubic", make(input_size=224, crop_pct=0.95, interpolation="bicubic"),
         [{"op": "resizeShorterSide", "size": 235, "filter": "bicubic"}, {"op": "centerCrop", "width": 224, "height": 224}],
         tensor_recipe(IMAGENET_MEAN, IMAGENET_STD, "torchvision")),
        ("timm center (192, 256) crop_pct 0.9 (non-square: ResizeKeepRatio)",
         make(input_size=(3, 192, 256), crop_pct=0.9, interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD),
         [{"op": "resizeKeepRatio", "width": 284, "height": 213, "longest": 0, "filter": "bilinear"},
          {"op": "centerCrop", "width": 256, "height": 192}],
         tensor_recipe(CLIP_MEAN, CLIP_STD, "torchvision")),
        ("timm squash 224 crop_pct 0.875 bilinear",
         make(input_size=224, crop_pct=0.875, crop_mode="squash", interpolation="bilinear", mean=HALF, std=HALF),
         [{"op": "resize", "width": 256, "height": 256, "filter": "bilinear"}, {"op": "centerCrop", "width": 224, "height": 224}],
         tensor_recipe(HALF, HALF, "torchvision")),
        ("timm border (240, 200) crop_pct 1.0 bicubic",
         make(input_size=(3, 240, 200), crop_pct=1.0, crop_mode="border", interpolation="bicubic", mean=HALF, std=HALF),
         [{"op": "resizeKeepRatio", "width": 200, "height": 240, "longest": 1, "filter": "bicubic"},
          {"op": "centerCrop", "width": 200, "height": 240, "fill": border_fill}],
         tensor_recipe(HALF, HALF, "torchvision")),
    ]


def transformers_pipelines():
    """(label, processor, recipe steps, tensor options) for transformers' processors, both backends."""
    from transformers import (
        ConvNextImageProcessor,
        ConvNextImageProcessorPil,
        EfficientNetImageProcessor,
        EfficientNetImageProcessorPil,
        ViTImageProcessor,
        ViTImageProcessorPil,
    )

    out = []
    for backend, vit_cls, convnext_cls in (
        ("torchvision", ViTImageProcessor, ConvNextImageProcessor),
        ("pil", ViTImageProcessorPil, ConvNextImageProcessorPil),
    ):
        formula = f"transformers-{backend}"
        # ViT's defaults: resize to 224×224 bilinear (PILImageResampling 2), rescale 1/255, normalize 0.5.
        out.append((f"transformers ViT {backend}", vit_cls(),
                    [{"op": "resize", "width": 224, "height": 224, "filter": "bilinear", "backend": backend}],
                    tensor_recipe(HALF, HALF, formula)))
        # ConvNeXt below 384: shortest edge int(224 / 0.875) = 256 bicubic, center crop 224, ImageNet mean/std.
        out.append((f"transformers ConvNeXt {backend}", convnext_cls(size={"shortest_edge": 224}, crop_pct=0.875, image_mean=IMAGENET_MEAN,
                                 image_std=IMAGENET_STD),
                    [{"op": "resizeShorterSide", "size": 256, "filter": "bicubic", "backend": backend},
                     {"op": "centerCrop", "width": 224, "height": 224, "offsets": formula}],
                    tensor_recipe(IMAGENET_MEAN, IMAGENET_STD, formula)))
    # EfficientNet: include_top (its default) divides by std a second time; rescale_offset maps pixels to [-1, 1]
    # and stops the torchvision backend from fusing rescale and normalize.
    effnet = dict(size={"height": 224, "width": 224}, image_mean=IMAGENET_MEAN, image_std=EFFICIENTNET_STD)
    resize = [{"op": "resize", "width": 224, "height": 224, "filter": "bicubic"}]
    for backend, cls, offset in (
        ("torchvision", EfficientNetImageProcessor, False),
        ("torchvision", EfficientNetImageProcessor, True),
        ("pil", EfficientNetImageProcessorPil, True),
    ):
        tensor = tensor_recipe(IMAGENET_MEAN, EFFICIENTNET_STD, f"transformers-{backend}")
        tensor["divideByStdTwice"] = True
        if offset:
            tensor["rescaleOffset"] = 1
        out.append((f"transformers EfficientNet {backend} rescale_offset={offset}",
                    cls(rescale_offset=offset, include_top=True, **effnet),
                    [dict(step, backend=backend) for step in resize], tensor))
    return out


def pipeline_cases(args, out_dir, cases):
    names = sorted(n for n in os.listdir(args.images) if not n.startswith("."))[: args.pipeline_images]
    pipelines = [(label, "timm", t, steps, tensor) for label, t, steps, tensor in timm_pipelines()]
    pipelines += [(label, "transformers", p, steps, tensor) for label, p, steps, tensor in transformers_pipelines()]
    for i, name in enumerate(names):
        pil = Image.open(os.path.join(args.images, name)).convert("RGB")
        rgb = np.asarray(pil)
        rel_in = f"in/pipe{i}.raw"
        write_raw(out_dir, rel_in, rgb)
        for j, (label, family, run, steps, tensor) in enumerate(pipelines):
            if family == "timm":
                out = run(pil)
            else:
                out = run(pil, return_tensors="pt")["pixel_values"][0]
            out = out.to(torch.float32).contiguous().numpy()
            rel = f"out/pipe{i}-{j}.f32"
            write_raw(out_dir, rel, out.astype("<f4"))
            cases.append(
                dict(id=f"{name} {label}", kind="pipeline", source="image", input=rel_in, width=rgb.shape[1],
                     height=rgb.shape[0], channels=3, recipe={"steps": steps, "tensor": tensor},
                     outWidth=out.shape[2], outHeight=out.shape[1], expected=rel)
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=0, help="only the first N shared images for the resizes")
    parser.add_argument("--random-pairs", type=int, default=60, help="seeded random size pairs of the sweep")
    parser.add_argument("--pipeline-images", type=int, default=104, help="shared images run through the pipelines")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(os.path.join(args.out, "in"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "out"), exist_ok=True)
    cases = []
    resize_cases(args, args.out, cases)
    center_crop_cases(args.out, cases)
    pipeline_cases(args, args.out, cases)
    import timm
    import transformers

    manifest = dict(torch=torch.__version__, torchvision=torchvision.__version__, timm=timm.__version__,
                    transformers=transformers.__version__, cpuCapability=torch.backends.cpu.get_cpu_capability(),
                    cases=cases)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
