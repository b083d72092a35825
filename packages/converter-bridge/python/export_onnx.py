#!/usr/bin/env python3
"""Export a PyTorch image classifier checkpoint to ONNX, with parity vectors for proving the export.

    /usr/bin/python3 export_onnx.py --arch mobilenet_v2 --weights mobilenet_v2.pth --out model.onnx

Architectures: seed-resnet18 (the seed project's ResNet-18 Classifier), any torchvision.models classification
builder by name (built with weights=None: nothing is ever downloaded), or module.path:ClassName for your own
nn.Module (add its folder with --module-path).

The ONNX model has one input `input` float32 [batch, 3, S, S] and one output `logits` float32 [batch, classes];
the batch axis is dynamic unless --static-batch. Beside it: <out>.parity.json + <out>.parity.bin.

stdout carries only JSON lines: {"event":"progress",...}, then {"event":"done",...} or
{"event":"error","code":...,"message":...}. Exit code 0 on success, otherwise one per error code (see --help).
Only the standard library is imported before argument parsing, so --help works without torch.
"""
import argparse
import json
import os
import sys
import time

# No .pyc files beside the script: it usually lives in a read-only node_modules folder.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mtailor_export import events  # noqa: E402  (standard library only)
from mtailor_export.events import EXIT_CODES, ExportError, emit  # noqa: E402

# Measured with the bundled onnxruntime-node 1.30 (see packages/converter-bridge/README.md): it loads IR versions
# up to 13 (refuses 14: "Unsupported model IR version: 14, max supported IR version: 13") and ai.onnx opsets
# 7..26 (refuses 27 as "under development"; below 7 only "legacy support").
ORT_MAX_IR_VERSION = 13
ORT_MAX_OPSET = 26
ORT_MIN_OPSET = 7


def parse_args(argv):
    codes = ", ".join(f"{v} {k}" for k, v in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="export_onnx.py",
        description="Export a PyTorch image classifier checkpoint to ONNX (+ parity vectors).",
        epilog=f"Exit codes: 0 ok, {codes}.",
    )
    parser.add_argument("--arch", required=True, help="seed-resnet18 | torchvision builder (resnet18, mobilenet_v2, …) | module.path:ClassName")
    parser.add_argument("--weights", required=True, help="state_dict checkpoint (.pth/.pt); {'state_dict': …} wrappers and 'module.' prefixes are handled")
    parser.add_argument("--out", required=True, help="output .onnx path (parity files are written beside it)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: highest both this torch exports and onnxruntime 1.30 runs)")
    parser.add_argument("--input-size", type=_positive_int, default=224, help="input height = width in pixels (default 224)")
    parser.add_argument("--static-batch", action="store_true", help="fix the batch axis to 1 instead of a dynamic 'batch' dimension")
    parser.add_argument("--num-classes", type=_positive_int, default=None, help="passed as num_classes= to the architecture (default: its own default, 1000 for ImageNet models)")
    parser.add_argument("--arch-kwargs", type=_json_object, default={}, help="extra constructor keyword arguments as a JSON object")
    parser.add_argument("--module-path", action="append", default=[], help="folder added to sys.path for module.path:ClassName (repeatable)")
    parser.add_argument("--calibration-images", nargs="+", default=None, metavar="IMAGE", help="images for the parity vectors (default: seeded random inputs)")
    parser.add_argument("--parity-samples", type=_positive_int, default=4, help="number of random parity inputs when no images are given (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random parity inputs (default 0)")
    parser.add_argument("--no-parity", action="store_true", help="do not write parity vectors")
    parser.add_argument("--allow-pickle", action="store_true", help="load the checkpoint with full pickle (runs code from the file: trusted files only)")
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _json_object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def separate_json_channel() -> None:
    """Keep fd 1 for our JSON lines only: anything torch or C++ code prints to stdout goes to stderr instead."""
    json_fd = os.dup(1)
    os.dup2(2, 1)
    events._out = os.fdopen(json_fd, "w", buffering=1)
    sys.stdout = sys.stderr


def import_torch():
    try:
        import torch
    except ImportError as err:
        raise ExportError(
            "TORCH_MISSING",
            f"PyTorch is not importable by {sys.executable} ({err}). Install torch for this interpreter or choose "
            "another one (--python / MTAILOR_PYTHON).",
            {"python": sys.executable},
        ) from err
    return torch


def torch_max_opset(torch) -> int:
    try:
        from torch.onnx import _constants

        return int(_constants.ONNX_MAX_OPSET)
    except (ImportError, AttributeError):
        from torch.onnx import symbolic_helper

        return int(max(getattr(symbolic_helper, "_onnx_stable_opsets", [13])))


def choose_opset(torch, requested):
    highest = min(torch_max_opset(torch), ORT_MAX_OPSET)
    if requested is None:
        return highest
    if requested < ORT_MIN_OPSET or requested > highest:
        raise ExportError(
            "OPSET_UNSUPPORTED",
            f"--opset {requested} is outside {ORT_MIN_OPSET}..{highest} (torch {torch.__version__} exports up to "
            f"{torch_max_opset(torch)}, onnxruntime 1.30 runs up to {ORT_MAX_OPSET})",
        )
    return requested


def probe_output(model, torch, input_size: int):
    """Run the model once: its output must be one float tensor [batch, classes]."""
    with torch.no_grad():
        try:
            out = model(torch.zeros(2, 3, input_size, input_size))
        except Exception as err:
            raise ExportError(
                "EXPORT_FAILED", f"The model fails on a [2, 3, {input_size}, {input_size}] input: {type(err).__name__}: {err}"
            ) from err
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ExportError(
            "EXPORT_FAILED",
            f"The model must return one tensor [batch, classes] of logits; it returned {shape}. Wrap it in a module "
            "whose forward returns the logits only.",
        )
    return int(out.shape[1])


def export(model, torch, out: str, opset: int, input_size: int, static_batch: bool) -> None:
    dummy = torch.randn(1, 3, input_size, input_size)
    tmp = f"{out}.tmp-{os.getpid()}"
    dynamic_axes = None if static_batch else {"input": {0: "batch"}, "logits": {0: "batch"}}
    try:
        torch.onnx.export(
            model,
            dummy,
            tmp,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            export_params=True,
        )
        os.replace(tmp, out)  # never leave a half-written model at the destination
    except OSError as err:
        _remove(tmp)
        raise ExportError("OUTPUT_NOT_WRITABLE", f"Cannot write {out}: {type(err).__name__}: {err}") from err
    except Exception as err:
        _remove(tmp)
        raise ExportError("EXPORT_FAILED", f"torch.onnx.export failed: {type(err).__name__}: {err}") from err


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def post_process(out: str) -> dict:
    """With the `onnx` package (optional): run its checker and cap the IR version at what onnxruntime 1.30 loads."""
    try:
        import onnx
    except ImportError:
        return {"onnxVersion": None, "onnxChecker": "skipped (onnx not installed)", "irVersion": None}
    model = onnx.load(out)
    ir_lowered_from = None
    if model.ir_version > ORT_MAX_IR_VERSION:
        ir_lowered_from = model.ir_version
        model.ir_version = ORT_MAX_IR_VERSION
        onnx.save(model, out)
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        raise ExportError("EXPORT_FAILED", f"onnx.checker rejects the exported model: {err}") from err
    return {
        "onnxVersion": onnx.__version__,
        "onnxChecker": "passed",
        "irVersion": int(model.ir_version),
        "irLoweredFrom": ir_lowered_from,
    }


def run(args) -> dict:
    started = time.time()
    progress = events.Progress(total=7 if not args.no_parity else 6)
    if not os.path.isfile(args.weights):  # fail fast: importing torch alone takes seconds
        raise ExportError("WEIGHTS_NOT_FOUND", f"Weights file not found: {args.weights}", {"path": args.weights})
    out = os.path.abspath(args.out)
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
    except OSError as err:
        raise ExportError("OUTPUT_NOT_WRITABLE", f"Cannot create the folder of {out}: {err}") from err
    progress("import", "importing torch")
    torch = import_torch()
    torch.set_grad_enabled(False)
    opset = choose_opset(torch, args.opset)

    from mtailor_export import architectures, checkpoint, parity_vectors

    progress("build", f"building {args.arch}")
    model = architectures.build_model(args.arch, args.num_classes, args.arch_kwargs, args.module_path)
    progress("weights", f"loading {args.weights}")
    state, load_mode = checkpoint.load_state_dict(args.weights, args.allow_pickle)
    checkpoint.load_into(model, state, args.weights)
    model.eval()
    progress("probe", "running the model once in PyTorch")
    num_classes = probe_output(model, torch, args.input_size)
    progress("export", f"torch.onnx.export (opset {opset}, {'static' if args.static_batch else 'dynamic'} batch)")
    export(model, torch, out, opset, args.input_size, args.static_batch)
    progress("check", "checking the exported model")
    checked = post_process(out)
    parity = None
    if not args.no_parity:
        count = len(args.calibration_images) if args.calibration_images else args.parity_samples
        progress("parity", f"computing PyTorch logits for {count} parity inputs")
        inputs, origin = parity_vectors.make_inputs(
            args.input_size, args.calibration_images, args.parity_samples, args.seed
        )
        meta = {"arch": args.arch, "opset": opset, "torchVersion": torch.__version__}
        parity = parity_vectors.write(model, inputs, origin, out, meta)
    try:
        import torchvision

        torchvision_version = torchvision.__version__
    except ImportError:
        torchvision_version = None
    batch = 1 if args.static_batch else "batch"
    return {
        "out": out,
        "parity": parity,
        "arch": args.arch,
        "opset": opset,
        "inputShape": [batch, 3, args.input_size, args.input_size],
        "outputShape": [batch, num_classes],
        "numClasses": num_classes,
        "dynamicBatch": not args.static_batch,
        "fileBytes": os.path.getsize(out),
        "weightsLoad": load_mode,
        "torchVersion": torch.__version__,
        "torchvisionVersion": torchvision_version,
        "python": sys.executable,
        "seconds": round(time.time() - started, 3),
        **checked,
    }


def main(argv=None) -> int:
    args = parse_args(argv)  # exits 2 with a usage message on bad arguments (before any JSON)
    separate_json_channel()
    try:
        emit("done", **run(args))
        return 0
    except ExportError as err:
        emit("error", code=err.code, message=err.message, details=err.details)
        return EXIT_CODES.get(err.code, 1)
    except Exception as err:  # a bug or an unforeseen library failure: still one JSON line, never a bare traceback
        import traceback

        traceback.print_exc()
        emit("error", code="INTERNAL", message=f"{type(err).__name__}: {err}")
        return EXIT_CODES["INTERNAL"]


if __name__ == "__main__":
    sys.exit(main())
