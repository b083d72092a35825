"""Decode images exactly as a torchvision pipeline does: PIL `Image.open(path).convert('RGB')`.

Usage: pil_decode.py [--exif-transpose] OUT_DIR IMAGE...

For the i-th IMAGE writes OUT_DIR/<i>.rgb (raw 8-bit RGB, row-major) and prints one JSON line
{"index", "width", "height", "mode", "format"} (or {"index", "error"} when PIL cannot open it).
With --exif-transpose the image is first rotated upright with `ImageOps.exif_transpose` (what `autoOrient: true`
must reproduce); without it EXIF orientation is ignored, as torchvision does.
"""
import json
import os
import sys

from PIL import Image, ImageOps


def main() -> None:
    args = sys.argv[1:]
    transpose = False
    if args and args[0] == "--exif-transpose":
        transpose = True
        args = args[1:]
    out_dir, paths = args[0], args[1:]
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                mode, fmt = im.mode, im.format
                if transpose:
                    im = ImageOps.exif_transpose(im)
                rgb = im.convert("RGB")
            with open(os.path.join(out_dir, f"{i}.rgb"), "wb") as f:
                f.write(rgb.tobytes())
            print(json.dumps({"index": i, "width": rgb.width, "height": rgb.height, "mode": mode, "format": fmt}))
        except Exception as err:  # reported per image; the caller decides
            print(json.dumps({"index": i, "error": f"{type(err).__name__}: {err}"}))


if __name__ == "__main__":
    main()
