/**
 * Hand-checked geometry, independent of Pillow: the size and offset rules of torchvision and Pillow written out
 * on small numbers (the parity test checks the same against the real libraries on thousands of cases).
 */
import {
  centerCrop,
  centerCropWindow,
  keepRatioOutputSize,
  type RawImage,
  resize,
  resizeShorterSide,
  shorterSideOutputSize,
  toRGB,
} from '@mtailor/preprocess';
import { describe, expect, it } from 'vitest';

const gray = (width: number, height: number, data?: number[]): RawImage => ({
  data: Uint8Array.from(data ?? Array.from({ length: width * height }, (_, i) => i + 1)),
  width,
  height,
  channels: 1,
});

describe('shorterSideOutputSize (torchvision _compute_resized_output_size)', () => {
  it('short side = size, long side truncated', () => {
    expect(shorterSideOutputSize(500, 375, 256)).toEqual({ width: 341, height: 256 }); // 341.33
    expect(shorterSideOutputSize(375, 500, 256)).toEqual({ width: 256, height: 341 });
    expect(shorterSideOutputSize(300, 300, 256)).toEqual({ width: 256, height: 256 });
    expect(shorterSideOutputSize(257, 1000, 256)).toEqual({ width: 256, height: 996 }); // 996.11
  });
  it('maxSize caps the long side', () => {
    expect(shorterSideOutputSize(640, 480, 256, 300)).toEqual({ width: 300, height: 225 }); // 341 > 300
    expect(shorterSideOutputSize(640, 480, 256, 400)).toEqual({ width: 341, height: 256 });
  });
  it('no resampling when the short side already has the size (a copy, same bytes)', () => {
    const img = gray(256, 300);
    const out = resizeShorterSide(img, { size: 256 });
    expect(out).not.toBe(img);
    expect(out.data).toEqual(img.data);
  });
});

describe('centerCropWindow (torchvision center_crop)', () => {
  it('odd margins round half to even, like Python round()', () => {
    expect(centerCropWindow(341, 256, 224, 224)).toEqual({ left: 58, top: 16, width: 224, height: 224 }); // 58.5
    expect(centerCropWindow(101, 51, 100, 50)).toEqual({ left: 0, top: 0, width: 100, height: 50 }); // 0.5 → 0
    expect(centerCropWindow(103, 53, 100, 50)).toEqual({ left: 2, top: 2, width: 100, height: 50 }); // 1.5 → 2
  });
  it('a crop larger than the image pads (floor before, ceil after)', () => {
    expect(centerCropWindow(7, 5, 10, 3)).toEqual({ left: -1, top: 1, width: 10, height: 3 });
    expect(centerCropWindow(2, 2, 5, 5)).toEqual({ left: -1, top: -1, width: 5, height: 5 });
  });
  it('pixels: zero padding around the image', () => {
    const out = centerCrop(gray(2, 2), { width: 4, height: 3 });
    // (3 − 2) // 2 = 0 rows above, (3 − 2 + 1) // 2 = 1 below; one column each side.
    expect(Array.from(out.data)).toEqual([0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
  });
});

describe('centerCropWindow offsets of transformers, and the fill colour', () => {
  it("'transformers-torchvision' floors odd margins; pads like torchvision", () => {
    expect(centerCropWindow(341, 256, 224, 224, 'transformers-torchvision').left).toBe(58); // 58.5
    expect(centerCropWindow(103, 53, 100, 50, 'transformers-torchvision')).toMatchObject({ left: 1, top: 1 });
    expect(centerCropWindow(7, 5, 10, 3, 'transformers-torchvision')).toMatchObject({ left: -1, top: 1 });
  });
  it("'transformers-pil' floors both ways: more padding before the image", () => {
    expect(centerCropWindow(103, 53, 100, 50, 'transformers-pil')).toMatchObject({ left: 1, top: 1 });
    expect(centerCropWindow(7, 5, 10, 3, 'transformers-pil')).toMatchObject({ left: -2, top: 1 });
  });
  it('fill pads with a colour per channel; the image part is untouched', () => {
    const out = centerCrop(gray(2, 2), { width: 4, height: 3, fill: [9] });
    expect(Array.from(out.data)).toEqual([9, 1, 2, 9, 9, 3, 4, 9, 9, 9, 9, 9]);
    const rgbOut = centerCrop(
      { data: new Uint8Array([1, 2, 3]), width: 1, height: 1, channels: 3 },
      {
        width: 2,
        height: 1,
        fill: [7, 8, 9],
      },
    );
    expect(Array.from(rgbOut.data)).toEqual([1, 2, 3, 7, 8, 9]);
  });
});

describe('keepRatioOutputSize (timm ResizeKeepRatio)', () => {
  it('longest 0 fits the shorter side, longest 1 the longer; Python round() half to even', () => {
    expect(keepRatioOutputSize(500, 375, 284, 213, 0)).toEqual({ width: 284, height: 213 });
    expect(keepRatioOutputSize(500, 375, 200, 240, 1)).toEqual({ width: 200, height: 150 });
    // ratio 6 / 3 = 2: 5 / 2 = 2.5 → 2 and 7 / 2 = 3.5 → 4
    expect(keepRatioOutputSize(5, 6, 4, 3, 1)).toEqual({ width: 2, height: 3 });
    expect(keepRatioOutputSize(7, 6, 4, 3, 1)).toEqual({ width: 4, height: 3 });
  });
});

describe('resize on tiny images', () => {
  it('nearest follows Pillow: source position starts at half a step and is accumulated, then truncated', () => {
    expect(Array.from(resize(gray(4, 1), { width: 2, height: 1, filter: 'nearest' }).data)).toEqual([2, 4]);
    expect(Array.from(resize(gray(2, 1), { width: 5, height: 1, filter: 'nearest' }).data)).toEqual([
      1, 1, 2, 2, 2,
    ]);
  });
  it('bilinear 2:1 downscale averages pairs (triangle of support 2), rounding half up', () => {
    expect(Array.from(resize(gray(4, 1, [10, 20, 31, 40]), { width: 2, height: 1 }).data)).toEqual([
      // centre 1.0: weights at 0,1 (and 2 at distance 1.5/2 → 0.25) normalised: (0.75·10 + 0.75·20 + 0.25·31)/1.75
      Math.round((0.75 * 10 + 0.75 * 20 + 0.25 * 31) / 1.75),
      Math.round((0.25 * 20 + 0.75 * 31 + 0.75 * 40) / 1.75),
    ]);
  });
  it('box 2:1 averages exact pairs', () => {
    expect(
      Array.from(
        resize(gray(4, 2, [0, 2, 4, 6, 8, 10, 12, 14]), { width: 2, height: 1, filter: 'box' }).data,
      ),
    ).toEqual([5, 9]);
  });
  it('same size returns a copy', () => {
    const img = gray(3, 3);
    const out = resize(img, { width: 3, height: 3, filter: 'lanczos' });
    expect(out.data).not.toBe(img.data);
    expect(out.data).toEqual(img.data);
  });
  it('a constant image stays constant for every filter (weights sum to one)', () => {
    const img: RawImage = { data: new Uint8Array(17 * 9 * 3).fill(200), width: 17, height: 9, channels: 3 };
    for (const filter of ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'] as const) {
      for (const [width, height] of [
        [5, 3],
        [40, 21],
        [1, 1],
      ] as const) {
        expect(resize(img, { width, height, filter }).data.every((v) => v === 200)).toBe(true);
      }
    }
  });
});

describe('toRGB (PIL convert("RGB"))', () => {
  it('gray is replicated; RGBA drops alpha without compositing; RGB is returned as is', () => {
    expect(Array.from(toRGB(gray(2, 1, [5, 9])).data)).toEqual([5, 5, 5, 9, 9, 9]);
    const rgba: RawImage = {
      data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 255]),
      width: 2,
      height: 1,
      channels: 4,
    };
    expect(Array.from(toRGB(rgba).data)).toEqual([1, 2, 3, 4, 5, 6]);
    const rgb: RawImage = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 };
    expect(toRGB(rgb)).toBe(rgb);
  });
});
