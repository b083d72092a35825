#!/usr/bin/env python3
"""Random-weight checkpoints of torchvision classification builders, for the zoo run (scripts/zoo.mjs) and the zoo
test. Nothing is downloaded: each model is built as `mtailor convert` builds it for the builder's DEFAULT weights
entry (same constructor arguments, read from torchvision's metadata), with seeded random weights, and its
state_dict is saved -- the file a user gets from `torch.save(model.state_dict(), ...)`.

    /usr/bin/python3 zoo_checkpoint.py --list                      # JSON: every builder with its DEFAULT metadata
    /usr/bin/python3 zoo_checkpoint.py --arch resnet50 --out r50.pth [--seed 0] [--raw]

Linear layers torchvision initialises to zero (the ViTs' classifier head: every logit would be 0) get random weights.
By default the BatchNorm running statistics are then measured on two seeded batches of standard-normal inputs
(train mode, cumulative average), as training would have set them: a freshly initialised network has mean 0 /
variance 1 statistics whatever its activations are, so its logits vanish (efficientnet_b0: ~1e-14) or explode,
and a parity check on them proves little. --raw keeps the initialisation as it is.

    /usr/bin/python3 zoo_checkpoint.py --arch resnet50 --float64 [--seed 0] [--raw]

--float64 rebuilds the same checkpoint and the same parity inputs as `mtailor convert` (4 standard-normal samples,
seed 0) and compares PyTorch's float32 logits with the float64 ones: how far PyTorch itself is from exact
arithmetic, the yardstick for the export's own differences.

stdout: one JSON line ({"out": ..., "parameters": ...}, the float64 comparison, or the list).
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def describe_all():
    from torchvision import models

    from mtailor_export import torchvision_weights as tvw

    rows = []
    for name in sorted(models.list_models(module=models)):
        weights = tvw.resolve(name, "DEFAULT")
        row = {"arch": name, "weights": tvw.full_name(weights), "parameters": weights.meta.get("num_params")}
        try:
            row["transform"] = tvw.eval_transform(weights)
        except Exception as err:  # reported, not fatal: the zoo lists refusals too
            row["transformError"] = str(err)
        rows.append(row)
    return rows


def calibrate_batchnorm(model, torch, size: int, seed: int) -> int:
    """Set every BatchNorm's running mean/var to the statistics of its input on random images. Returns how many
    BatchNorm layers there are."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the calibration batches
    generator = torch.Generator().manual_seed(seed + 1)
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, size, size, generator=generator))
    for m in norms:
        m.momentum = 0.1
    model.eval()
    return len(norms)


def float64_check(arch: str, seed: int, raw: bool, samples: int = 4):
    import torch

    from mtailor_export import parity_vectors

    model, size = build(arch, seed, raw)
    torch.set_grad_enabled(False)
    inputs, _ = parity_vectors.make_inputs(size, None, samples, 0)
    f32 = model(inputs)  # as the parity vectors are computed: one batch
    f64 = model.double()(inputs.double())
    diff = (f32.double() - f64).abs()
    out = {"arch": arch, "scale": f64.abs().max().item(), "maxAbsDiff": diff.max().item()}
    for rtol in (0, 1e-5, 1e-4, 1e-3):
        out[f"atolNeeded@{rtol:g}"] = max(0.0, (diff - rtol * f64.abs()).max().item())
    return out


def build(arch: str, seed: int, raw: bool):
    import torch

    from mtailor_export import architectures
    from mtailor_export import torchvision_weights as tvw

    torch.manual_seed(seed)
    weights = tvw.resolve(arch, "DEFAULT")
    model, _ = architectures.build_model(arch, None, {}, [], tvw.builder_kwargs(arch, weights))
    if arch == "googlenet":  # what torchvision's builder does after loading pretrained weights
        model.aux_logits = False
        model.aux1 = None
        model.aux2 = None
    size = tvw.eval_transform(weights)["cropSize"][0]
    randomize_zero_heads(model, torch)
    if not raw:
        calibrate_batchnorm(model, torch, size, seed)
    return model.eval(), size


def randomize_zero_heads(model, torch) -> list:
    """torchvision initialises some classifier heads to zero (the ViTs' `heads.head`): every logit is then exactly
    0 whatever the input, and a parity check on them compares zeros. Give such a Linear random weights (normal,
    std 1/sqrt(fan_in)) instead. Returns the names of the layers changed."""
    changed = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear) and not m.weight.detach().any():
            torch.nn.init.normal_(m.weight, std=m.in_features**-0.5)
            changed.append(name)
    return changed


def make(arch: str, out: str, seed: int, raw: bool):
    import torch

    model, _ = build(arch, seed, raw)
    calibrated = 0 if raw else sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    state = model.state_dict()
    torch.save(state, out)
    return {"out": out, "parameters": sum(p.numel() for p in model.parameters()), "batchNormCalibrated": calibrated}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--arch")
    parser.add_argument("--out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float64", action="store_true", help="compare PyTorch's float32 logits with float64 ones")
    parser.add_argument("--raw", action="store_true", help="keep the initial BatchNorm statistics (mean 0, var 1)")
    args = parser.parse_args()
    if args.list:
        print(json.dumps(describe_all()))
    elif args.arch and args.float64:
        print(json.dumps(float64_check(args.arch, args.seed, args.raw)))
    elif args.arch and args.out:
        print(json.dumps(make(args.arch, args.out, args.seed, args.raw)))
    else:
        parser.error("--list, or --arch and --out")


if __name__ == "__main__":
    main()
