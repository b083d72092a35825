"""What a torchvision weights entry says about its model, read from torchvision's metadata only (nothing is
downloaded): the evaluation transform (-> the manifest's preprocessing recipe), the input size, and the
constructor arguments the builder passes when it is given those weights.

A checkpoint saved from `torchvision.models.inception_v3(weights=DEFAULT)` (or fine-tuned from it) comes from a
model built with `transform_input=True`, while `inception_v3(weights=None)` builds `transform_input=False`: both
load the same state_dict (the flag has no parameters), but they compute different functions. So for torchvision
builders we build the model the way the builder does for the chosen weights entry (DEFAULT unless told otherwise),
with random weights, and then load the user's file.

torchvision 0.14's builders change these arguments when given weights (read from their source):
  every builder            num_classes = len(meta["categories"])
  googlenet, inception_v3  transform_input=True, aux_logits=True, init_weights=False; after loading, the auxiliary
                           heads are removed unless the caller asked for them (googlenet: removed by default,
                           inception_v3: kept by default) -- we follow the checkpoint: heads present, heads kept
  vit_*                    image_size = meta["min_size"][0] (518 for vit_h_14's SWAG weights)
  maxvit_t                 input_size = meta["min_size"]
  vgg*                     init_weights=False (no effect once weights are loaded)
"""
from .events import ExportError

# torchvision InterpolationMode values -> the @mtailor/preprocess filter that reproduces PIL's resize with it
# exactly (all six are Pillow 9.4's own filters; a PIL image is always resized with antialiasing, whatever
# torchvision's `antialias` says). Anything else is refused, never approximated.
PIL_FILTERS = {
    "nearest": "nearest",
    "bilinear": "bilinear",
    "bicubic": "bicubic",
    "box": "box",
    "hamming": "hamming",
    "lanczos": "lanczos",
}

AUX_PREFIXES = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}


def resolve(name: str, choice: str):
    """The weights entry of builder `name` for `choice` ('DEFAULT', an entry name such as 'IMAGENET1K_V1', or
    'none'), or None for 'none'."""
    if choice.lower() == "none":
        return None
    from torchvision import models

    try:
        enum = models.get_model_weights(name)
    except Exception as err:  # a builder without registered weights
        raise ExportError(
            "TORCHVISION_WEIGHTS_UNKNOWN",
            f"torchvision has no weights registry for {name} ({err}); pass --torchvision-weights none and --recipe",
            {"arch": name},
        ) from err
    entries = [w.name for w in enum]
    if choice == "DEFAULT":
        return enum.DEFAULT
    short = choice.split(".")[-1]  # accept 'ResNet50_Weights.IMAGENET1K_V1' as well as 'IMAGENET1K_V1'
    if short not in entries:
        raise ExportError(
            "TORCHVISION_WEIGHTS_UNKNOWN",
            f"{enum.__name__} has no entry '{choice}'; it has DEFAULT ({enum.DEFAULT.name}), {', '.join(entries)}"
            " (or none)",
            {"arch": name, "entries": entries},
        )
    return enum[short]


def full_name(weights) -> str:
    return f"{type(weights).__name__}.{weights.name}"


def builder_kwargs(name: str, weights) -> dict:
    """Constructor arguments the builder passes with `weights` (see the module docstring), minus num_classes,
    which the caller handles (the user's --num-classes wins, e.g. for a fine-tuned head)."""
    kwargs = {}
    if name in AUX_PREFIXES:
        kwargs.update(transform_input=True, aux_logits=True, init_weights=False)
    elif name.startswith("vit_"):
        kwargs["image_size"] = int(weights.meta["min_size"][0])
    elif name == "maxvit_t":
        kwargs["input_size"] = tuple(int(s) for s in weights.meta["min_size"])
    elif name.startswith("vgg"):
        kwargs["init_weights"] = False
    return kwargs


def drop_aux_heads_if_absent(model, name: str, state: dict) -> list:
    """torchvision removes googlenet's / inception_v3's auxiliary heads after loading pretrained weights unless
    asked to keep them; a checkpoint saved from such a model has no aux keys. Remove the heads when the checkpoint
    has none (they only run in training mode, so the exported function is the same). Returns the removed prefixes."""
    prefixes = AUX_PREFIXES.get(name)
    if not prefixes or any(k.startswith(prefixes) for k in state):
        return []
    if name == "googlenet" and getattr(model, "aux1", None) is not None:
        model.aux_logits = False
        model.aux1 = None
        model.aux2 = None
        return list(prefixes)
    if name == "inception_v3" and getattr(model, "AuxLogits", None) is not None:
        model.aux_logits = False
        model.AuxLogits = None
        return list(prefixes)
    return []


def eval_transform(weights) -> dict:
    """The weights' evaluation transform as plain data, or raise RECIPE_UNSUPPORTED when @mtailor/preprocess
    cannot reproduce it exactly."""
    where = full_name(weights)
    try:
        transform = weights.transforms()
    except Exception as err:
        raise _unsupported(where, f"its transforms() cannot be built ({type(err).__name__}: {err})") from err
    kind = type(transform).__name__
    if kind != "ImageClassification":
        raise _unsupported(where, f"its evaluation transform is {kind}, not torchvision's ImageClassification")
    interpolation = getattr(transform.interpolation, "value", str(transform.interpolation))
    if interpolation not in PIL_FILTERS:
        raise _unsupported(
            where,
            f"it resizes with interpolation '{interpolation}', which @mtailor/preprocess does not reproduce exactly "
            f"(it does {', '.join(PIL_FILTERS)})",
        )
    resize = [int(s) for s in transform.resize_size]
    crop = [int(s) for s in transform.crop_size]
    if len(resize) not in (1, 2) or len(crop) not in (1, 2):
        raise _unsupported(where, f"resize_size {resize} / crop_size {crop} are not 1 or 2 numbers")
    if len(crop) == 2 and crop[0] != crop[1]:
        raise _unsupported(where, f"its crop {crop} is not square")
    antialias = getattr(transform, "antialias", True)
    if antialias is False:
        raise _unsupported(where, "it resizes without antialiasing, which PIL (and @mtailor/preprocess) never does")
    return {
        "weights": where,
        "transform": kind,
        "resizeSize": resize,
        "cropSize": crop,
        "interpolation": interpolation,
        "filter": PIL_FILTERS[interpolation],
        "antialias": True,
        "mean": [float(m) for m in transform.mean],
        "std": [float(s) for s in transform.std],
        "categories": len(weights.meta.get("categories") or []),
        "minSize": [int(s) for s in weights.meta.get("min_size", (1, 1))],
    }


def _unsupported(where: str, why: str) -> ExportError:
    return ExportError(
        "RECIPE_UNSUPPORTED",
        f"The evaluation transform of {where} cannot be recorded exactly: {why}. Pass --recipe <preset|file.json> "
        "to choose the preprocessing yourself.",
        {"weights": where},
    )


def categories(weights):
    return list(weights.meta.get("categories") or [])
