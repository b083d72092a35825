"""Checkpoint file -> state_dict -> strict load into the model, with every mismatch listed."""
import inspect
import os

from .events import ExportError

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def load_state_dict(path: str, allow_pickle: bool):
    """Read a checkpoint safely. torch.load unpickles, which can run arbitrary code from an untrusted file, so we
    use weights_only=True (tensors and plain containers only) unless the caller opts in with allow_pickle."""
    import torch

    if not os.path.isfile(path):
        raise ExportError("WEIGHTS_NOT_FOUND", f"Weights file not found: {path}", {"path": path})
    kwargs = {"map_location": "cpu"}
    safe = "weights_only" in inspect.signature(torch.load).parameters
    if safe and not allow_pickle:
        kwargs["weights_only"] = True
    try:
        obj = torch.load(path, **kwargs)
    except Exception as err:
        hint = (
            " If the file is a full pickled checkpoint you trust (e.g. with optimizer state or a whole nn.Module), "
            "pass --allow-pickle."
            if kwargs.get("weights_only")
            else ""
        )
        raise ExportError(
            "WEIGHTS_UNREADABLE", f"Cannot read weights {path}: {type(err).__name__}: {err}.{hint}", {"path": path}
        ) from err
    return unwrap(obj, path), ("weights_only" if kwargs.get("weights_only") else "pickle")


def unwrap(obj, path: str) -> dict:
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for _ in range(2):  # {'state_dict': ...} and e.g. {'model': {'state_dict': ...}}
        if isinstance(obj, dict) and not _is_state_dict(obj):
            for key in WRAPPER_KEYS:
                inner = obj.get(key)
                if isinstance(inner, torch.nn.Module):
                    inner = inner.state_dict()
                if isinstance(inner, dict):
                    obj = inner
                    break
    if not isinstance(obj, dict) or not _is_state_dict(obj):
        raise ExportError(
            "WEIGHTS_UNREADABLE",
            f"{path} holds no state_dict (a mapping of parameter names to tensors); top-level keys: "
            f"{list(obj)[:20] if isinstance(obj, dict) else type(obj).__name__}",
            {"path": path},
        )
    return strip_prefixes(obj)


def _is_state_dict(obj: dict) -> bool:
    import torch

    return len(obj) > 0 and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def strip_prefixes(state: dict) -> dict:
    """Remove the `module.` prefix of DataParallel/DistributedDataParallel checkpoints (and `_orig_mod.` of
    torch.compile) when every key has it."""
    for prefix in ("module.", "_orig_mod."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_into(model, state: dict, path: str) -> None:
    """Strict load: every model parameter/buffer must be in the checkpoint with the same shape, and nothing extra."""
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in state)
    unexpected = sorted(k for k in state if k not in expected)
    mismatched = [
        {"key": k, "checkpoint": list(state[k].shape), "model": list(expected[k].shape)}
        for k in sorted(expected)
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or mismatched:
        lines = [f"Weights {path} do not fit the architecture:"]
        if missing:
            lines.append(f"  missing in checkpoint ({len(missing)}): {', '.join(missing[:30])}{_more(missing)}")
        if unexpected:
            lines.append(f"  unexpected in checkpoint ({len(unexpected)}): {', '.join(unexpected[:30])}{_more(unexpected)}")
        for m in mismatched[:30]:
            lines.append(f"  shape mismatch {m['key']}: checkpoint {m['checkpoint']} vs model {m['model']}")
        raise ExportError(
            "WEIGHTS_MISMATCH",
            "\n".join(lines),
            {"missing": missing, "unexpected": unexpected, "shapeMismatch": mismatched},
        )
    model.load_state_dict(state, strict=True)


def _more(keys: list) -> str:
    return f", … ({len(keys) - 30} more)" if len(keys) > 30 else ""
