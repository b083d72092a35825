/**
 * The WebAssembly passes and the plain-JS ones give the same bytes on random images, sizes and filters, without
 * Pillow (the parity suites check both against Pillow itself where Python runs).
 */
import {
  type RawImage,
  RESAMPLE_FILTERS,
  resampleBackend,
  resize,
  setResampleBackend,
} from '@mtailor/preprocess';
import { afterAll, expect, it } from 'vitest';

let seed = 7;
const random = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};
const upTo = (n: number): number => 1 + Math.floor(random() * n);

afterAll(() => {
  setResampleBackend('auto');
});

it.each(RESAMPLE_FILTERS.flatMap((filter) => [1, 3, 4].map((channels) => [filter, channels] as const)))(
  '%s, %i channel(s): 12 random resizes, the same bytes',
  (filter, channels) => {
    for (let n = 0; n < 12; n++) {
      const width = upTo(300);
      const height = upTo(200);
      const data = new Uint8Array(width * height * channels);
      for (let i = 0; i < data.length; i++) data[i] = random() * 256;
      const image = { data, width, height, channels } as RawImage;
      const size = { width: upTo(400), height: upTo(250), filter };
      setResampleBackend('auto');
      expect(resampleBackend()).toBe('wasm');
      const wasm = resize(image, size);
      setResampleBackend('js');
      const js = resize(image, size).data;
      // The first differing byte (not a diff of whole arrays, which is slow on many differences).
      const differs = wasm.data.findIndex((byte, i) => byte !== js[i]);
      expect({ image: [width, height], size, differs }).toEqual({
        image: [width, height],
        size,
        differs: -1,
      });
    }
  },
);
