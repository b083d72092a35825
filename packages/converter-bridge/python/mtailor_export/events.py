"""JSON-lines protocol on stdout: one object per line, flushed immediately, so a parent process can stream it.

    {"event": "progress", "stage": "...", "step": 3, "total": 7, "message": "..."}
    {"event": "done", ...result...}
    {"event": "error", "code": "WEIGHTS_MISMATCH", "message": "...", "details": {...}}

Everything else a library prints goes to stderr (see export_onnx.py), so stdout stays machine-readable.
"""
import json
import sys

# Exit codes: one per error code, so shell users can tell failures apart without parsing JSON.
EXIT_CODES = {
    "USAGE": 2,
    "TORCH_MISSING": 3,
    "TORCHVISION_MISSING": 4,
    "UNKNOWN_ARCH": 5,
    "ARCH_INIT_FAILED": 6,
    "WEIGHTS_NOT_FOUND": 7,
    "WEIGHTS_UNREADABLE": 8,
    "WEIGHTS_MISMATCH": 9,
    "EXPORT_FAILED": 10,
    "CALIBRATION_FAILED": 11,
    "OUTPUT_NOT_WRITABLE": 12,
    "OPSET_UNSUPPORTED": 13,
    "ARCH_UNSUPPORTED": 14,
    "RECIPE_UNSUPPORTED": 15,
    "TORCHVISION_WEIGHTS_UNKNOWN": 16,
    "EXPORTER_UNSUPPORTED": 17,
    "TIMM_MISSING": 18,
    "TRANSFORMERS_MISSING": 19,
    "HF_FOLDER_INVALID": 20,
    "HF_PREPROCESSOR_MISSING": 21,
    "INTERNAL": 70,
}

# Replaced by export_onnx.separate_json_channel() with a private copy of fd 1.
_out = sys.stdout


def emit(event: str, **fields) -> None:
    _out.write(json.dumps({"event": event, **fields}) + "\n")
    _out.flush()


class ExportError(Exception):
    """An expected failure with a stable code; reported as an `error` event and a distinct exit code."""

    def __init__(self, code: str, message: str, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class Progress:
    """Numbered progress events: step i of a known total."""

    def __init__(self, total: int):
        self.total = total
        self.step = 0

    def __call__(self, stage: str, message: str, **fields) -> None:
        self.step += 1
        emit("progress", stage=stage, step=self.step, total=self.total, message=message, **fields)
