"""Small random-weight hub models for the end-to-end conversion tests, and PyTorch's own logits for them on real
images through the family's own preprocessing. Nothing is downloaded.

    python hub_models.py <out dir> <image>...

Writes into <out dir>:
  timm-convnext.safetensors          timm test_convnext.r160_in1k (1000 classes), a safetensors state dict
  timm-convnext.pth                  the same weights as a torch state dict
  timm-folder/                       timm test_convnext with a 7-class head, label names and a 192×160 border-mode
                                     pretrained_cfg, in save_for_hf format
  hf-vit/                            transformers ViTForImageClassification (tiny), ViT processor, 5 id2label classes
  hf-convnext/                       transformers ConvNextForImageClassification (tiny), ConvNeXt processor (crop_pct)
and prints JSON {id: {"path", "logits": {backend or "timm": [[...] per image]}}}.
"""
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
sys.dont_write_bytecode = True

import torch  # noqa: E402
from PIL import Image  # noqa: E402

torch.manual_seed(0)
torch.set_grad_enabled(False)


def timm_models(out, images):
    import timm
    from safetensors.torch import save_file
    from timm.data import create_transform, resolve_data_config

    result = {}
    convnext = timm.create_model("test_convnext.r160_in1k", pretrained=False).eval()
    path = os.path.join(out, "timm-convnext.safetensors")
    save_file({k: v.contiguous() for k, v in convnext.state_dict().items()}, path)
    result["timm-convnext"] = {"path": path, "model": convnext}
    # The same weights as a torch state dict, for the builder imported as module:Class (timm.models:test_convnext).
    torch.save(convnext.state_dict(), os.path.join(out, "timm-convnext.pth"))

    labels = [f"kind {i}" for i in range(7)]
    # A fine-tuned head evaluated at 192×160 with crop_mode border: the folder's pretrained_cfg says so.
    overlay = {"input_size": (3, 160, 192), "crop_mode": "border", "crop_pct": 0.9}
    tuned = timm.create_model("test_convnext.r160_in1k", pretrained=False, num_classes=7, pretrained_cfg_overlay=overlay)
    folder = os.path.join(out, "timm-folder")
    timm.models.save_for_hf(tuned.eval(), folder, model_config={"label_names": labels}, safe_serialization=True)
    result["timm-folder"] = {"path": folder, "model": tuned, "labels": labels}

    for entry in result.values():
        model = entry.pop("model")
        pipeline = create_transform(**resolve_data_config({}, model=model), is_training=False)
        batch = torch.stack([pipeline(img) for img in images])
        entry["logits"] = {"timm": model(batch).tolist()}
    return result


def hf_models(out, images):
    import transformers as tf

    result = {}
    vit_config = tf.ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=224,
        patch_size=32, num_labels=5, id2label={i: f"vit class {i}" for i in range(5)},
        label2id={f"vit class {i}": i for i in range(5)},
    )
    convnext_config = tf.ConvNextConfig(
        hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_labels=3, id2label={0: "cat", 1: "dog", 2: "fish"},
        label2id={"cat": 0, "dog": 1, "fish": 2},
    )
    cases = [
        ("hf-vit", tf.ViTForImageClassification(vit_config), tf.ViTImageProcessorPil()),
        (
            "hf-convnext",
            tf.ConvNextForImageClassification(convnext_config),
            tf.ConvNextImageProcessorPil(size={"shortest_edge": 224}, crop_pct=0.875),
        ),
    ]
    for name, model, processor in cases:
        folder = os.path.join(out, name)
        model.eval().save_pretrained(folder)
        processor.save_pretrained(folder)
        logits = {}
        for backend in ("pil", "torchvision"):
            proc = tf.AutoImageProcessor.from_pretrained(folder, local_files_only=True, backend=backend)
            pixels = proc(images, return_tensors="pt")["pixel_values"]
            logits[backend] = model(pixel_values=pixels).logits.tolist()
        result[name] = {"path": folder, "logits": logits}
    return result


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    print(json.dumps({**timm_models(out, images), **hf_models(out, images)}))


if __name__ == "__main__":
    main()
