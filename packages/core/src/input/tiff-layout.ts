/**
 * The sample layout of a TIFF's first image, read from its first IFD — the same tags Pillow uses to pick the mode
 * it opens a TIFF in (`TiffImagePlugin.OPEN_INFO`: byte order, photometric interpretation, sample format, fill
 * order, bits per sample, extra samples), plus the ones that decide how libvips' decode differs from Pillow's
 * (planar configuration, tiles, compression, orientation). sharp's `metadata()` reports none of the first six.
 * @module
 */

/**
 * What the first IFD says about the pixels. Absent tags take their TIFF 6.0 defaults.
 *
 * @example
 * ```ts
 * const layout = readTiffLayout(bytes);
 * if (layout?.photometric === 8) console.log('CIELab TIFF');
 * ```
 */
export interface TiffLayout {
  /** `II` (true) or `MM` (false). */
  littleEndian: boolean;
  /** PhotometricInterpretation (262): 0 min-is-white, 1 min-is-black, 2 RGB, 3 palette, 5 separated (CMYK), 6 YCbCr, 8 CIELab, … */
  photometric: number | undefined;
  /** BitsPerSample (258), one entry per sample (a single value is repeated for every sample, as Pillow does). */
  bitsPerSample: number[];
  /** SampleFormat (339) of the first sample: 1 unsigned, 2 signed, 3 IEEE float. */
  sampleFormat: number;
  /** SamplesPerPixel (277). */
  samplesPerPixel: number;
  /** ExtraSamples (338): 0 unspecified, 1 associated (premultiplied) alpha, 2 unassociated alpha. */
  extraSamples: number[];
  /** FillOrder (266). */
  fillOrder: number;
  /** PlanarConfiguration (284): 1 contiguous, 2 one plane per sample. */
  planar: number;
  /** Compression (259). */
  compression: number;
  /** Stored in tiles (TileWidth present) rather than strips. */
  tiled: boolean;
  /** Orientation (274), 1 when absent. */
  orientation: number;
}

const MAX_VALUES = 16; // more samples than any layout we decode; longer arrays are cut (only the first matter)

/** The tags read; all others are skipped unread (their values may even lie outside the file). */
const LAYOUT_TAGS = new Set([258, 259, 262, 266, 274, 277, 284, 322, 338, 339]);

/**
 * Reads the first IFD of a classic or Big TIFF. `undefined` when the header, the IFD or a layout tag's values do
 * not fit in the bytes. Reads at most one IFD; every offset is bounds-checked.
 *
 * @example
 * ```ts
 * readTiffLayout(await readFile('scan.tif'))?.bitsPerSample; // [16]
 * ```
 */
export function readTiffLayout(bytes: Uint8Array): TiffLayout | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const magic = view.getUint16(2, le);
  if (magic !== 42 && magic !== 43) return undefined;
  const big = magic === 43;
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const u64 = (at: number) => {
    const hi = view.getUint32(at + (le ? 4 : 0), le);
    const lo = view.getUint32(at + (le ? 0 : 4), le);
    return hi * 2 ** 32 + lo; // beyond 2^53 only in files far larger than any input we accept
  };
  if (big && (bytes.length < 16 || u16(4) !== 8)) return undefined;
  const ifd = big ? u64(8) : u32(4);
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inlineSize = big ? 8 : 4;
  if (ifd + countSize > bytes.length) return undefined;
  const count = big ? u64(ifd) : u16(ifd);
  const first = ifd + countSize;
  if (first + count * entrySize > bytes.length) return undefined;

  const tags = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const at = first + i * entrySize;
    const tag = u16(at);
    if (!LAYOUT_TAGS.has(tag)) continue;
    const type = u16(at + 2);
    const n = big ? u64(at + 4) : u32(at + 4);
    const size = type === 3 ? 2 : type === 4 ? 4 : type === 16 ? 8 : type === 1 ? 1 : 0;
    if (size === 0 || n === 0) continue; // types the layout tags never use
    const valueAt = at + 4 + (big ? 8 : 4);
    const offset = n * size <= inlineSize ? valueAt : big ? u64(valueAt) : u32(valueAt);
    const kept = Math.min(n, MAX_VALUES);
    if (offset + kept * size > bytes.length) return undefined;
    const values: number[] = [];
    for (let k = 0; k < kept; k++) {
      const p = offset + k * size;
      values.push(size === 1 ? (bytes[p] as number) : size === 2 ? u16(p) : size === 4 ? u32(p) : u64(p));
    }
    tags.set(tag, values);
  }
  const one = (tag: number, fallback: number) => tags.get(tag)?.[0] ?? fallback;
  const samplesPerPixel = one(277, 1);
  let bitsPerSample = tags.get(258) ?? [1];
  if (bitsPerSample.length === 1 && samplesPerPixel > 1) {
    bitsPerSample = Array.from(
      { length: Math.min(samplesPerPixel, MAX_VALUES) },
      () => bitsPerSample[0] as number,
    );
  }
  return {
    littleEndian: le,
    photometric: tags.get(262)?.[0],
    bitsPerSample,
    sampleFormat: one(339, 1),
    samplesPerPixel,
    extraSamples: tags.get(338) ?? [],
    fillOrder: one(266, 1),
    planar: one(284, 1),
    compression: one(259, 1),
    tiled: tags.has(322),
    orientation: one(274, 1),
  };
}
