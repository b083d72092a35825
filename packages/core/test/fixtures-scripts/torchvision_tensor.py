"""The tensor torchvision makes for an image: PIL `Image.open(path).convert('RGB')`, then the preset's transforms.

Usage: torchvision_tensor.py PRESET OUT_FILE IMAGE...
PRESET: resize-224   = Resize((224, 224)), ToTensor(), Normalize(ImageNet)
        imagenet-eval = Resize(256), CenterCrop(224), ToTensor(), Normalize(ImageNet)
Writes the float32 CHW tensors of all images, concatenated, to OUT_FILE (native byte order).
"""
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
PRESETS = {
    "resize-224": transforms.Compose(
        [transforms.Resize((224, 224)), transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    ),
    "imagenet-eval": transforms.Compose(
        [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    ),
}


def main() -> None:
    preset, out_file, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    torch.set_num_threads(1)
    with open(out_file, "wb") as f:
        for path in paths:
            tensor = PRESETS[preset](Image.open(path).convert("RGB"))
            f.write(tensor.numpy().astype(np.float32).tobytes())


if __name__ == "__main__":
    main()
