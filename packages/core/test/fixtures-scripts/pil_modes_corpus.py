"""Generate an image for every mode Pillow 9.4 reads, and PIL's own decode of each.

Usage: pil_modes_corpus.py OUT_DIR

Writes OUT_DIR/<name>.<ext> (the encoded image) and, when PIL opens it, OUT_DIR/<name>.rgb: the raw 8-bit RGB
bytes of `Image.open(f).convert('RGB')` (row-major) — the pixels torchvision's pipeline sees. Prints one JSON line
per file: {"name", "file", "what", "mode", "format", "width", "height"} or {"name", "file", "what", "error"} when
PIL cannot open or convert it.

The files are made three ways, so that the corpus covers every reader path, not only what one encoder writes:
- PNG and TIFF by the small encoders below (every PNG bit depth × colour type with and without tRNS, Adam7; every
  TIFF sample layout in PIL's OPEN_INFO table: photometric, bits, sample format, extra samples, fill order, byte
  order), because PIL's and libvips' writers only produce a few of them;
- TIFF compression, tiles, strips and planar layout by libtiff's own `tiffcp` (G3, G4, LZW, deflate, PackBits,
  JPEG, predictors), and the Orientation tag by `tiffset` (package libtiff-tools);
- JPEG, GIF and WebP by PIL itself (plus two byte-level edits PIL cannot make: a CMYK JPEG without its Adobe
  marker, a GIF whose first frame is smaller than the canvas).

Deterministic: the same files and references on every run (no randomness without a fixed seed).
"""
import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

W, H = 37, 23  # odd sizes: rows are not whole bytes at 1/2/4 bits, tiles and strips are partial, rotation shows
OUT = ""
ROWS = []  # manifest lines


def ramp(lo, hi, channels=1, seed=0):
    """A deterministic image spanning lo..hi with structure in both directions (so any flip or shift shows)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    base = (x * 7 + y * 13) / (W * 7 + H * 13)
    planes = []
    for c in range(channels):
        noise = rng.random((H, W))
        v = lo + (hi - lo) * ((base + 0.37 * c + 0.25 * noise) % 1.0)
        planes.append(v)
    return np.stack(planes, axis=-1)


def gray16():
    """16-bit gray with a third of the pixels below 256, where PIL's clip to 0–255 keeps them apart."""
    v = ramp(0, 65535, seed=1)[..., 0]
    low = ramp(0, 255, seed=2)[..., 0]
    y, x = np.mgrid[0:H, 0:W]
    v = np.where((x + y) % 3 == 0, low, v)
    return np.rint(v).astype(np.int64)[..., None]


def record(name, path, what):
    entry = {"name": name, "file": os.path.basename(path), "what": what}
    try:
        with Image.open(path) as im:
            mode, fmt = im.mode, im.format
            rgb = im.convert("RGB")
        with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
            f.write(rgb.tobytes())
        entry.update({"mode": mode, "format": fmt, "width": rgb.width, "height": rgb.height})
    except Exception as err:  # the caller decides what a PIL failure means for the file
        entry["error"] = f"{type(err).__name__}: {err}"
    ROWS.append(entry)


def write(name, ext, data, what):
    path = os.path.join(OUT, f"{name}.{ext}")
    with open(path, "wb") as f:
        f.write(data)
    record(name, path, what)
    return path


# ---------------------------------------------------------------- PNG


def pack_rows(samples, bits, big_endian=True):
    """(h, w, c) integer samples → list of packed rows (PNG and TIFF both pack sub-byte samples MSB first)."""
    h, w, c = samples.shape
    rows = []
    for r in range(h):
        flat = samples[r].reshape(-1)
        if bits < 8:
            per = 8 // bits
            padded = np.zeros(((flat.size + per - 1) // per) * per, dtype=np.int64)
            padded[: flat.size] = flat
            groups = padded.reshape(-1, per)
            shifts = np.array([8 - bits * (i + 1) for i in range(per)])
            rows.append(bytes((groups << shifts).sum(axis=1).astype(np.uint8)))
        elif bits == 8:
            rows.append(bytes(flat.astype(np.uint8)))
        elif bits == 16:
            rows.append(flat.astype(">u2" if big_endian else "<u2").tobytes())
        else:
            raise ValueError(bits)
    return rows


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(name, samples, bits, colour_type, what, plte=None, trns=None, interlace=False):
    h, w, _ = samples.shape
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in pack_rows(sub, bits):
            raw += b"\x00" + row
    ihdr = struct.pack(">IIBBBBB", w, h, bits, colour_type, 0, 0, 1 if interlace else 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if plte is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(plte, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    write(name, "png", data, what)


def palette(n, seed=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3))


def make_png():
    for bits in (1, 2, 4, 8, 16):
        top = (1 << bits) - 1
        g = np.rint(ramp(0, top, seed=bits)).astype(np.int64) if bits < 16 else gray16()
        png(f"png-gray{bits}", g, bits, 0, f"PNG gray {bits}-bit")
        # tRNS names one gray level transparent; PIL keeps it as info and convert('RGB') ignores it.
        t = int(g[3, 5, 0])
        png(f"png-gray{bits}-trns", g, bits, 0, f"PNG gray {bits}-bit + tRNS", trns=struct.pack(">H", t))
    png("png-gray16-trns-adam7", gray16(), 16, 0, "PNG gray 16-bit + tRNS, interlaced", trns=struct.pack(">H", 300),
        interlace=True)
    png("png-gray16-adam7", gray16(), 16, 0, "PNG gray 16-bit, interlaced", interlace=True)
    for bits in (8, 16):
        top = (1 << bits) - 1
        rgb = np.rint(ramp(0, top, 3, seed=10 + bits)).astype(np.int64)
        png(f"png-rgb{bits}", rgb, bits, 2, f"PNG RGB {bits}-bit")
        t = struct.pack(">HHH", *(int(v) for v in rgb[2, 4]))
        png(f"png-rgb{bits}-trns", rgb, bits, 2, f"PNG RGB {bits}-bit + tRNS", trns=t)
        ga = np.rint(ramp(0, top, 2, seed=20 + bits)).astype(np.int64)
        ga[0:4, 0:6, 1] = 0  # fully transparent pixels keep their colour in PIL's convert('RGB')
        png(f"png-la{bits}", ga, bits, 4, f"PNG gray+alpha {bits}-bit")
        rgba = np.rint(ramp(0, top, 4, seed=30 + bits)).astype(np.int64)
        rgba[0:4, 0:6, 3] = 0
        png(f"png-rgba{bits}", rgba, bits, 6, f"PNG RGBA {bits}-bit")
    png("png-rgb8-adam7", np.rint(ramp(0, 255, 3, seed=40)).astype(np.int64), 8, 2, "PNG RGB 8-bit, interlaced",
        interlace=True)
    for bits in (1, 2, 4, 8):
        n = 1 << bits
        idx = np.rint(ramp(0, n - 1, seed=50 + bits)).astype(np.int64)
        pal = palette(n, seed=bits)
        png(f"png-p{bits}", idx, bits, 3, f"PNG palette {bits}-bit", plte=pal)
        png(f"png-p{bits}-trns1", idx, bits, 3, f"PNG palette {bits}-bit + tRNS (one transparent entry)", plte=pal,
            trns=b"\xff" * (n // 2) + b"\x00")
        alphas = bytes(np.linspace(0, 255, n).astype(np.uint8))
        png(f"png-p{bits}-trns", idx, bits, 3, f"PNG palette {bits}-bit + tRNS (alpha per entry)", plte=pal,
            trns=alphas)
    png("png-p4-short-plte", np.rint(ramp(0, 5, seed=60)).astype(np.int64), 4, 3, "PNG palette 4-bit, 6-entry PLTE",
        plte=palette(6, seed=61))
    png("png-p8-adam7-trns", np.rint(ramp(0, 255, seed=62)).astype(np.int64), 8, 3,
        "PNG palette 8-bit + tRNS, interlaced", plte=palette(256, seed=63), trns=bytes(range(0, 256, 2)),
        interlace=True)
    # Ancillary chunks that change nothing in PIL's convert('RGB'): gAMA, cHRM, sBIT, an ICC profile.
    rgb8 = np.rint(ramp(0, 255, 3, seed=65)).astype(np.int64)
    raw = b"".join(b"\x00" + row for row in pack_rows(rgb8, 8))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
        + png_chunk(b"gAMA", struct.pack(">I", 100000))
        + png_chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
        + png_chunk(b"sBIT", b"\x05\x06\x05")
        + png_chunk(b"IDAT", zlib.compress(raw, 9))
        + png_chunk(b"IEND", b"")
    )
    write("png-rgb8-gama-chrm-sbit", "png", data, "PNG RGB 8-bit with gAMA 1.0, cHRM, sBIT")
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    buf = io.BytesIO()
    Image.fromarray(rgb8.astype(np.uint8)).save(buf, "PNG", icc_profile=icc)
    write("png-rgb8-icc", "png", buf.getvalue(), "PNG RGB 8-bit with an (ignored) ICC profile")
    # APNG: the default image is the first frame, or not part of the animation at all.
    a = Image.fromarray(rgb8.astype(np.uint8))
    b = a.transpose(Image.Transpose.ROTATE_180)
    buf = io.BytesIO()
    a.save(buf, "PNG", save_all=True, append_images=[b], duration=100)
    write("png-apng", "png", buf.getvalue(), "APNG, default image = first frame")
    buf = io.BytesIO()
    a.save(buf, "PNG", save_all=True, append_images=[b, a], default_image=True, duration=100)
    write("png-apng-default-image", "png", buf.getvalue(), "APNG, default image outside the animation")
    # PIL's own writer: mode 1, I;16 and I (saved as 16-bit gray).
    buf = io.BytesIO()
    Image.fromarray((ramp(0, 1, seed=64)[..., 0] > 0.5)).save(buf, "PNG")
    write("png-pil-mode1", "png", buf.getvalue(), "PNG written by PIL from mode 1")
    buf = io.BytesIO()
    Image.fromarray(gray16()[..., 0].astype(np.uint16)).save(buf, "PNG")
    write("png-pil-i16", "png", buf.getvalue(), "PNG written by PIL from mode I;16")


# ---------------------------------------------------------------- TIFF


def tiff(name, samples, bits, photometric, what, order="<", sample_format=None, extra=None, colormap=None,
         fill_order=None, float_dtype=None, orientation=None, planar=False, jpeg_strip=None):
    """An uncompressed TIFF with exactly the given tags (PIL's OPEN_INFO key is what varies): one strip, or with
    `planar` one strip per sample plane (PlanarConfiguration 2, which tiffcp only writes for 8-bit samples)."""
    h, w, c = samples.shape
    if planar:
        planes = [np.ascontiguousarray(samples[..., i: i + 1]) for i in range(c)]
    else:
        planes = [samples]
    if jpeg_strip is not None:  # a whole JPEG stream as the one strip (Compression 7)
        strips = [jpeg_strip]
    else:
        strips = [sample_bytes(plane, bits, order, sample_format, float_dtype) for plane in planes]
    body = b"".join(strips)
    tags = [
        (256, 4, [w]),
        (257, 4, [h]),
        (258, 3, [bits] * c),
        (259, 3, [1 if jpeg_strip is None else 7]),
        (262, 3, [photometric]),
        (273, 4, [0] * len(strips)),  # strip offsets, set below once the layout is known
        (277, 3, [c]),
        (278, 4, [h]),
        (279, 4, [len(s) for s in strips]),
        (284, 3, [2 if planar else 1]),
    ]
    if fill_order is not None:
        tags.append((266, 3, [fill_order]))
    if orientation is not None:
        tags.append((274, 3, [orientation]))
    if colormap is not None:
        tags.append((320, 3, list(colormap)))
    if extra is not None:
        tags.append((338, 3, list(extra)))
    if sample_format is not None:
        tags.append((339, 3, [sample_format] * c))
    tags.sort()
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(tags) + 4

    def layout(strip_at):
        blobs = b""
        entries = b""
        for tag, kind, values in tags:
            if tag == 273:
                values = [strip_at + sum(len(s) for s in strips[:i]) for i in range(len(strips))]
            packed = struct.pack(order + ("H" if kind == 3 else "I") * len(values), *values)
            if len(packed) <= 4:
                entries += struct.pack(order + "HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
            else:
                entries += struct.pack(order + "HHII", tag, kind, len(values), data_at + len(blobs))
                blobs += packed
        return entries, blobs

    _, blobs = layout(0)  # same sizes whatever the offsets
    entries, blobs = layout(data_at + len(blobs))
    head = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", ifd_at)
    data = head + struct.pack(order + "H", len(tags)) + entries + b"\0\0\0\0" + blobs + body
    return write(name, "tif", data, what)


def sample_bytes(samples, bits, order, sample_format, float_dtype):
    h = samples.shape[0]
    if float_dtype is not None:
        return samples.astype(order + float_dtype).tobytes()
    if bits == 32:
        return samples.astype(order + ("i4" if sample_format == 2 else "u4")).tobytes()
    if bits == 16:
        return samples.astype(order + ("i2" if sample_format == 2 else "u2")).tobytes()
    if bits == 12:
        rows = []
        for r in samples.reshape(h, -1):  # 12-bit samples packed MSB first, each row padded to a byte
            bitstr = "".join(format(int(v), "012b") for v in r)
            bitstr += "0" * (-len(bitstr) % 8)
            rows.append(int(bitstr, 2).to_bytes(len(bitstr) // 8, "big"))
        return b"".join(rows)
    return b"".join(pack_rows(samples, bits))


def tiffcp(src, name, args, what):
    dst = os.path.join(OUT, name + ".tif")
    subprocess.run(["tiffcp", *args, src, dst], check=True, stderr=subprocess.DEVNULL)
    record(name, dst, what)
    return dst


def tiffset(src, name, tag, value, what):
    dst = os.path.join(OUT, name + ".tif")
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    subprocess.run(["tiffset", "-s", str(tag), str(value), dst], check=True, stderr=subprocess.DEVNULL)
    record(name, dst, what)
    return dst


def u8(channels, seed):
    return np.rint(ramp(0, 255, channels, seed=seed)).astype(np.int64)


def u16(channels, seed):
    return np.rint(ramp(0, 65535, channels, seed=seed)).astype(np.int64)


def alpha_holes(img, top):
    img = img.copy()
    img[0:4, 0:6, -1] = 0  # fully transparent
    img[5:7, :, -1] = top  # opaque
    return img


def make_tiff():
    # Bilevel: both photometrics, both fill orders; then G3/G4 and every orientation.
    bw = (ramp(0, 1, seed=70) > 0.5).astype(np.int64)
    for photo in (0, 1):
        for fill in (1, 2):
            tiff(f"tif-1bit-photo{photo}-fill{fill}", bw, 1, photo, f"TIFF 1-bit photometric {photo} fill order {fill}",
                 fill_order=fill)
    base = os.path.join(OUT, "tif-1bit-photo0-fill1.tif")
    for comp, args in (("g3", ["-c", "g3"]), ("g3-2d", ["-c", "g3:2d"]), ("g4", ["-c", "g4"])):
        src = tiffcp(base, f"tif-1bit-{comp}", args, f"TIFF 1-bit {comp.upper()}")
        for o in range(2, 9):
            tiffset(src, f"tif-1bit-{comp}-orient{o}", 274, o, f"TIFF 1-bit {comp.upper()}, Orientation {o}")
    tiffcp(os.path.join(OUT, "tif-1bit-photo1-fill2.tif"), "tif-1bit-g4-fill2-photo1", ["-c", "g4"],
           "TIFF 1-bit G4, fill order 2, min-is-black")
    for o in range(2, 9):
        tiffset(base, f"tif-1bit-orient{o}", 274, o, f"TIFF 1-bit uncompressed, Orientation {o}")
    # G3/G4 written by Pillow's own libtiff encoder with the Orientation tag in the IFD from the start (not set
    # afterwards by tiffset), wide enough that a transposition changes the size, both fill orders.
    wide = Image.fromarray((np.random.default_rng(71).random((9, 59)) > 0.5))
    for comp in ("group3", "group4"):
        for o in range(5, 9):
            name = f"tif-1bit-pil-{comp}-orient{o}"
            path = os.path.join(OUT, name + ".tif")
            wide.save(path, compression=comp, tiffinfo={274: o})
            record(name, path, f"TIFF 1-bit {comp} by Pillow, Orientation {o}")
    tiffcp(os.path.join(OUT, "tif-1bit-pil-group4-orient6.tif"), "tif-1bit-pil-group4-orient6-fill2",
           ["-c", "g4", "-f", "lsb2msb"], "TIFF 1-bit G4 by Pillow, Orientation 6, fill order 2 (tiffcp)")
    # 2/4/8-bit gray, both photometrics; 8-bit with fill order 2.
    for bits in (2, 4, 8):
        g = np.rint(ramp(0, (1 << bits) - 1, seed=80 + bits)).astype(np.int64)
        for photo in (0, 1):
            tiff(f"tif-l{bits}-photo{photo}", g, bits, photo, f"TIFF gray {bits}-bit photometric {photo}")
    tiff("tif-l8-fill2", u8(1, 90), 8, 1, "TIFF gray 8-bit fill order 2", fill_order=2)
    # 12/16/32-bit integer and float gray.
    tiff("tif-i12", np.rint(ramp(0, 4095, seed=91)).astype(np.int64), 12, 1, "TIFF gray 12-bit")
    for photo in (0, 1):
        tiff(f"tif-i16-photo{photo}", gray16(), 16, photo, f"TIFF gray 16-bit photometric {photo}")
    tiff("tif-i16b", gray16(), 16, 1, "TIFF gray 16-bit big-endian", order=">")
    tiff("tif-i16-fill2", gray16(), 16, 1, "TIFF gray 16-bit fill order 2", fill_order=2)
    s16 = gray16() - 32768
    s16[::4] = gray16()[::4] // 256  # some small positive values
    tiff("tif-i16s", s16, 16, 1, "TIFF gray 16-bit signed", sample_format=2)
    tiff("tif-i16bs", s16, 16, 1, "TIFF gray 16-bit signed big-endian", sample_format=2, order=">")
    i32 = (gray16() - 20000) * 3
    u32 = np.abs(i32)
    u32[::5, ::2] = 3_000_000_000  # ≥ 2^31: PIL's signed mode I wraps these negative
    tiff("tif-i32u", u32, 32, 1, "TIFF gray 32-bit unsigned")
    tiff("tif-i32s", i32, 32, 1, "TIFF gray 32-bit signed", sample_format=2)
    tiff("tif-i32bs", i32, 32, 1, "TIFF gray 32-bit signed big-endian", sample_format=2, order=">")
    f32 = ramp(-40, 300, seed=92)
    f32[::3] = ramp(0, 1, seed=93)[::3]  # 0–1 floats as well
    for photo in (0, 1):
        tiff(f"tif-f32-photo{photo}", f32, 32, photo, f"TIFF gray 32-bit float photometric {photo}",
             sample_format=3, float_dtype="f4")
    tiff("tif-f32b", f32, 32, 1, "TIFF gray 32-bit float big-endian", sample_format=3, float_dtype="f4", order=">")
    # Gray + alpha.
    tiff("tif-la8", alpha_holes(u8(2, 94), 255), 8, 1, "TIFF gray+alpha 8-bit", extra=[2])
    # RGB(A/X/a) 8-bit in every ExtraSamples layout.
    tiff("tif-rgb8", u8(3, 100), 8, 2, "TIFF RGB 8-bit")
    tiff("tif-rgb8-mm", u8(3, 100), 8, 2, "TIFF RGB 8-bit big-endian", order=">")
    tiff("tif-rgb8-fill2", u8(3, 100), 8, 2, "TIFF RGB 8-bit fill order 2", fill_order=2)
    rgba = alpha_holes(u8(4, 101), 255)
    tiff("tif-rgba8-noextra", rgba, 8, 2, "TIFF RGBA 8-bit without ExtraSamples")
    tiff("tif-rgbx8", rgba, 8, 2, "TIFF RGBX 8-bit (ExtraSamples 0)", extra=[0])
    tiff("tif-rgba8", rgba, 8, 2, "TIFF RGBA 8-bit (unassociated alpha)", extra=[2])
    tiff("tif-rgba8-corel", rgba, 8, 2, "TIFF RGBA 8-bit (ExtraSamples 999, Corel)", extra=[999])
    # Premultiplied (associated) alpha: colour ≤ alpha, as a real premultiplied image has.
    prem = rgba.copy()
    prem[..., :3] = prem[..., :3] * prem[..., 3:] // 255
    prem[8, :10, :3] = 250  # colour above alpha (not valid premultiplied data, but files have it): clipped
    prem[9, :10, 3] = 0  # colour under zero alpha: PIL gives black
    prem[9, :10, :3] = 90
    tiff("tif-rgba8-assoc", prem, 8, 2, "TIFF RGBa 8-bit (associated alpha)", extra=[1])
    five = np.concatenate([rgba, u8(1, 102)], axis=-1)
    six = np.concatenate([rgba, u8(2, 103)], axis=-1)
    tiff("tif-rgbxx8", five, 8, 2, "TIFF RGBXX 8-bit", extra=[0, 0])
    tiff("tif-rgbaX8", five, 8, 2, "TIFF RGBAX 8-bit", extra=[2, 0])
    tiff("tif-rgbaXX8", six, 8, 2, "TIFF RGBAXX 8-bit", extra=[2, 0, 0])
    prem5 = np.concatenate([prem, u8(1, 104)], axis=-1)
    tiff("tif-rgbaX8-assoc", prem5, 8, 2, "TIFF RGBaX 8-bit", extra=[1, 0])
    tiff("tif-rgbxxx8", six, 8, 2, "TIFF RGBXXX 8-bit", extra=[0, 0, 0])
    # 16-bit RGB(A).
    for order, tag in (("<", "le"), (">", "be")):
        tiff(f"tif-rgb16-{tag}", u16(3, 110), 16, 2, f"TIFF RGB 16-bit {tag}", order=order)
        rgba16 = alpha_holes(u16(4, 111), 65535)
        tiff(f"tif-rgba16-{tag}", rgba16, 16, 2, f"TIFF RGBA 16-bit {tag} (unassociated)", order=order, extra=[2])
        tiff(f"tif-rgba16-noextra-{tag}", rgba16, 16, 2, f"TIFF RGBA 16-bit {tag} without ExtraSamples", order=order)
        tiff(f"tif-rgbx16-{tag}", rgba16, 16, 2, f"TIFF RGBX 16-bit {tag}", order=order, extra=[0])
        prem16 = rgba16.copy()
        prem16[..., :3] = prem16[..., :3] * prem16[..., 3:] // 65535
        tiff(f"tif-rgba16-assoc-{tag}", prem16, 16, 2, f"TIFF RGBa 16-bit {tag} (associated alpha)", order=order,
             extra=[1])
    tiff("tif-rgb16-planar", u16(3, 112), 16, 2, "TIFF RGB 16-bit planar", planar=True)
    tiff("tif-rgba16-planar", alpha_holes(u16(4, 113), 65535), 16, 2, "TIFF RGBA 16-bit planar", extra=[2],
         planar=True)
    tiff("tif-cmyk16-planar", u16(4, 114), 16, 5, "TIFF CMYK 16-bit planar", planar=True)
    # Palette 1/2/4/8-bit, palette + alpha.
    for bits in (1, 2, 4, 8):
        n = 1 << bits
        idx = np.rint(ramp(0, n - 1, seed=120 + bits)).astype(np.int64)
        pal = palette(n, seed=121 + bits)
        cmap = [int(v) * 257 for v in np.concatenate([pal[:, 0], pal[:, 1], pal[:, 2]])]
        tiff(f"tif-p{bits}", idx, bits, 3, f"TIFF palette {bits}-bit", colormap=cmap)
    pa = np.concatenate([idx, alpha_holes(u8(1, 125), 255)], axis=-1)
    tiff("tif-pa8", pa, 8, 3, "TIFF palette 8-bit + alpha", colormap=cmap, extra=[2])
    tiff("tif-p8-fill2", idx, 8, 3, "TIFF palette 8-bit fill order 2", colormap=cmap, fill_order=2)
    # CMYK 8/16-bit, with extra channels; JPEG-compressed CMYK.
    cmyk = u8(4, 130)
    tiff("tif-cmyk8", cmyk, 8, 5, "TIFF CMYK 8-bit")
    tiff("tif-cmyk8-mm", cmyk, 8, 5, "TIFF CMYK 8-bit big-endian", order=">")
    tiff("tif-cmykx8", np.concatenate([cmyk, u8(1, 131)], axis=-1), 8, 5, "TIFF CMYKX 8-bit", extra=[0])
    tiff("tif-cmykxx8", np.concatenate([cmyk, u8(2, 132)], axis=-1), 8, 5, "TIFF CMYKXX 8-bit", extra=[0, 0])
    tiff("tif-cmyka8", np.concatenate([cmyk, u8(1, 133)], axis=-1), 8, 5, "TIFF CMYK + alpha 8-bit", extra=[2])
    tiff("tif-cmyk16", u16(4, 134), 16, 5, "TIFF CMYK 16-bit")
    tiff("tif-cmyk16-mm", u16(4, 134), 16, 5, "TIFF CMYK 16-bit big-endian", order=">")
    tiffcp(os.path.join(OUT, "tif-cmyk8.tif"), "tif-cmyk8-jpeg", ["-c", "jpeg"], "TIFF CMYK 8-bit JPEG-compressed")
    # A 16-bit CMYK TIFF whose strip is JPEG (JPEG has no 16-bit lossy samples; such files exist nonetheless).
    cmyk_jpeg = io.BytesIO()
    Image.fromarray(cmyk.astype(np.uint8), "CMYK").save(cmyk_jpeg, format="JPEG", quality=95)
    tiff("tif-cmyk16-jpeg", u16(4, 135), 16, 5, "TIFF CMYK 16-bit with a JPEG strip", jpeg_strip=cmyk_jpeg.getvalue())
    # Lab.
    tiff("tif-lab8", u8(3, 140), 8, 8, "TIFF CIELab 8-bit")
    # Compression, predictors, strips, tiles, planar layout (all through libtiff's tiffcp).
    rgb8 = os.path.join(OUT, "tif-rgb8.tif")
    rgba8 = os.path.join(OUT, "tif-rgba8.tif")
    i16 = os.path.join(OUT, "tif-i16-photo1.tif")
    f32p = os.path.join(OUT, "tif-f32-photo1.tif")
    l8 = os.path.join(OUT, "tif-l8-photo1.tif")
    cmyk8 = os.path.join(OUT, "tif-cmyk8.tif")
    rgb16 = os.path.join(OUT, "tif-rgb16-le.tif")
    variants = [
        (rgb8, "tif-rgb8-lzw", ["-c", "lzw"]),
        (rgb8, "tif-rgb8-lzw-pred2", ["-c", "lzw:2"]),
        (rgb8, "tif-rgb8-zip", ["-c", "zip"]),
        (rgb8, "tif-rgb8-packbits", ["-c", "packbits"]),
        (rgb8, "tif-rgb8-jpeg-ycbcr", ["-c", "jpeg"]),
        (rgb8, "tif-rgb8-jpeg-rgb", ["-c", "jpeg:r"]),
        (rgb8, "tif-rgb8-strips3", ["-r", "3"]),
        (rgb8, "tif-rgb8-tiled", ["-t", "-w", "16", "-l", "16"]),
        (rgb8, "tif-rgb8-planar", ["-p", "separate"]),
        (rgb8, "tif-rgb8-planar-tiled-lzw", ["-p", "separate", "-t", "-w", "16", "-l", "16", "-c", "lzw"]),
        (rgba8, "tif-rgba8-planar", ["-p", "separate"]),
        (rgba8, "tif-rgba8-tiled", ["-t", "-w", "16", "-l", "16"]),
        (l8, "tif-l8-tiled", ["-t", "-w", "16", "-l", "16"]),
        (l8, "tif-l8-lzw-pred2", ["-c", "lzw:2"]),
        (i16, "tif-i16-lzw", ["-c", "lzw"]),
        (i16, "tif-i16-zip-pred2", ["-c", "zip:2"]),
        (i16, "tif-i16-tiled", ["-t", "-w", "16", "-l", "16"]),
        (f32p, "tif-f32-lzw-pred3", ["-c", "lzw:3"]),
        (cmyk8, "tif-cmyk8-planar", ["-p", "separate"]),
        (cmyk8, "tif-cmyk8-lzw", ["-c", "lzw"]),
        (cmyk8, "tif-cmyk8-tiled", ["-t", "-w", "16", "-l", "16"]),
        (rgb16, "tif-rgb16-zip", ["-c", "zip"]),
        (os.path.join(OUT, "tif-la8.tif"), "tif-la8-planar", ["-p", "separate"]),
        (os.path.join(OUT, "tif-1bit-photo0-fill1.tif"), "tif-1bit-tiled", ["-t", "-w", "16", "-l", "16"]),
        (rgb8, "tif-rgb8-bigtiff", ["-8"]),
        (os.path.join(OUT, "tif-rgb16-planar.tif"), "tif-rgb16-planar-lzw", ["-c", "lzw"]),
        (os.path.join(OUT, "tif-rgba16-planar.tif"), "tif-rgba16-planar-zip", ["-c", "zip"]),
        (os.path.join(OUT, "tif-cmyk16-planar.tif"), "tif-cmyk16-planar-lzw", ["-c", "lzw"]),
        (i16, "tif-i16-bigtiff", ["-8"]),
    ]
    for src, name, args in variants:
        tiffcp(src, name, args, f"{name[4:]} (tiffcp {' '.join(args)})")
    # Orientation on colour TIFFs (uncompressed, tiled, JPEG) and a multi-page TIFF.
    for o in range(2, 9):
        tiffset(rgb8, f"tif-rgb8-orient{o}", 274, o, f"TIFF RGB 8-bit, Orientation {o}")
    tiffset(os.path.join(OUT, "tif-rgb8-tiled.tif"), "tif-rgb8-tiled-orient6", 274, 6, "TIFF RGB tiled, Orientation 6")
    tiffset(os.path.join(OUT, "tif-rgb8-jpeg-ycbcr.tif"), "tif-rgb8-jpeg-orient5", 274, 5,
            "TIFF RGB JPEG, Orientation 5")
    tiffset(i16, "tif-i16-orient7", 274, 7, "TIFF gray 16-bit, Orientation 7")
    two = os.path.join(OUT, "tif-two-pages.tif")
    subprocess.run(["tiffcp", rgb8, l8, two], check=True, stderr=subprocess.DEVNULL)
    record("tif-two-pages", two, "TIFF two pages (RGB then gray)")
    # PIL's own TIFF writer.
    for mode, arr in (("I;16", gray16()[..., 0].astype(np.uint16)), ("F", f32[..., 0].astype(np.float32))):
        im = Image.fromarray(arr)
        path = os.path.join(OUT, f"tif-pil-{mode.replace(';', '')}.tif")
        im.save(path)
        record(os.path.basename(path)[:-4], path, f"TIFF written by PIL from mode {mode}")
    im = Image.fromarray(u8(3, 150).astype(np.uint8)).convert("YCbCr")
    path = os.path.join(OUT, "tif-pil-ycbcr.tif")
    im.save(path)
    record("tif-pil-ycbcr", path, "TIFF written by PIL from mode YCbCr (uncompressed)")


# ---------------------------------------------------------------- JPEG, GIF, WebP (PIL's writers)


def pil_save(name, ext, im, what, **params):
    buf = io.BytesIO()
    im.save(buf, **params)
    return write(name, ext, buf.getvalue(), what)


def make_jpeg():
    rgb = Image.fromarray(u8(3, 160).astype(np.uint8))
    pil_save("jpg-rgb-420", "jpg", rgb, "JPEG RGB 4:2:0", format="JPEG", quality=90)
    pil_save("jpg-rgb-444", "jpg", rgb, "JPEG RGB 4:4:4", format="JPEG", quality=90, subsampling=0)
    pil_save("jpg-rgb-422", "jpg", rgb, "JPEG RGB 4:2:2", format="JPEG", quality=90, subsampling=1)
    pil_save("jpg-rgb-progressive", "jpg", rgb, "JPEG RGB progressive", format="JPEG", quality=90, progressive=True)
    pil_save("jpg-l", "jpg", rgb.convert("L"), "JPEG gray", format="JPEG", quality=90)
    cmyk = Image.fromarray(u8(4, 161).astype(np.uint8), "CMYK")
    data = pil_save("jpg-cmyk", "jpg", cmyk, "JPEG CMYK (Adobe marker)", format="JPEG", quality=90)
    with open(data, "rb") as f:
        jpg = f.read()
    # The same without its Adobe APP14 segment: PIL still inverts (it always reads CMYK JPEG as Adobe-inverted).
    at = jpg.find(b"\xff\xee")
    if at > 0:
        length = struct.unpack(">H", jpg[at + 2: at + 4])[0]
        write("jpg-cmyk-no-adobe", "jpg", jpg[:at] + jpg[at + 2 + length:], "JPEG CMYK without Adobe marker")


def make_gif():
    idx = np.rint(ramp(0, 255, seed=170)[..., 0]).astype(np.uint8)
    p = Image.fromarray(idx, "P")
    p.putpalette(bytes(palette(256, seed=171).astype(np.uint8).reshape(-1)))
    pil_save("gif-p8", "gif", p, "GIF 256 colours", format="GIF")
    pil_save("gif-p8-trns", "gif", p, "GIF 256 colours, transparent index", format="GIF", transparency=7)
    pil_save("gif-p8-interlaced", "gif", p, "GIF interlaced", format="GIF", interlace=True)
    small = Image.fromarray((idx % 4).astype(np.uint8), "P")
    small.putpalette(bytes(palette(4, seed=172).astype(np.uint8).reshape(-1)))
    pil_save("gif-p2", "gif", small, "GIF 4 colours", format="GIF")
    gray = Image.fromarray(idx, "L")
    pil_save("gif-gray", "gif", gray, "GIF gray palette (PIL mode L)", format="GIF")
    frames = [p, p.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    write("gif-two-frames", "gif", buf.getvalue(), "GIF two frames (first decoded)")
    # First frame smaller than the canvas: grow the logical screen, move the frame to (5, 3).
    buf = io.BytesIO()
    p.save(buf, format="GIF", transparency=7)
    gif = bytearray(buf.getvalue())
    struct.pack_into("<HH", gif, 6, W + 9, H + 6)
    desc = gif.find(b"\x2c", 13)
    while desc > 0 and struct.unpack_from("<HHHH", gif, desc + 1) != (0, 0, W, H):
        desc = gif.find(b"\x2c", desc + 1)
    struct.pack_into("<HH", gif, desc + 1, 5, 3)
    write("gif-offset-frame", "gif", bytes(gif), "GIF first frame smaller than the canvas")


def make_webp():
    rgb = Image.fromarray(u8(3, 180).astype(np.uint8))
    rgba = Image.fromarray(alpha_holes(u8(4, 181), 255).astype(np.uint8), "RGBA")
    pil_save("webp-lossy", "webp", rgb, "WebP lossy", format="WEBP", quality=80)
    pil_save("webp-lossless", "webp", rgb, "WebP lossless", format="WEBP", lossless=True)
    pil_save("webp-lossy-alpha", "webp", rgba, "WebP lossy + alpha", format="WEBP", quality=80)
    pil_save("webp-lossless-alpha", "webp", rgba, "WebP lossless + alpha", format="WEBP", lossless=True)
    buf = io.BytesIO()
    rgb.save(buf, format="WEBP", save_all=True, append_images=[rgb.rotate(180)], duration=100, lossless=True)
    write("webp-two-frames", "webp", buf.getvalue(), "WebP animated (first frame)")


def main() -> None:
    global OUT
    OUT = sys.argv[1]
    warnings.simplefilter("ignore")  # PIL's palette-transparency notice on convert('RGB'): expected here
    os.makedirs(OUT, exist_ok=True)
    make_png()
    make_tiff()
    make_jpeg()
    make_gif()
    make_webp()
    for row in ROWS:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
