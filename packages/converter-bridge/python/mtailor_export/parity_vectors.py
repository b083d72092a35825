"""Parity vectors: a few preprocessed inputs and PyTorch's logits for them, written beside the ONNX model so that
any runtime (our TypeScript `checkParity`) can prove it computes the same function.

Files: `<model>.parity.bin` holds float32 little-endian arrays back to back (inputs [N,3,S,S], then logits
[N,C]); `<model>.parity.json` describes them (offsets in bytes, shapes, dtype, how the inputs were made, versions).
"""
import json
import os

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# The parity rule checkParity applies by default: |onnx - torch| <= ATOL + RTOL * |torch| element-wise (numpy's
# allclose), plus the same top-1 per sample. Recorded in the parity file for readers; see the README for the zoo
# measurements behind the values.
DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


def make_inputs(input_size, calibration_images, samples: int, seed: int):
    """Inputs as a float32 tensor [N, 3, H, W] (input_size: S for S×S, or (H, W)) plus a description of their
    origin."""
    import torch

    height, width = (input_size, input_size) if isinstance(input_size, int) else input_size

    if calibration_images:
        return _preprocess_images(calibration_images, (height, width)), {
            "kind": "images",
            "images": [os.path.abspath(p) for p in calibration_images],
            "preprocessing": {
                "decode": "PIL.Image.open(path).convert('RGB')",
                "resize": [height, width],
                "interpolation": "bilinear (torchvision Resize((s, s)), antialias as torchvision's default)",
                "scale": "ToTensor (x / 255)",
                "mean": IMAGENET_MEAN,
                "std": IMAGENET_STD,
            },
        }
    generator = torch.Generator().manual_seed(seed)
    # Standard normal values look like normalised ImageNet pixels (mean 0, std 1 per channel).
    inputs = torch.randn(samples, 3, height, width, generator=generator, dtype=torch.float32)
    return inputs, {"kind": "random", "seed": seed, "distribution": "standard normal (torch.randn)"}


def _preprocess_images(paths, input_size):
    import torch

    from .events import ExportError

    try:
        from PIL import Image
        from torchvision import transforms
    except ImportError as err:
        raise ExportError("CALIBRATION_FAILED", f"--calibration-images needs Pillow and torchvision: {err}") from err
    transform = transforms.Compose(
        [
            transforms.Resize(tuple(input_size)),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    tensors = []
    for path in paths:
        try:
            with Image.open(path) as img:
                tensors.append(transform(img.convert("RGB")))
        except Exception as err:
            raise ExportError(
                "CALIBRATION_FAILED", f"Cannot read calibration image {path}: {type(err).__name__}: {err}", {"path": path}
            ) from err
    return torch.stack(tensors).to(torch.float32).contiguous()


def write(model, inputs, origin: dict, out_path: str, meta: dict, float64: bool = True) -> dict:
    """Run the PyTorch model on `inputs` and write `<out>.parity.bin` + `<out>.parity.json`; return the JSON.

    With `float64` (the default) the model then also runs in float64 on the same inputs, and the parity file
    records how far PyTorch's own float32 logits are from those (per sample): the size of the differences float32
    arithmetic makes in this network, which an exported model can only match, not beat. The model is converted to
    float64 in place: call this last."""
    import numpy as np
    import torch

    with torch.no_grad():
        logits = model(inputs).to(torch.float32).contiguous()
    reference = _float64_reference(model, inputs, logits) if float64 else None
    input_bytes = inputs.numpy().astype("<f4").tobytes()
    logit_bytes = logits.numpy().astype("<f4").tobytes()
    bin_path = out_path + ".parity.bin"
    json_path = out_path + ".parity.json"
    from .events import ExportError

    try:
        with open(bin_path, "wb") as f:
            f.write(input_bytes)
            f.write(logit_bytes)
    except OSError as err:
        raise ExportError("OUTPUT_NOT_WRITABLE", f"Cannot write {bin_path}: {err}") from err
    doc = {
        "format": "mtailor-parity",
        "version": 1,
        "model": os.path.basename(out_path),
        "binary": os.path.basename(bin_path),
        "dtype": "float32",
        "byteOrder": "little",
        "samples": int(inputs.shape[0]),
        "input": {"name": "input", "offset": 0, "byteLength": len(input_bytes), "shape": list(inputs.shape)},
        "logits": {
            "name": "logits",
            "offset": len(input_bytes),
            "byteLength": len(logit_bytes),
            "shape": list(logits.shape),
        },
        "top1": [int(i) for i in np.argmax(logits.numpy(), axis=1)],
        "source": origin,
        "float64": reference,
        "rtol": DEFAULT_RTOL,
        "atol": DEFAULT_ATOL,
        **meta,
    }
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return {"json": json_path, "bin": bin_path}


def _float64_reference(model, inputs, logits):
    """max |float32 − float64| of PyTorch's own logits, per sample, and the float64 logits' scale."""
    import torch

    try:
        with torch.no_grad():
            exact = model.double()(inputs.double())
    except Exception as err:  # an op without a float64 kernel: the reference is optional
        return {"error": f"{type(err).__name__}: {err}"}
    diff = (logits.double() - exact).abs()
    return {
        "maxAbsDiff": [float(v) for v in diff.amax(dim=1)],
        "scale": [float(v) for v in exact.abs().amax(dim=1)],
    }
