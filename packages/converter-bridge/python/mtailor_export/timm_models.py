"""timm models: `timm:<model>[.<tag>]` -> an nn.Module with the user's weights, and timm's own evaluation transform
for it as plain data (-> the manifest's recipe). Nothing is downloaded: the model is built with pretrained=False
(a tag only selects its pretrained_cfg) and the weights come from a local file or folder.

The transform is what `timm.data.resolve_data_config({}, model=model)` + `create_transform(**config,
is_training=False)` build (timm/data/transforms_factory.py, transforms_imagenet_eval):
  scale_size = floor(size / crop_pct) per side
  crop_mode center, square  Resize(scale, interpolation) (shorter side) + CenterCrop(size)
  crop_mode center, other   ResizeKeepRatio(scale_size) -- with its own default interpolation, bilinear, whatever
                            the model's is -- + CenterCrop(size)
  crop_mode squash          Resize((scale_h, scale_w), interpolation) + CenterCrop(size)
  crop_mode border          ResizeKeepRatio(scale_size, interpolation, longest=1) + CenterCropOrPad(size,
                            fill=round(255 * mean))
  then ToTensor + Normalize(mean, std)
The TypeScript side turns this data into @mtailor/preprocess steps (src/hub-recipes.ts); what it cannot reproduce
exactly is refused there, never approximated.
"""
import difflib
import os

from .events import ExportError

PREFIX = "timm:"
# Weight file names timm's save_for_hf writes into a Hugging Face-format folder, preferred first.
FOLDER_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def is_timm_arch(arch: str) -> bool:
    return arch.startswith(PREFIX)


def is_timm_module(arch: str) -> bool:
    """`timm.models:convnext_tiny` style: a timm builder function imported as module:Class."""
    return arch.startswith("timm.") and ":" in arch


def import_timm():
    try:
        import timm
    except ImportError as err:
        raise ExportError(
            "TIMM_MISSING",
            f"timm is not importable by the Python running the export ({err}); install timm for it or choose "
            "another interpreter (--python / MTAILOR_PYTHON).",
        ) from err
    return timm


def build(arch: str, weights: str, num_classes, arch_kwargs: dict, allow_pickle: bool):
    """Build `timm:<model>[.<tag>]` (or, with a timm folder as weights, the folder's architecture) and load the
    weights. Returns (model, info) where info describes the model for the result and the manifest."""
    timm = import_timm()
    from . import checkpoint

    name = arch[len(PREFIX):]
    folder_cfg = None
    if os.path.isdir(weights):
        folder_cfg = _read_folder(weights)
        folder_arch = folder_cfg["architecture"]
        if name and name.split(".")[0] != folder_arch.split(".")[0]:
            raise ExportError(
                "WEIGHTS_MISMATCH",
                f"{weights} holds a timm '{folder_arch}' (its config.json) but --arch names '{name}'",
                {"path": weights, "architecture": folder_arch},
            )
        name = name or folder_arch
    if not name:
        raise ExportError("UNKNOWN_ARCH", "timm: needs a model name (timm:<model>[.<tag>]) or a timm folder as weights")
    base, _, tag = name.partition(".")
    if not timm.is_model(base):
        close = difflib.get_close_matches(base, timm.list_models(), n=3, cutoff=0.7)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ExportError(
            "UNKNOWN_ARCH",
            f"timm {timm.__version__} has no model '{base}'.{hint} (timm.list_models() lists them)",
            {"arch": arch},
        )
    if tag and folder_cfg is None:
        tags = [n.partition(".")[2] for n in timm.list_pretrained(f"{base}.*")]
        if tag not in tags:
            raise ExportError(
                "UNKNOWN_ARCH",
                f"timm model '{base}' has no pretrained tag '{tag}'; its tags: {', '.join(tags) or 'none'}",
                {"arch": arch, "tags": tags},
            )
    kwargs = dict(arch_kwargs)
    if folder_cfg is not None:
        kwargs = {**folder_cfg.get("model_args", {}), **kwargs}
        kwargs.setdefault("num_classes", folder_cfg["pretrained_cfg"].get("num_classes"))
        kwargs["pretrained_cfg"] = folder_cfg["pretrained_cfg"]
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    try:
        model = timm.create_model(name, pretrained=False, **kwargs)
    except Exception as err:
        raise ExportError(
            "ARCH_INIT_FAILED", f"timm.create_model('{name}', pretrained=False) failed: {type(err).__name__}: {err}"
        ) from err
    path = _weights_file(weights) if folder_cfg is not None else weights
    state, load_mode = load_weights(path, allow_pickle)
    checkpoint.load_into(model, state, path)
    info = {
        "timmModel": name,
        "timmVersion": timm.__version__,
        "weightsLoad": load_mode,
        "labelNames": _label_names(folder_cfg["pretrained_cfg"] if folder_cfg else model.pretrained_cfg),
        "builderKwargs": {k: v for k, v in kwargs.items() if k != "pretrained_cfg"},
    }
    return model, info


def _read_folder(folder: str) -> dict:
    config = os.path.join(folder, "config.json")
    if not os.path.isfile(config):
        raise ExportError(
            "WEIGHTS_NOT_FOUND",
            f"{folder} is a folder without config.json: a timm Hugging Face-format folder has config.json "
            "(architecture, pretrained_cfg) and model.safetensors",
            {"path": folder},
        )
    try:
        from timm.models._hub import load_model_config_from_path

        pretrained_cfg, architecture, model_args = load_model_config_from_path(folder)
    except Exception as err:
        raise ExportError(
            "WEIGHTS_UNREADABLE", f"{config} is not a timm model config: {type(err).__name__}: {err}", {"path": config}
        ) from err
    return {"architecture": architecture, "pretrained_cfg": pretrained_cfg, "model_args": model_args or {}}


def _weights_file(folder: str) -> str:
    for name in FOLDER_WEIGHTS:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise ExportError(
        "WEIGHTS_NOT_FOUND",
        f"{folder} has no weights file ({' or '.join(FOLDER_WEIGHTS)})",
        {"path": folder},
    )


def load_weights(path: str, allow_pickle: bool):
    """A `.safetensors` file (tensors only, never code) or a torch checkpoint (see checkpoint.load_state_dict)."""
    from . import checkpoint

    if not path.endswith(".safetensors"):
        return checkpoint.load_state_dict(path, allow_pickle)
    if not os.path.isfile(path):
        raise ExportError("WEIGHTS_NOT_FOUND", f"Weights file not found: {path}", {"path": path})
    try:
        from safetensors.torch import load_file

        state = load_file(path, device="cpu")
    except Exception as err:
        raise ExportError(
            "WEIGHTS_UNREADABLE", f"Cannot read safetensors {path}: {type(err).__name__}: {err}", {"path": path}
        ) from err
    return checkpoint.strip_prefixes(state), "safetensors"


def _label_names(pretrained_cfg: dict):
    names = pretrained_cfg.get("label_names") if pretrained_cfg else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names, key=int)] if all(str(k).isdigit() for k in names) else None
    return [str(n) for n in names] if isinstance(names, (list, tuple)) and names else None


def eval_transform(model) -> dict:
    """timm's evaluation transform for `model` (its pretrained_cfg): see eval_transform_of_cfg."""
    return eval_transform_of_cfg(getattr(model, "pretrained_cfg", None) or {})


def eval_transform_of_cfg(cfg: dict) -> dict:
    """timm's evaluation transform for a pretrained_cfg, as `resolve_data_config` resolves it, plus the class names
    of the transforms `create_transform(is_training=False)` builds from it, so a reader can see both."""
    from timm.data import create_transform, resolve_data_config

    config = resolve_data_config({}, pretrained_cfg=cfg)
    transform = create_transform(**config, is_training=False)
    return {
        "family": "timm",
        "model": cfg.get("architecture"),
        "tag": cfg.get("tag") or None,
        "inputSize": [int(s) for s in config["input_size"]],
        "interpolation": str(config["interpolation"]),
        "cropPct": float(config["crop_pct"]),
        "cropMode": str(config.get("crop_mode") or "center"),
        "mean": [float(m) for m in config["mean"]],
        "std": [float(s) for s in config["std"]],
        "transforms": [type(t).__name__ for t in getattr(transform, "transforms", [transform])],
    }
