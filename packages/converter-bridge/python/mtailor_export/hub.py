"""Models from the hubs' libraries -- timm (`timm:<model>[.<tag>]`, and `timm.models:<builder>`) and Hugging Face
transformers (`--hf <folder>`) -- built with the user's weights, with the library's own evaluation preprocessing
described as data (`transform`) for the manifest. Called from export_onnx.run(); the export itself is shared.
"""
import os

from . import hf_models, timm_models
from .events import ExportError


def wanted(args) -> bool:
    return bool(args.hf) or timm_models.is_timm_arch(args.arch)


def check_inputs(args) -> None:
    """Before torch is imported (seconds): the files must exist. Nothing may be downloaded: huggingface_hub (used by
    timm and transformers) reads HF_HUB_OFFLINE when imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if args.hf:
        hf_models.check_folder(args.hf)
    elif not os.path.exists(args.weights):
        raise ExportError("WEIGHTS_NOT_FOUND", f"Weights not found: {args.weights}", {"path": args.weights})


def build(args) -> dict:
    """{model, kind, info, transform, inputSize (h, w), labelNames}."""
    if args.hf:
        transform = hf_models.processor_transform(args.hf, args.hf_backend)
        size = hf_models.output_size(transform)
        model, info = hf_models.build(args.hf)
        kind = "hf"
    else:
        model, info = timm_models.build(args.arch, args.weights, args.num_classes, args.arch_kwargs, args.allow_pickle)
        transform = timm_models.eval_transform(model)
        size = tuple(transform["inputSize"][1:])
        kind = "timm"
    return {"model": model, "kind": kind, "info": info, "transform": transform, "inputSize": size}


def checked_input_size(natural, requested, recipe_given: bool):
    """The model input (H, W): the one the model's own preprocessing makes, or the requested S×S when the caller gives
    its own recipe; RECIPE_UNSUPPORTED when they differ otherwise."""
    natural = tuple(natural)
    if requested is None:
        return natural
    if (requested, requested) != natural and not recipe_given:
        raise ExportError(
            "RECIPE_UNSUPPORTED",
            f"--input-size {requested} differs from the {natural[1]}×{natural[0]} images the model's own "
            "preprocessing makes. Pass --recipe <preset|file.json> (or no manifest), or leave --input-size out.",
            {"inputSize": requested, "natural": list(natural)},
        )
    return requested


def module_input_size(transform: dict, requested, recipe_given: bool):
    """checked_input_size for a timm builder imported as module:Class (its transform is known once it is built)."""
    return checked_input_size(transform["inputSize"][1:], requested, recipe_given)


def timm_module_transform(arch: str, model):
    """`timm.models:convnext_tiny` built as module:Class: timm's transform from the model's pretrained_cfg."""
    if not timm_models.is_timm_module(arch) or not getattr(model, "pretrained_cfg", None):
        return None
    return timm_models.eval_transform(model)


def labels(kind: str, num_classes: int, label_names):
    """('imagenet1k' | None, the class names | None): the model's own names when they fit its head, ImageNet-1k for
    a 1000-class timm head (timm's in1k class order is ImageNet's synset order), else none (the caller writes
    indices)."""
    if label_names and len(label_names) == num_classes:
        return None, list(label_names)
    if kind == "timm" and num_classes == 1000:
        return "imagenet1k", None
    return None, None
