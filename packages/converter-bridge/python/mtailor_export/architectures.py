"""Architecture name -> an nn.Module with random weights (never downloads anything).

Three kinds of names:
  seed-resnet18            the seed project's ResNet-18 `Classifier` (our own definition, torchvision key names)
  resnet18, mobilenet_v2   any classification builder of torchvision.models, called with weights=None
  pkg.module:ClassName     a user's nn.Module subclass (its folder given with --module-path)
"""
import difflib
import importlib
import sys

from .events import ExportError

SEED_ARCHES = ("seed-resnet18",)


# Builders refused before anything is exported, with the reason (filled from the zoo run: see the README).
UNSUPPORTED = {}


def kind_of(arch: str) -> str:
    """'seed', 'user' (module.path:ClassName) or 'torchvision'."""
    if arch in SEED_ARCHES:
        return "seed"
    return "user" if ":" in arch else "torchvision"


def check_torchvision_arch(arch: str):
    """Raise UNKNOWN_ARCH / TORCHVISION_MISSING / ARCH_UNSUPPORTED for a torchvision name before any work."""
    _torchvision_builder(arch)
    if arch in UNSUPPORTED:
        raise ExportError("ARCH_UNSUPPORTED", f"{arch} cannot be converted: {UNSUPPORTED[arch]}", {"arch": arch})


def build_model(arch: str, num_classes, arch_kwargs: dict, module_paths, implied_kwargs=None):
    """Instantiate `arch`. `num_classes` (None = the architecture's default) is passed as a keyword argument.
    `implied_kwargs` (torchvision builders) are the constructor arguments the builder passes for the chosen
    weights entry; the caller's own `arch_kwargs` win over them. Returns (model, the kwargs used)."""
    kwargs = {**(implied_kwargs or {}), **arch_kwargs}
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if arch in SEED_ARCHES:
        from .seed_classifier import Classifier

        return _construct(Classifier, arch, kwargs), kwargs
    if ":" in arch:
        return _construct(_import_user_class(arch, module_paths), arch, kwargs), kwargs
    return _construct(_torchvision_builder(arch), arch, {"weights": None, **kwargs}), kwargs


def _construct(factory, arch: str, kwargs: dict):
    import torch

    try:
        model = factory(**kwargs)
    except Exception as err:  # the user's constructor can raise anything
        raise ExportError(
            "ARCH_INIT_FAILED", f"Constructing {arch}({_show_kwargs(kwargs)}) failed: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(model, torch.nn.Module):
        raise ExportError("ARCH_INIT_FAILED", f"{arch} did not build a torch.nn.Module (got {type(model).__name__})")
    return model


def _show_kwargs(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _torchvision_builder(name: str):
    try:
        import torchvision.models as models
    except ImportError as err:
        raise ExportError(
            "TORCHVISION_MISSING",
            f"torchvision is not importable by {sys.executable} ({err}); it is needed for the torchvision "
            f"architecture '{name}'. Install torchvision, or use seed-resnet18 or module:Class.",
        ) from err
    known = _torchvision_classifiers(models)
    if name not in known:
        close = difflib.get_close_matches(name.lower().replace("-", "_"), list(SEED_ARCHES) + known, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ExportError(
            "UNKNOWN_ARCH",
            f"Unknown architecture '{name}'.{hint} Use seed-resnet18, a torchvision.models classification builder "
            f"({', '.join(known)}), or module.path:ClassName with --module-path.",
            {"arch": name, "known": list(SEED_ARCHES) + known},
        )
    return getattr(models, name) if not hasattr(models, "get_model_builder") else models.get_model_builder(name)


def _torchvision_classifiers(models) -> list:
    if hasattr(models, "list_models"):  # torchvision >= 0.14
        return sorted(models.list_models(module=models))
    return sorted(n for n in dir(models) if n[:1].islower() and callable(getattr(models, n)) and not n.startswith("_"))


def _import_user_class(spec: str, module_paths):
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ExportError("UNKNOWN_ARCH", f"'{spec}' is not of the form module.path:ClassName", {"arch": spec})
    for folder in reversed(module_paths or []):
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise ExportError(
            "UNKNOWN_ARCH",
            f"Cannot import module '{module_name}' for {spec}: {type(err).__name__}: {err}"
            f" (searched --module-path {module_paths or []} and sys.path)",
            {"arch": spec},
        ) from err
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ExportError("UNKNOWN_ARCH", f"Module '{module_name}' has no attribute '{class_name}'", {"arch": spec})
    return cls
