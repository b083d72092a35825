"""Tensors of timm's and transformers' own preprocessing for the core ImagePreprocessor test (today's stack).

    python hub_tensors.py OUT.f32 IMAGE...

Writes, float32 little-endian, for each pipeline in order and each image in order, the CHW tensor of:
  1. timm create_transform(input_size=(3, 240, 200), crop_pct=1.0, crop_mode='border', interpolation='bicubic',
     mean=std=0.5) on Image.open(f).convert('RGB')
  2. transformers ConvNextImageProcessor (torchvision backend), shortest_edge 224, crop_pct 0.875, ImageNet mean/std
"""
import sys

import numpy as np
import torch
from PIL import Image
from timm.data import create_transform
from transformers import ConvNextImageProcessor

torch.set_num_threads(1)
out_path, files = sys.argv[1], sys.argv[2:]
timm_border = create_transform(input_size=(3, 240, 200), crop_pct=1.0, crop_mode="border", interpolation="bicubic",
                               mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), is_training=False)
convnext = ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875, image_mean=[0.485, 0.456, 0.406],
                                  image_std=[0.229, 0.224, 0.225])
tensors = []
images = [Image.open(f).convert("RGB") for f in files]
tensors += [timm_border(img).numpy() for img in images]
tensors += [convnext(img, return_tensors="pt")["pixel_values"][0].numpy() for img in images]
with open(out_path, "wb") as f:
    for t in tensors:
        f.write(np.ascontiguousarray(t, dtype="<f4").tobytes())
