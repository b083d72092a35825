"""Hugging Face transformers image classifiers: a `save_pretrained` folder (config.json with id2label, the weights,
preprocessor_config.json) -> an nn.Module whose forward returns the logits tensor, its labels, and the folder's
image processor as plain data (-> the manifest's recipe). Only local files are read (local_files_only; the caller
also sets HF_HUB_OFFLINE=1).

transformers 5 has two classes per image processor: `XImageProcessor` runs torchvision on uint8 tensors (its
resize is torch's antialiased interpolate) and fuses rescale + normalize into one (x - 255·mean) / (255·std) in
float32; `XImageProcessorPil` resizes with PIL and computes float32(x · rescale_factor in float64), then
(x - mean) / std in float32. `backend` picks which one the recipe reproduces; None = what AutoImageProcessor picks
by default in the installed transformers.

Processors whose `_preprocess` is the backend's own (resize, center crop, rescale, normalize: ViT, DeiT, BEiT,
MobileNet V1/V2, Swin's ViT processor, …), ConvNeXt's crop_pct resize (ResNet, ConvNeXt, RegNet, … use it) and
EfficientNet's (rescale_offset, include_top's second division by std) are described; any other (e.g. LeViT's or
PoolFormer's own resize) is refused with RECIPE_UNSUPPORTED.
"""
import json
import os

from .events import ExportError

BACKENDS = ("pil", "torchvision")
# Processors whose _preprocess is the backend's own plus segmentation-label reduction, which their image path turns
# off (`_preprocess_image_like_inputs` passes do_reduce_labels=False for images): the same steps for a classifier.
SAME_STEPS_FOR_IMAGES = ("BeitImageProcessor", "MobileNetV2ImageProcessor")
# PIL.Image.Resampling values -> names
RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def check_folder(folder: str) -> None:
    """Fail fast, before torch is imported: the folder and the three files an image classifier needs."""
    if not os.path.isdir(folder):
        raise ExportError("HF_FOLDER_INVALID", f"Not a folder: {folder} (expected a save_pretrained folder)", {"path": folder})
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise ExportError(
            "HF_FOLDER_INVALID", f"{folder} has no config.json: not a save_pretrained model folder", {"path": folder}
        )
    if not os.path.isfile(os.path.join(folder, "preprocessor_config.json")):
        raise ExportError(
            "HF_PREPROCESSOR_MISSING",
            f"{folder} has no preprocessor_config.json, so its preprocessing is unknown. Save the image processor "
            "beside the model (processor.save_pretrained(folder)).",
            {"path": folder},
        )
    weights = [f for f in os.listdir(folder) if f.endswith((".safetensors", ".bin")) or f.endswith(".safetensors.index.json")]
    if not weights:
        raise ExportError("WEIGHTS_NOT_FOUND", f"{folder} has no model.safetensors / pytorch_model.bin", {"path": folder})


def import_transformers():
    try:
        import transformers
    except ImportError as err:
        raise ExportError(
            "TRANSFORMERS_MISSING",
            f"transformers is not importable by the Python running the export ({err}); install it for that "
            "interpreter or choose another one (--python / MTAILOR_PYTHON).",
        ) from err
    return transformers


def wrap(model):
    """An nn.Module whose forward(pixel_values) returns the classifier's `.logits` tensor only."""
    import torch

    class HfLogits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.model = inner

        def forward(self, pixel_values):
            return self.model(pixel_values=pixel_values, return_dict=True).logits

    return HfLogits(model)


def build(folder: str):
    """The folder's AutoModelForImageClassification, wrapped to return its logits. Returns (model, info)."""
    transformers = import_transformers()
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    except Exception as err:
        raise ExportError(
            "HF_FOLDER_INVALID", f"{folder}/config.json cannot be read: {type(err).__name__}: {err}", {"path": folder}
        ) from err
    try:
        model = transformers.AutoModelForImageClassification.from_pretrained(folder, local_files_only=True)
    except ValueError as err:
        raise ExportError(
            "ARCH_UNSUPPORTED",
            f"{folder} is a '{config.model_type}' model, which AutoModelForImageClassification does not build: {err}",
            {"path": folder, "modelType": config.model_type},
        ) from err
    except Exception as err:
        raise ExportError(
            "WEIGHTS_UNREADABLE", f"Cannot load the model in {folder}: {type(err).__name__}: {err}", {"path": folder}
        ) from err
    model.eval()
    id2label = getattr(config, "id2label", None) or {}
    labels = [str(id2label[i]) for i in sorted(id2label)] if id2label else None
    return wrap(model), {
        "hfModelClass": type(model).__name__,
        "hfModelType": config.model_type,
        "transformersVersion": transformers.__version__,
        "labelNames": labels,
    }


def processor_transform(folder: str, backend) -> dict:
    """The folder's image processor for `backend` ('pil', 'torchvision' or None = transformers' default), as data."""
    transformers = import_transformers()
    from transformers.image_processing_backends import PilBackend, TorchvisionBackend

    kwargs = {"local_files_only": True}
    if backend is not None:
        kwargs["backend"] = backend
    try:
        processor = transformers.AutoImageProcessor.from_pretrained(folder, **kwargs)
    except Exception as err:
        raise ExportError(
            "HF_PREPROCESSOR_MISSING",
            f"{folder}/preprocessor_config.json does not load as an image processor: {type(err).__name__}: {err}",
            {"path": folder},
        ) from err
    cls = type(processor)
    used = "torchvision" if isinstance(processor, TorchvisionBackend) else "pil" if isinstance(processor, PilBackend) else None
    if used is None or (backend is not None and used != backend):
        raise ExportError(
            "RECIPE_UNSUPPORTED",
            f"{cls.__name__} is not a {backend or 'pil or torchvision'} backend image processor of transformers 5",
            {"processor": cls.__name__},
        )
    base = TorchvisionBackend if used == "torchvision" else PilBackend
    rule = "generic"
    if cls.__name__.startswith("ConvNextImageProcessor"):
        rule = "convnext"
    elif cls.__name__.startswith("EfficientNetImageProcessor"):
        rule = "efficientnet"  # rescale_offset (pixels in [-1, 1]) and include_top (a second division by std)
    else:
        checked = ("_preprocess", "resize", "center_crop", "rescale", "normalize", "rescale_and_normalize")
        if cls.__name__.removesuffix("Pil") in SAME_STEPS_FOR_IMAGES:
            checked = checked[1:]
        own = [m for m in checked if m in vars(base) and getattr(cls, m) is not getattr(base, m)]
        if own:
            raise ExportError(
                "RECIPE_UNSUPPORTED",
                f"{cls.__name__} preprocesses in its own way ({', '.join(own)} overridden), which mtailor does not "
                "reproduce; pass --recipe to choose the preprocessing yourself.",
                {"processor": cls.__name__, "overridden": own},
            )
    size = _size_dict(processor.size)
    crop = _size_dict(getattr(processor, "crop_size", None))
    resample = processor.resample
    resample = int(getattr(resample, "value", resample)) if resample is not None else 2
    mean = processor.image_mean
    std = processor.image_std
    return {
        "family": "transformers",
        "processor": cls.__name__,
        "backend": used,
        "defaultBackend": backend is None,
        "rule": rule,
        "doConvertRgb": getattr(processor, "do_convert_rgb", None),
        "doResize": bool(processor.do_resize),
        "size": size,
        "resample": RESAMPLE_NAMES.get(resample, str(resample)),
        "cropPct": float(getattr(processor, "crop_pct", None) or 0) or None,
        "doCenterCrop": bool(getattr(processor, "do_center_crop", False)),
        "cropSize": crop,
        "doRescale": bool(processor.do_rescale),
        "rescaleFactor": float(processor.rescale_factor),
        "doNormalize": bool(processor.do_normalize),
        "rescaleOffset": bool(getattr(processor, "rescale_offset", False)) if rule == "efficientnet" else False,
        "includeTop": bool(getattr(processor, "include_top", False)) if rule == "efficientnet" else False,
        "mean": [float(m) for m in (mean if isinstance(mean, (list, tuple)) else [mean] * 3)],
        "std": [float(s) for s in (std if isinstance(std, (list, tuple)) else [std] * 3)],
        "transformersVersion": transformers.__version__,
        "preprocessorConfig": _read_json(os.path.join(folder, "preprocessor_config.json")),
    }


def output_size(t: dict):
    """(height, width) of the processor's output, or raise RECIPE_UNSUPPORTED when it follows the image."""
    size, crop = t["size"] or {}, t["cropSize"] or {}
    if t["doCenterCrop"] and crop.get("height") and crop.get("width"):
        return crop["height"], crop["width"]
    if t["doResize"] and t["rule"] == "convnext" and size.get("shortest_edge"):
        return size["shortest_edge"], size["shortest_edge"]
    if t["doResize"] and size.get("height") and size.get("width"):
        return size["height"], size["width"]
    raise ExportError(
        "RECIPE_UNSUPPORTED",
        f"{t['processor']} makes images whose size follows the input (size {size}, center crop "
        f"{crop if t['doCenterCrop'] else 'off'}): the ONNX model needs one fixed input size",
        {"processor": t["processor"]},
    )


def _size_dict(size):
    if size is None:
        return None
    if hasattr(size, "items"):
        items = size.items()
    else:  # transformers' SizeDict dataclass
        items = ((k, getattr(size, k)) for k in ("height", "width", "shortest_edge", "longest_edge", "max_height", "max_width"))
    return {k: int(v) for k, v in items if v is not None}


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
