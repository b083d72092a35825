"""The families' own preprocessing on real images, for the hub-recipe tests: timm's eval transform
(resolve_data_config + create_transform(is_training=False)) and transformers' image processors (both backends),
each applied to PIL.Image.open(path).convert('RGB'), plus the transform description the converter derives.

    python hub_reference.py spec.json

spec.json: {"out": dir, "images": [paths], "timm": [{"id", "name", "overlay"?}],
            "hf": [{"id", "processor": class name, "kwargs": {...}, "backend": "pil"|"torchvision"|null}]}
Writes <out>/<id>.bin (float32 little-endian [N, 3, H, W]) and prints one JSON object: {id: {"transform", "shape"}
or {"error": {"code", "message"}}}. Nothing is downloaded.
"""
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from mtailor_export import hf_models, timm_models  # noqa: E402
from mtailor_export.events import ExportError  # noqa: E402


def timm_case(case, images):
    from timm.data import create_transform, resolve_data_config
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(case["name"]).to_dict()
    cfg.update(case.get("overlay") or {})
    transform = timm_models.eval_transform_of_cfg(cfg)
    pipeline = create_transform(**resolve_data_config({}, pretrained_cfg=cfg), is_training=False)
    return transform, torch.stack([pipeline(img) for img in images])


def hf_case(case, images, out):
    import transformers

    folder = os.path.join(out, case["id"])
    pil_class = getattr(transformers, case["processor"] + "Pil")
    pil_class(**case.get("kwargs", {})).save_pretrained(folder)
    transform = hf_models.processor_transform(folder, case.get("backend"))
    processor = transformers.AutoImageProcessor.from_pretrained(
        folder, local_files_only=True, **({"backend": case["backend"]} if case.get("backend") else {})
    )
    tensors = [processor(img, return_tensors="pt")["pixel_values"][0] for img in images]
    return transform, torch.stack(tensors)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    images = []
    for path in spec["images"]:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    result = {}
    cases = [("timm", c) for c in spec.get("timm", [])] + [("hf", c) for c in spec.get("hf", [])]
    for family, case in cases:
        try:
            transform, tensor = timm_case(case, images) if family == "timm" else hf_case(case, images, spec["out"])
        except ExportError as err:
            result[case["id"]] = {"error": {"code": err.code, "message": err.message}}
            continue
        data = tensor.to(torch.float32).contiguous().numpy().astype("<f4")
        with open(os.path.join(spec["out"], case["id"] + ".bin"), "wb") as f:
            f.write(data.tobytes())
        result[case["id"]] = {"transform": transform, "shape": list(data.shape)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
