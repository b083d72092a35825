/**
 * The colour PIL gives the transparent pixels of a GIF's first frame.
 *
 * PIL opens a GIF as a palette (`P`) image and `convert('RGB')` looks every index up in the palette — including the
 * transparent index, whose palette colour then shows. libvips instead decodes transparent pixels as `(0, 0, 0, 0)`.
 * To reproduce PIL, we read the transparent index and the palette that applies to the first frame straight from
 * the GIF structure (header, colour tables, graphic-control extension) and paint that colour where libvips says
 * alpha is 0.
 * @module
 */

/** RGB of the first frame's transparent palette entry, or `undefined` when the frame has no transparency. */
export function gifTransparentColour(bytes: Uint8Array): [number, number, number] | undefined {
  // Logical screen descriptor: 6-byte signature, width, height, packed, background index, aspect ratio.
  if (bytes.length < 13) return undefined;
  const screenPacked = bytes[10] ?? 0;
  let at = 13;
  let globalTable: number | undefined;
  if (screenPacked & 0x80) {
    globalTable = at;
    at += 3 * (1 << ((screenPacked & 0x07) + 1));
  }
  let transparentIndex: number | undefined;
  while (at < bytes.length) {
    const introducer = bytes[at];
    if (introducer === 0x21) {
      // Extension: label, then data sub-blocks.
      const label = bytes[at + 1];
      if (label === 0xf9 && bytes[at + 2] === 4) {
        const packed = bytes[at + 3] ?? 0;
        // A graphic-control extension applies to the next image only; a later one before the image replaces it.
        transparentIndex = packed & 0x01 ? bytes[at + 6] : undefined;
      }
      at += 2;
      while (at < bytes.length) {
        const size = bytes[at] ?? 0;
        at += 1 + size;
        if (size === 0) break;
      }
    } else if (introducer === 0x2c) {
      // Image descriptor of the first frame: its local colour table, if any, replaces the global one.
      if (transparentIndex === undefined) return undefined;
      const packed = bytes[at + 9] ?? 0;
      const table = packed & 0x80 ? at + 10 : globalTable;
      if (table === undefined) return undefined;
      const entry = table + 3 * transparentIndex;
      if (entry + 2 >= bytes.length) return undefined;
      return [bytes[entry] ?? 0, bytes[entry + 1] ?? 0, bytes[entry + 2] ?? 0];
    } else {
      return undefined;
    }
  }
  return undefined;
}
