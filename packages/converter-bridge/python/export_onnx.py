#!/usr/bin/env python3
"""Export a PyTorch image classifier checkpoint to ONNX, with parity vectors for proving the export.

    /usr/bin/python3 export_onnx.py --arch mobilenet_v2 --weights mobilenet_v2.pth --out model.onnx

Architectures: seed-resnet18 (the seed project's ResNet-18 Classifier), any torchvision.models classification
builder by name (built with weights=None: nothing is ever downloaded), or module.path:ClassName for your own
nn.Module (add its folder with --module-path).

The ONNX model has one input `input` float32 [batch, 3, S, S] and one output `logits` float32 [batch, classes];
the batch axis is dynamic unless --static-batch. It is one self-contained file unless the model is too large for
one protobuf (2 GB) or --external-data is given: then the weights go to <out>.data beside it. Beside it:
<out>.parity.json + <out>.parity.bin.

Exporter: torch's new one (torch.export + onnxscript, `dynamo=True`) on torch >= 2.9, where it is torch's default;
the TorchScript one before (torch 1.13 .. 2.8), and on request (--exporter torchscript) while torch still has it.

stdout carries only JSON lines: {"event":"progress",...}, then {"event":"done",...} or
{"event":"error","code":...,"message":...}. Exit code 0 on success, otherwise one per error code (see --help).
Only the standard library is imported before argument parsing, so --help works without torch.
"""
import argparse
import json
import os
import shutil
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
# One protobuf message holds at most 2 GB; below this (with room for the graph) the model is written as one file.
INLINE_LIMIT_BYTES = 2**31 - 2**26
# The torch version from which torch.onnx.export's default is the new exporter (dynamo=True).
NEW_EXPORTER_DEFAULT_FROM = (2, 9)


def parse_args(argv):
    codes = ", ".join(f"{v} {k}" for k, v in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="export_onnx.py",
        description="Export a PyTorch image classifier checkpoint to ONNX (+ parity vectors).",
        epilog=f"Exit codes: 0 ok, {codes}.",
    )
    parser.add_argument("--arch", default=None, help="seed-resnet18 | torchvision builder (resnet18, mobilenet_v2, …) | timm:<model>[.<tag>] | module.path:ClassName")
    parser.add_argument("--weights", default=None, help="state_dict checkpoint (.pth/.pt; timm: also .safetensors or a timm Hugging Face-format folder); {'state_dict': …} wrappers and 'module.' prefixes are handled")
    parser.add_argument("--hf", default=None, metavar="FOLDER", help="a Hugging Face transformers save_pretrained folder (AutoModelForImageClassification + preprocessor_config.json), instead of --arch/--weights")
    parser.add_argument("--hf-backend", choices=["pil", "torchvision"], default=None, help="--hf: which of transformers' image processor classes the recipe reproduces (default: the installed transformers' default)")
    parser.add_argument("--out", required=True, help="output .onnx path (parity files are written beside it)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: highest both this torch exports and onnxruntime 1.30 runs)")
    parser.add_argument("--input-size", type=_positive_int, default=None, help="input height = width in pixels (default: the crop size of the torchvision weights' evaluation transform, else 224)")
    parser.add_argument("--torchvision-weights", default="DEFAULT", metavar="ENTRY", help="torchvision builders: the weights entry the checkpoint follows (DEFAULT, an entry name such as IMAGENET1K_V1, or none); its metadata gives the builder's constructor arguments, the input size and the evaluation transform. Nothing is downloaded (default DEFAULT)")
    parser.add_argument("--recipe-given", action="store_true", help="the caller records its own preprocessing recipe: do not refuse an evaluation transform that cannot be reproduced exactly")
    parser.add_argument("--static-batch", action="store_true", help="fix the batch axis to 1 instead of a dynamic 'batch' dimension")
    parser.add_argument("--exporter", choices=["auto", "dynamo", "torchscript"], default="auto", help="auto (default): torch's new exporter (dynamo=True, torch.export + onnxscript) on torch >= 2.9, the TorchScript exporter before; dynamo | torchscript to choose")
    parser.add_argument("--external-data", action="store_true", help="store the weights in <out>.data beside the model (default: one self-contained file, unless the model is over 2 GB)")
    parser.add_argument("--num-classes", type=_positive_int, default=None, help="passed as num_classes= to the architecture (default: its own default, 1000 for ImageNet models)")
    parser.add_argument("--arch-kwargs", type=_json_object, default={}, help="extra constructor keyword arguments as a JSON object")
    parser.add_argument("--module-path", action="append", default=[], help="folder added to sys.path for module.path:ClassName (repeatable)")
    parser.add_argument("--calibration-images", nargs="+", default=None, metavar="IMAGE", help="images for the parity vectors (default: seeded random inputs)")
    parser.add_argument("--parity-samples", type=_positive_int, default=4, help="number of random parity inputs when no images are given (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random parity inputs (default 0)")
    parser.add_argument("--no-parity", action="store_true", help="do not write parity vectors")
    parser.add_argument("--no-float64", action="store_true", help="do not record PyTorch's own float32-vs-float64 difference in the parity file (saves a float64 run of the parity inputs)")
    parser.add_argument("--allow-pickle", action="store_true", help="load the checkpoint with full pickle (runs code from the file: trusted files only)")
    args = parser.parse_args(argv)
    if args.hf and (args.arch or args.weights):
        parser.error("--hf takes the model from the folder: give no --arch / --weights")
    if not args.hf and not (args.arch and args.weights):
        parser.error("--arch and --weights are required (or --hf <folder>)")
    if args.hf_backend and not args.hf:
        parser.error("--hf-backend applies to --hf only")
    if args.hf:
        args.arch = f"hf:{os.path.basename(os.path.normpath(args.hf))}"
    return args


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


def torch_version(torch) -> tuple:
    parts = []
    for piece in torch.__version__.split("+")[0].split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def choose_exporter(torch, requested: str) -> str:
    """The new exporter on torch >= 2.9 (its default there), the TorchScript one before; a request is checked."""
    version = torch_version(torch)
    exporter = requested
    if requested == "auto":
        exporter = "dynamo" if version >= NEW_EXPORTER_DEFAULT_FROM else "torchscript"
    if exporter == "dynamo":
        if not _has_dynamo_flag(torch):
            raise ExportError(
                "EXPORTER_UNSUPPORTED",
                f"torch {torch.__version__} has no new ONNX exporter (torch.onnx.export(dynamo=True), torch >= 2.5; "
                "the default from 2.9): use --exporter torchscript",
            )
        try:
            import onnxscript  # noqa: F401
        except ImportError as err:
            raise ExportError(
                "EXPORTER_UNSUPPORTED",
                f"The new ONNX exporter needs the onnxscript package, which {sys.executable} cannot import ({err}): "
                "install onnxscript, or use --exporter torchscript",
            ) from err
    elif not hasattr(torch.onnx, "utils") or not hasattr(torch.onnx.utils, "export"):
        raise ExportError(
            "EXPORTER_UNSUPPORTED",
            f"torch {torch.__version__} no longer has the TorchScript ONNX exporter: use --exporter dynamo",
        )
    return exporter


def torch_max_opset(torch, exporter: str) -> int:
    try:
        from torch.onnx import _constants

        if exporter == "torchscript" and hasattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET"):
            return int(_constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
        return int(_constants.ONNX_MAX_OPSET)
    except (ImportError, AttributeError):
        from torch.onnx import symbolic_helper

        return int(max(getattr(symbolic_helper, "_onnx_stable_opsets", [13])))


def choose_opset(torch, exporter: str, requested):
    """The highest opset both the exporter and onnxruntime 1.30 run, unless one is requested (and possible)."""
    exporter_max = torch_max_opset(torch, exporter)
    highest = min(exporter_max, ORT_MAX_OPSET)
    if requested is None:
        return highest
    if requested < ORT_MIN_OPSET or requested > highest:
        raise ExportError(
            "OPSET_UNSUPPORTED",
            f"--opset {requested} is outside {ORT_MIN_OPSET}..{highest} (torch {torch.__version__}'s {exporter} "
            f"exporter exports up to {exporter_max}, onnxruntime 1.30 runs up to {ORT_MAX_OPSET})",
        )
    return requested


def _height_width(input_size):
    """S (square) or (H, W) -> (H, W)."""
    return (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)


def probe_output(model, torch, input_size):
    """Run the model once: its output must be one float tensor [batch, classes]."""
    height, width = _height_width(input_size)
    with torch.no_grad():
        try:
            out = model(torch.zeros(2, 3, height, width))
        except Exception as err:
            raise ExportError(
                "EXPORT_FAILED", f"The model fails on a [2, 3, {height}, {width}] input: {type(err).__name__}: {err}"
            ) from err
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ExportError(
            "EXPORT_FAILED",
            f"The model must return one tensor [batch, classes] of logits; it returned {shape}. Wrap it in a module "
            "whose forward returns the logits only.",
        )
    return int(out.shape[1])


def export(model, torch, out: str, opset: int, input_size, static_batch: bool, exporter: str,
           external_data: bool) -> dict:
    """torch.onnx.export into a temporary folder, then move into place: a failed export never leaves a
    half-written model at the destination. Returns how the weights were stored. input_size: S or (H, W)."""
    tmp_dir = f"{out}.tmp-{os.getpid()}"
    tmp = os.path.join(tmp_dir, os.path.basename(out))
    try:
        os.makedirs(tmp_dir, exist_ok=True)
        if exporter == "dynamo":
            _export_dynamo(model, torch, tmp, opset, input_size, static_batch)
        else:
            _export_torchscript(model, torch, tmp, opset, input_size, static_batch)
        return _move_into_place(tmp_dir, tmp, out, external_data)
    except OSError as err:
        raise ExportError("OUTPUT_NOT_WRITABLE", f"Cannot write {out}: {type(err).__name__}: {err}") from err
    except ExportError:
        raise
    except Exception as err:
        hint = " (the TorchScript exporter may handle this model: --exporter torchscript)" if exporter == "dynamo" else ""
        raise ExportError("EXPORT_FAILED", f"torch.onnx.export ({exporter}) failed: {type(err).__name__}: {err}{hint}") from err
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _export_torchscript(model, torch, tmp: str, opset: int, input_size, static_batch: bool) -> None:
    dummy = torch.randn(1, 3, *_height_width(input_size))
    dynamic_axes = None if static_batch else {"input": {0: "batch"}, "logits": {0: "batch"}}
    kwargs = {"dynamo": False} if _has_dynamo_flag(torch) else {}
    with export_mode(model, torch):
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
            **kwargs,
        )


def _export_dynamo(model, torch, tmp: str, opset: int, input_size, static_batch: bool) -> None:
    """The new exporter. Its example input has batch 2 and the batch axis is declared dynamic: given a batch-1
    example and no dynamic shapes, torch.export specialises the batch axis to 1."""
    if static_batch:
        dummy = torch.randn(1, 3, *_height_width(input_size))
        dynamic_shapes = None
    else:
        dummy = torch.randn(2, 3, *_height_width(input_size))
        dynamic_shapes = ({0: torch.export.Dim("batch", min=1, max=1 << 20)},)
    torch.onnx.export(
        model,
        (dummy,),
        tmp,
        input_names=["input"],
        output_names=["logits"],
        opset_version=opset,
        dynamo=True,
        dynamic_shapes=dynamic_shapes,
        external_data=True,  # decided afterwards, by size and --external-data (_move_into_place)
        optimize=True,
        verbose=False,
    )


def _has_dynamo_flag(torch) -> bool:
    import inspect

    return "dynamo" in inspect.signature(torch.onnx.export).parameters


class export_mode:
    """What the export needs from torch 1.13, undone afterwards.

    - nn.MultiheadAttention (the ViTs) takes a fused inference fast path, `aten::_native_multi_head_attention`,
      which has no ONNX symbolic, whenever grad is disabled or none of its projection parameters requires grad.
      For a model with such modules the export runs with grad enabled and exactly those parameters requiring grad,
      so the attention is traced as standard MatMul/Softmax ops while autograd records nothing else (no activation
      memory for the rest of the network). The parity logits are still computed by the fused path, as users run
      the model.
    - `aten::zero` (Swin V2 zeroes part of its qkv bias in place) has no ONNX symbolic: it is exported as
      ConstantOfShape(Shape(x)) with a zero of x's type.
    """

    def __init__(self, model, torch):
        self.model = model
        self.torch = torch
        self.grad = None
        self.flags = []

    def __enter__(self):
        torch = self.torch
        self.grad = torch.is_grad_enabled()
        attention = [m for m in self.model.modules() if isinstance(m, torch.nn.MultiheadAttention)]
        if attention:
            wanted = {id(p) for m in attention for p in m.parameters()}
            for p in self.model.parameters():
                self.flags.append((p, p.requires_grad))
                p.requires_grad_(id(p) in wanted and p.is_floating_point())
            torch.set_grad_enabled(True)
        register_missing_symbolics(torch)
        return self

    def __exit__(self, *exc):
        for p, flag in self.flags:
            p.requires_grad_(flag)
        self.torch.set_grad_enabled(self.grad)
        return False


_registered = False


def register_missing_symbolics(torch) -> None:
    global _registered
    if _registered:
        return

    def zero(g, self):
        dtype = self.type().scalarType() if self.type().kind() == "TensorType" else None
        torch_dtype = {"Double": torch.float64, "Half": torch.float16, "Long": torch.int64, "Int": torch.int32}.get(
            dtype, torch.float32
        )
        return g.op("ConstantOfShape", g.op("Shape", self), value_t=torch.zeros(1, dtype=torch_dtype))

    torch.onnx.register_custom_op_symbolic("aten::zero", zero, 9)
    _registered = True


def _move_into_place(tmp_dir: str, tmp: str, out: str, want_external: bool) -> dict:
    """One self-contained file when the model fits one protobuf (under 2 GB) and external data was not asked for;
    otherwise the model plus one `<out>.data` file beside it (torch may have written one file per tensor, or a data
    file the model does not need). Files get the usual permissions (umask), whoever wrote them."""
    name = os.path.basename(tmp)
    extra = [f for f in os.listdir(tmp_dir) if f != name]
    total = sum(os.path.getsize(os.path.join(tmp_dir, f)) for f in os.listdir(tmp_dir))
    external = want_external or total > INLINE_LIMIT_BYTES
    data_name = os.path.basename(out) + ".data"
    stale = os.path.join(os.path.dirname(out), data_name)
    if not extra and not external:
        _remove(stale)  # a data file from an earlier export would be taken for this model's
        _normal_permissions(tmp)
        os.replace(tmp, out)
        return {"externalData": None}
    try:
        import onnx
    except ImportError as err:
        raise ExportError(
            "EXPORT_FAILED",
            "The exporter stored the weights in external files; the onnx Python package is needed to write them "
            "as " + ("one data file" if external else "one self-contained model"),
        ) from err
    model = onnx.load(tmp, load_external_data=True)
    final_dir = os.path.join(tmp_dir, "final")
    os.makedirs(final_dir)
    final = os.path.join(final_dir, os.path.basename(out))
    if external:
        onnx.save_model(
            model, final, save_as_external_data=True, all_tensors_to_one_file=True, location=data_name,
            size_threshold=1024,
        )
    else:
        onnx.save_model(model, final)
    _remove(stale)
    for f in os.listdir(final_dir):
        _normal_permissions(os.path.join(final_dir, f))
        os.replace(os.path.join(final_dir, f), os.path.join(os.path.dirname(out), f))
    return {"externalData": data_name if external else None}


def _normal_permissions(path: str) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def post_process(out: str, external_data) -> dict:
    """With the `onnx` package (optional): run its checker and cap the IR version at what onnxruntime 1.30 loads."""
    try:
        import onnx
    except ImportError:
        return {"onnxVersion": None, "onnxChecker": "skipped (onnx not installed)", "irVersion": None, "nodeCount": None}
    model = onnx.load(out, load_external_data=False)
    ir_lowered_from = None
    if model.ir_version > ORT_MAX_IR_VERSION:
        ir_lowered_from = model.ir_version
        model.ir_version = ORT_MAX_IR_VERSION
        onnx.save(model, out)  # the external-data references, if any, are kept as they are
    try:
        # By path when the weights are external: the in-memory form of a model over 2 GB cannot be checked.
        onnx.checker.check_model(out if external_data else model)
    except Exception as err:
        raise ExportError("EXPORT_FAILED", f"onnx.checker rejects the exported model: {err}") from err
    foreign = sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    if foreign:
        raise ExportError(
            "EXPORT_FAILED",
            f"The exported graph uses operators outside the standard ai.onnx domain: {', '.join(foreign)}",
        )
    return {
        "onnxVersion": onnx.__version__,
        "onnxChecker": "passed",
        "irVersion": int(model.ir_version),
        "irLoweredFrom": ir_lowered_from,
        "nodeCount": len(model.graph.node),
    }


def run(args) -> dict:
    started = time.time()
    progress = events.Progress(total=7 if not args.no_parity else 6)
    from mtailor_export import hub  # standard library only until build()

    if hub.wanted(args):
        hub.check_inputs(args)
    elif not os.path.isfile(args.weights):  # fail fast: importing torch alone takes seconds
        raise ExportError("WEIGHTS_NOT_FOUND", f"Weights file not found: {args.weights}", {"path": args.weights})
    out = os.path.abspath(args.out)
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
    except OSError as err:
        raise ExportError("OUTPUT_NOT_WRITABLE", f"Cannot create the folder of {out}: {err}") from err
    progress("import", "importing torch")
    torch = import_torch()
    torch.set_grad_enabled(False)
    exporter = choose_exporter(torch, args.exporter)
    opset = choose_opset(torch, exporter, args.opset)

    from mtailor_export import architectures, checkpoint, parity_vectors
    from mtailor_export import torchvision_weights as tvw

    kind = architectures.kind_of(args.arch)
    weights_entry = None
    transform = None
    implied = {}
    hub_model = None
    if hub.wanted(args):
        progress("build", f"building {args.arch} (weights from {args.hf or args.weights})")
        hub_model = hub.build(args)
        kind = hub_model["kind"]
        emit("transform", **hub_model["transform"])  # the caller checks it can reproduce it before the export
    elif kind == "torchvision":
        architectures.check_torchvision_arch(args.arch)
        weights_entry = tvw.resolve(args.arch, args.torchvision_weights)
        if weights_entry is not None:
            implied = tvw.builder_kwargs(args.arch, weights_entry)
            try:
                transform = tvw.eval_transform(weights_entry)
            except ExportError:
                if not args.recipe_given:
                    raise  # refused before anything is built or exported
    input_size = args.input_size
    if hub_model is not None:
        input_size = hub.checked_input_size(hub_model["inputSize"], input_size, args.recipe_given)
    elif input_size is None:
        input_size = transform["cropSize"][0] if transform else 224
    elif transform and input_size != transform["cropSize"][0] and not args.recipe_given:
        raise ExportError(
            "RECIPE_UNSUPPORTED",
            f"--input-size {input_size} differs from the {transform['cropSize'][0]}-pixel crop of "
            f"{transform['weights']}'s evaluation transform, so that transform cannot be the model's preprocessing. "
            "Pass --recipe <preset|file.json> (or no manifest), or leave --input-size out.",
            {"inputSize": input_size, "cropSize": transform["cropSize"][0]},
        )

    hub_transform = None
    dropped = []
    if hub_model is not None:
        model, hub_transform = hub_model["model"], hub_model["transform"]
        used_kwargs = hub_model["info"].get("builderKwargs", {})
        load_mode = hub_model["info"].get("weightsLoad", "safetensors")
        progress("weights", f"loaded {args.hf or args.weights}")
    else:
        progress("build", f"building {args.arch}" + (f" as for {tvw.full_name(weights_entry)}" if weights_entry else ""))
        model, used_kwargs = architectures.build_model(
            args.arch, args.num_classes, args.arch_kwargs, args.module_path, implied
        )
        progress("weights", f"loading {args.weights}")
        state, load_mode = checkpoint.load_state_dict(args.weights, args.allow_pickle)
        dropped = tvw.drop_aux_heads_if_absent(model, args.arch, state) if kind == "torchvision" else []
        checkpoint.load_into(model, state, args.weights)
        hub_transform = hub.timm_module_transform(args.arch, model)
        if hub_transform is not None:
            emit("transform", **hub_transform)
            input_size = hub.module_input_size(hub_transform, args.input_size, args.recipe_given)
    model.eval()
    progress("probe", "running the model once in PyTorch")
    num_classes = probe_output(model, torch, input_size)
    progress("export", f"torch.onnx.export ({exporter} exporter, opset {opset}, {'static' if args.static_batch else 'dynamic'} batch)")
    export_started = time.time()
    stored = export(model, torch, out, opset, input_size, args.static_batch, exporter, args.external_data)
    export_seconds = time.time() - export_started
    progress("check", "checking the exported model")
    checked = post_process(out, stored["externalData"])
    parity = None
    if not args.no_parity:
        count = len(args.calibration_images) if args.calibration_images else args.parity_samples
        progress("parity", f"computing PyTorch logits for {count} parity inputs")
        inputs, origin = parity_vectors.make_inputs(input_size, args.calibration_images, args.parity_samples, args.seed)
        meta = {"arch": args.arch, "opset": opset, "torchVersion": torch.__version__}
        parity = parity_vectors.write(model, inputs, origin, out, meta, float64=not args.no_float64)
    # ImageNet's class names when the classes are ImageNet's: the seed Classifier, and torchvision builders with
    # 1000 outputs (their default head; every torchvision classification weights entry has ImageNet's categories,
    # checked when there is one).
    labels = None
    label_names = None
    if hub_model is not None or hub_transform is not None:
        labels, label_names = hub.labels(
            "timm" if hub_transform and hub_transform["family"] == "timm" else kind,
            num_classes,
            hub_model["info"].get("labelNames") if hub_model else None,
        )
    elif kind == "seed" and num_classes == 1000:
        labels = "imagenet1k"
    elif kind == "torchvision" and num_classes == 1000:
        from torchvision.models._meta import _IMAGENET_CATEGORIES

        if weights_entry is None or tvw.categories(weights_entry) == list(_IMAGENET_CATEGORIES):
            labels = "imagenet1k"
    try:
        import torchvision

        torchvision_version = torchvision.__version__
    except ImportError:
        torchvision_version = None
    batch = 1 if args.static_batch else "batch"
    height, width = _height_width(input_size)
    return {
        "out": out,
        "parity": parity,
        "arch": args.arch,
        "opset": opset,
        "exporter": exporter,
        "inputShape": [batch, 3, height, width],
        "outputShape": [batch, num_classes],
        "numClasses": num_classes,
        "dynamicBatch": not args.static_batch,
        "fileBytes": os.path.getsize(out),
        "weightsLoad": load_mode,
        "torchVersion": torch.__version__,
        "torchvisionVersion": torchvision_version,
        "python": sys.executable,
        "seconds": round(time.time() - started, 3),
        "exportSeconds": round(export_seconds, 3),
        "externalData": stored["externalData"],
        "archKind": kind,
        "torchvisionWeights": tvw.full_name(weights_entry) if weights_entry is not None else None,
        "builderKwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in used_kwargs.items()},
        "droppedAuxHeads": dropped,
        "evalTransform": transform,
        "labels": labels,
        "labelNames": label_names,
        "hubTransform": hub_transform,
        "hubInfo": {k: v for k, v in hub_model["info"].items() if k != "labelNames"} if hub_model else None,
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
