/**
 * The page in a real Chromium (Debian's, driven by playwright-core; loopback only), on the 104 shared images:
 * - `mtailor.classify` gives PyTorch's top-1 (float model: every image; int8: as onnxruntime on torchvision's
 *   tensors, ties counted);
 * - the tensors equal `@mtailor/core`'s exact path (Node: sharp decode + the same preprocessing), max |Δ| reported;
 * - the JPEG decode equals PIL's `convert('RGB')` byte for byte, and the browser's own decode
 *   (`createImageBitmap` + `OffscreenCanvas.getImageData`) is measured against PIL too;
 * - the UI: pick, drop and paste an image, see the top-5, the timings and the engine; a screenshot for the README.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePreprocessor } from '@mtailor/core';
import { type RunningServer, startServer } from '@mtailor/example-browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../../../test/support/chromium.js';
import { hasPillow, python, repoRoot, shared, sharedImages } from '../../../test/support/shared-data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Screenshots go to a git-ignored folder; one is copied by hand to `docs/` for the README. */
const screenshotDir = path.resolve(here, '..', 'tmp', 'screenshots');
const images = sharedImages();
const name = (file: string): string => path.basename(file);

interface RefImage {
  top5: number[];
  logits: number[];
  probs: number[];
}
const readRef = (file: string): { images: Record<string, RefImage> } =>
  JSON.parse(readFileSync(shared.reference(file), 'utf8'));

interface Prediction {
  index: number;
  label: string;
  probability: number;
}
/**
 * The browser globals the functions evaluated in the page use. This file is type-checked with Node's types (the
 * DOM library would change `fetch`'s types for every other test), so the few DOM shapes are declared here.
 */
interface InPage {
  mtailor: {
    ready: Promise<{ model: string }>;
    classify(bytes: ArrayBuffer | Uint8Array, topK?: number): Promise<Prediction[]>;
  };
  crossOriginIsolated: boolean;
  navigator: { hardwareConcurrency: number };
  document: { getElementById(id: string): { textContent: string | null } | null; body: EventTarget };
  DataTransfer: new () => { items: { add(file: unknown): unknown } };
  DragEvent: new (type: string, init: object) => Event;
  ClipboardEvent: new (type: string, init: object) => Event;
}
/** The page modules the tests import in the page (types only: the code runs in Chromium). */
interface PageMain {
  classifier: Promise<{ tensor(bytes: ArrayBuffer): Promise<Float32Array> }>;
}
type RGBA = { data: Uint8ClampedArray; width: number; height: number };
interface PageDecode {
  decodeJpegWasm(bytes: Uint8Array): Promise<RGBA>;
  decodeWithBrowser(bytes: Uint8Array): Promise<RGBA>;
}

/**
 * Test files reach the page at `/__test/file?p=<absolute path>`: Playwright answers those requests from disk
 * inside the browser (nothing goes over the network, and binary bytes need no base64 round trip through CDP).
 */
async function routeTestFiles(page: Page): Promise<void> {
  await page.route('**/__test/file?*', (route) => {
    const file = new URL(route.request().url()).searchParams.get('p')!;
    return route.fulfill({ status: 200, body: readFileSync(file), contentType: 'application/octet-stream' });
  });
}

/** Opens the page, waits for `mtailor.ready`, and collects page errors (checked to be none at the end). */
async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await routeTestFiles(page);
  await page.goto(url);
  await page.evaluate(() => (globalThis as unknown as InPage).mtailor.ready);
  return { page, errors };
}

/** `mtailor.classify` in the page on a file's bytes. */
function classifyIn(page: Page, file: string, topK = 5): Promise<Prediction[]> {
  return page.evaluate(
    async ([p, k]) => {
      const bytes = await (await fetch(`/__test/file?p=${encodeURIComponent(p as string)}`)).arrayBuffer();
      return (globalThis as unknown as InPage).mtailor.classify(bytes, k as number);
    },
    [file, topK] as const,
  );
}

describe.skipIf(!hasChromium())('the page in Chromium', () => {
  let browser: Browser;
  let int8: RunningServer;
  let float: RunningServer;
  let int8Page: Page;
  let floatPage: Page;
  const pageErrors: string[][] = [];

  beforeAll(async () => {
    [browser, int8, float] = await Promise.all([
      launchChromium(),
      startServer({ port: 0 }), // the default model: the shared int8 MobileNetV2
      startServer({ port: 0, model: shared.floatModel }),
    ]);
    const a = await openPage(browser, `${int8.url}/`);
    const b = await openPage(browser, `${float.url}/`);
    [int8Page, floatPage] = [a.page, b.page];
    pageErrors.push(a.errors, b.errors);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([int8?.close(), float?.close()]);
    expect(pageErrors.flat()).toEqual([]);
  });

  it('runs cross-origin isolated, with WASM threads, and says which engine ran', async () => {
    const info = await int8Page.evaluate(async () => {
      const w = globalThis as unknown as InPage;
      return {
        isolated: w.crossOriginIsolated,
        cores: w.navigator.hardwareConcurrency,
        ready: await w.mtailor.ready,
        engine: w.document.getElementById('engine')?.textContent,
      };
    });
    expect(info.isolated).toBe(true);
    expect(info.ready).toEqual({ model: '/model.onnx' });
    expect(info.engine).toContain('onnxruntime-web 1.30.0 · wasm · SIMD');
    const threads = Math.min(4, Math.ceil(info.cores / 2));
    expect(info.engine).toContain(`SIMD · ${threads} thread${threads > 1 ? 's' : ''} ·`);
    expect(info.engine).toContain('JPEG decode libjpeg-turbo WASM');
  });

  it('float model: top-1 equals PyTorch on every one of the 104 images', async () => {
    const ref = readRef('torch_mobilenet_v2_float.json');
    const differ: string[] = [];
    let maxProbDiff = 0;
    for (const file of images) {
      const want = ref.images[name(file)]!;
      const got = await classifyIn(floatPage, file);
      if (got[0]!.index !== want.top5[0])
        differ.push(`${name(file)}: browser ${got[0]!.index}, torch ${want.top5[0]}`);
      for (const [k, p] of got.entries())
        if (p.index === want.top5[k])
          maxProbDiff = Math.max(maxProbDiff, Math.abs(p.probability - want.probs[k]!));
    }
    console.log(
      `browser, float model: top-1 = PyTorch on ${images.length - differ.length}/${images.length}; ` +
        `max |Δ| of top-5 probabilities ${maxProbDiff.toExponential(2)} (reference rounded to 1e-6)`,
    );
    expect(differ).toEqual([]);
    expect(images).toHaveLength(104);
    expect(maxProbDiff).toBeLessThan(1e-4);
  });

  it('int8 model: top-1 equals onnxruntime on torchvision tensors (ties counted) on ≥ 103 of 104', async () => {
    const ref = readRef('ort_mobilenet_v2_int8_on_torchvision_tensors.json');
    let agree = 0;
    let refTies = 0;
    let ourTies = 0;
    const differ: string[] = [];
    for (const file of images) {
      const want = ref.images[name(file)]!;
      // Every class whose logit equals the maximum is a top-1 (int8 logits are quantised and tie often).
      const best = want.top5.filter((_, k) => want.logits[k] === want.logits[0]);
      const got = await classifyIn(int8Page, file);
      const ours = got.filter((p) => p.probability === got[0]!.probability).map((p) => p.index);
      if (best.length > 1) refTies++;
      if (ours.length > 1) ourTies++;
      if (ours.some((i) => best.includes(i))) agree++;
      else differ.push(`${name(file)}: browser ${ours.join('/')}, ort ${best.join('/')}`);
    }
    console.log(
      `browser, int8 model vs onnxruntime-node on torchvision tensors: top-1 agrees on ${agree}/104 ` +
        `(${refTies} reference ties, ${ourTies} browser ties)${differ.length ? `; differs: ${differ.join('; ')}` : ''}`,
    );
    expect(agree).toBeGreaterThanOrEqual(103);
  });

  it("tensors equal @mtailor/core's exact path (Node) on a sample, bit for bit", async () => {
    // Both gray JPEGs, the EXIF-rotated can opener (torchvision ignores the orientation), the seed's two images,
    // and every 10th image.
    const sample = images.filter(
      (f, i) => i % 10 === 0 || /tench|mud_turtle|can_opener|acoustic_guitar|Airedale/.test(name(f)),
    );
    const node = new ImagePreprocessor({ recipe: 'resize-224', autoOrient: false });
    let maxDiff = 0;
    let identical = 0;
    for (const file of sample) {
      const { tensor: want } = await node.process(file);
      const b64 = await int8Page.evaluate(async (p) => {
        // Not a literal import(): Vitest would rewrite it in this (serialised) function.
        const load = new Function('u', 'return import(u)') as (u: string) => Promise<PageMain>;
        const classifier = await (await load('/app/main.js')).classifier;
        const bytes = await (await fetch(`/__test/file?p=${encodeURIComponent(p)}`)).arrayBuffer();
        const t = await classifier.tensor(bytes);
        const u8 = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
        let s = '';
        for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
        return btoa(s);
      }, file);
      const raw = Buffer.from(b64, 'base64');
      const got = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      expect(got.length).toBe(want.length);
      let d = 0;
      for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i]! - want[i]!));
      if (d === 0) identical++;
      maxDiff = Math.max(maxDiff, d);
    }
    console.log(
      `browser vs Node exact tensors: ${identical}/${sample.length} bit-identical, max |Δ| ${maxDiff} ` +
        `(sample: ${sample.map(name).join(', ')})`,
    );
    expect(sample.length).toBeGreaterThanOrEqual(14);
    expect(maxDiff).toBe(0);
  });

  describe.skipIf(!hasPillow())('decode vs PIL convert("RGB") on the 104 images', () => {
    let pilDir: string;
    let meta: Array<{ width: number; height: number }>;
    beforeAll(() => {
      pilDir = mkdtempSync(path.join(tmpdir(), 'mtailor-browser-pil-'));
      // The same script @mtailor/core's decode tests use: raw RGB per image, EXIF orientation ignored.
      const script = path.join(repoRoot, 'packages', 'core', 'test', 'fixtures-scripts', 'pil_decode.py');
      const out = execFileSync(python, [script, pilDir, ...images], { encoding: 'utf8', maxBuffer: 1 << 24 });
      meta = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const rotated = path.join(pilDir, 'upright');
      mkdirSync(rotated);
      execFileSync(python, [script, '--exif-transpose', rotated, shared.image('n02951585_can_opener.JPEG')]);
    });
    afterAll(() => rmSync(pilDir, { recursive: true, force: true }));

    /** Decodes in the page with `fn` ('wasm' | 'browser') and compares with PIL's pixels there. */
    function compareIn(
      page: Page,
      file: string,
      pilFile: string,
      fn: 'wasm' | 'browser',
    ): Promise<{ width: number; height: number; maxDiff: number; differing: number }> {
      return page.evaluate(
        async ([imagePath, pilPath, which]) => {
          const load = new Function('u', 'return import(u)') as (u: string) => Promise<PageDecode>;
          const d = await load('/app/decode.js');
          const get = async (p: string) =>
            new Uint8Array(await (await fetch(`/__test/file?p=${encodeURIComponent(p)}`)).arrayBuffer());
          const bytes = await get(imagePath);
          const img = await (which === 'wasm' ? d.decodeJpegWasm(bytes) : d.decodeWithBrowser(bytes));
          const rgb = await get(pilPath);
          let maxDiff = 0;
          let differing = 0;
          if (rgb.length === img.width * img.height * 3)
            for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4)
              for (let c = 0; c < 3; c++) {
                const diff = Math.abs(rgb[i + c]! - img.data[j + c]!);
                if (diff) differing++;
                if (diff > maxDiff) maxDiff = diff;
              }
          return { width: img.width, height: img.height, maxDiff, differing };
        },
        [file, pilFile, fn] as const,
      );
    }

    it('libjpeg-turbo in WASM (the page decoder for JPEG): byte-identical on 104 of 104', async () => {
      const differ: string[] = [];
      for (const [i, file] of images.entries()) {
        const r = await compareIn(int8Page, file, path.join(pilDir, `${i}.rgb`), 'wasm');
        const want = meta[i]!;
        if (r.width !== want.width || r.height !== want.height || r.maxDiff !== 0)
          differ.push(
            `${name(file)}: ${r.width}×${r.height} vs ${want.width}×${want.height}, max |Δ| ${r.maxDiff}`,
          );
      }
      console.log(`mozjpeg WASM decode vs PIL: identical on ${104 - differ.length}/104 ${differ.join('; ')}`);
      expect(differ).toEqual([]);
    });

    it("Chromium's own decode (createImageBitmap + getImageData): identical except where it applies EXIF orientation", async () => {
      const differ: string[] = [];
      let identical = 0;
      for (const [i, file] of images.entries()) {
        const r = await compareIn(int8Page, file, path.join(pilDir, `${i}.rgb`), 'browser');
        const want = meta[i]!;
        if (r.width === want.width && r.height === want.height && r.maxDiff === 0) identical++;
        else
          differ.push(
            `${name(file)}: ${r.width}×${r.height} vs PIL ${want.width}×${want.height}` +
              (r.width === want.width ? `, max |Δ| ${r.maxDiff} on ${r.differing} samples` : ''),
          );
      }
      console.log(
        `Chromium decode (imageOrientation 'none') vs PIL: identical on ${identical}/104; differs: ${differ.join('; ')}`,
      );
      // The one image with an EXIF orientation (6) comes out rotated although imageOrientation is 'none' …
      expect(differ).toEqual(['n02951585_can_opener.JPEG: 294×392 vs PIL 392×294']);
      // … and is then PIL's exif_transpose'd pixels exactly.
      const upright = await compareIn(
        int8Page,
        shared.image('n02951585_can_opener.JPEG'),
        path.join(pilDir, 'upright', '0.rgb'),
        'browser',
      );
      expect(upright).toMatchObject({ width: 294, height: 392, maxDiff: 0 });
    });
  });

  it('typed errors: not an image, a truncated JPEG, a bad topK; the page keeps working after them', async () => {
    const tench = readFileSync(shared.tench);
    const attempt = (bytes: Buffer, topK = 5) =>
      int8Page.evaluate(
        async ([b64, k]) =>
          (globalThis as unknown as InPage).mtailor
            .classify(
              Uint8Array.from(atob(b64 as string), (c) => c.charCodeAt(0)),
              k as number,
            )
            .then(
              (p) => ({ ok: true as const, top: p[0]?.index }),
              (e: { code?: string; name?: string; message?: string }) => ({
                ok: false as const,
                code: e.code,
                name: e.name,
                message: e.message,
              }),
            ),
        [bytes.toString('base64'), topK] as const,
      );
    expect(await attempt(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toMatchObject({
      ok: false,
      name: 'ClassifyError',
      code: 'UNSUPPORTED_IMAGE',
      message:
        'Unsupported image: expected JPEG, PNG, GIF, WebP, AVIF or BMP, but the data looks like SVG/XML',
    });
    expect(await attempt(Buffer.alloc(0))).toMatchObject({ ok: false, code: 'INVALID_IMAGE' });
    expect(await attempt(tench.subarray(0, tench.length >> 1))).toMatchObject({
      ok: false,
      code: 'INVALID_IMAGE',
      message: 'JPEG could not be decoded: the file is truncated (premature end of data)',
    });
    expect(await attempt(tench.subarray(0, 300))).toMatchObject({ ok: false, code: 'INVALID_IMAGE' });
    expect(await attempt(tench, 0)).toMatchObject({
      ok: false,
      code: 'INVALID_OPTION',
      message: 'Expected positive integer for topK but received 0 of type number',
    });
    expect(await attempt(tench)).toEqual({ ok: true, top: 0 });
    const all = await classifyIn(int8Page, shared.tench, 1000);
    expect(all).toHaveLength(1000);
    expect(all.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 9);
  });

  it('?model=<url> picks the model, ?threads=2 starts 2 WASM threads; a missing model rejects ready (MODEL_LOAD_FAILED)', async () => {
    const page = await browser.newPage();
    await routeTestFiles(page);
    try {
      await page.goto(`${int8.url}/?model=/missing.onnx`);
      const r = await page.evaluate(() =>
        (globalThis as unknown as InPage).mtailor.ready.then(
          (v) => ({ ok: true, v }),
          (e: { code?: string; message?: string }) => ({ ok: false, code: e.code, message: e.message }),
        ),
      );
      expect(r).toMatchObject({ ok: false, code: 'MODEL_LOAD_FAILED' });
      expect((r as { message: string }).message).toContain('/missing.onnx');
      await page.locator('#status[data-kind="error"]').waitFor();
      expect(await page.textContent('#status')).toContain('MODEL_LOAD_FAILED');
      // A bad query parameter is a typed error too, shown in the page.
      await page.goto(`${int8.url}/?recipe=bogus`);
      await page.locator('#status[data-kind="error"]').waitFor();
      expect(await page.textContent('#status')).toBe(
        "INVALID_OPTION: Expected 'resize-224' or 'imagenet-eval' for recipe but received bogus of type string",
      );
      // The float model, named by URL (on the other server) on the int8 server's page, gives the float answer.
      const floatUrl = `${float.url}/model.onnx`;
      // With ?threads=2: onnxruntime-web's WASM threads (SharedArrayBuffer, so cross-origin isolation) start.
      await page.goto(`${int8.url}/?threads=2&model=${encodeURIComponent(floatUrl)}`);
      expect(await page.evaluate(() => (globalThis as unknown as InPage).mtailor.ready)).toEqual({
        model: floatUrl,
      });
      expect(await page.textContent('#engine')).toContain('SIMD · 2 threads ·');
      const [best] = await classifyIn(page, shared.tench, 1);
      const want = readRef('torch_mobilenet_v2_float.json').images['n01440764_tench.JPEG']!;
      expect(best!.index).toBe(0);
      expect(best!.probability).toBeCloseTo(want.probs[0]!, 5); // 0.990064 (int8: 0.992368)
    } finally {
      await page.close();
    }
  });

  it('the UI: pick, drop and paste an image → top-5 bars, timings, engine; screenshot saved', async () => {
    const page = int8Page;
    const top = () => page.locator('#predictions li .label').first().textContent();
    // Pick (the file input).
    await page.setInputFiles('#file', shared.tench);
    await page.locator('#status', { hasText: /: tench$/ }).waitFor();
    expect(await page.locator('#predictions li').count()).toBe(5);
    expect(await top()).toBe('tench');
    expect(await page.locator('#predictions li .prob').first().textContent()).toBe('99.24 %');
    const timings = await page.locator('#timings dt').allTextContents();
    expect(timings).toEqual(['decode', 'preprocess', 'inference', 'total']);
    expect(await page.locator('#timings dd').first().textContent()).toMatch(
      /^\d+\.\d ms \(libjpeg-turbo WASM\)$/,
    );
    expect(await page.locator('#preview').isVisible()).toBe(true);
    expect(await page.locator('#note').isHidden()).toBe(true);
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'page-tench.png'), fullPage: true });
    // The README's copy (docs/page.jpg) is this JPEG: a quarter of the PNG's size.
    await page.screenshot({ path: path.join(screenshotDir, 'page-tench.jpg'), fullPage: true, quality: 85 });

    // Drop and paste: the same handlers a person's drag or Ctrl+V reaches, fed a File built in the page.
    for (const [event, file, label] of [
      ['drop', shared.mudTurtle, 'mud turtle'],
      ['paste', shared.image('n02951585_can_opener.JPEG'), 'can opener'],
    ] as const) {
      await page.evaluate(
        ([type, b64, fileName]) => {
          const w = globalThis as unknown as InPage;
          const dt = new w.DataTransfer();
          dt.items.add(
            new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], fileName, { type: 'image/jpeg' }),
          );
          const e =
            type === 'drop'
              ? new w.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })
              : new w.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
          w.document.body.dispatchEvent(e);
        },
        [event, readFileSync(file).toString('base64'), name(file)] as const,
      );
      await page.locator('#status', { hasText: `${name(file)}: ` }).waitFor();
      expect([event, await top()]).toEqual([event, label]);
    }
    // The can opener's preview is upright (EXIF orientation 6) while the model saw it as stored: the page says so.
    expect(await page.textContent('#note')).toBe(
      'The model saw the image as stored (392×294): like torchvision, it ignores the EXIF rotation this preview applies.',
    );
    await page.screenshot({ path: path.join(screenshotDir, 'page-can-opener.png'), fullPage: true });

    // An unsupported file shows the typed error in the status line and hides the old results.
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: '', buffer: Buffer.from('hello') });
    await page.locator('#status[data-kind="error"]').waitFor();
    expect(await page.textContent('#status')).toBe(
      'notes.txt: UNSUPPORTED_IMAGE: Unsupported image: expected JPEG, PNG, GIF, WebP, AVIF or BMP, but the data looks like not an image we decode',
    );
    expect(await page.locator('#results').isHidden()).toBe(true);
  });
});
