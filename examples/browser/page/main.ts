/**
 * The page: loads the model named by `?model=<url>` (default `/model.onnx`, the model the server was started
 * with), exposes `globalThis.mtailor`, and wires the drop / pick / paste UI.
 *
 * Query parameters: `model`, `labels` (URL of a JSON array), `recipe` (`resize-224` | `imagenet-eval`),
 * `threads` (WASM threads), `decoder` (`auto` | `browser`).
 * @module
 */
import type { PresetName } from '@mtailor/preprocess';
import {
  type BrowserClassifier,
  createBrowserClassifier,
  type DetailedResult,
  type Prediction,
} from './classifier.js';
import { ClassifyError } from './errors.js';

/**
 * The API this page exposes on `globalThis.mtailor`, for tests and for other pages.
 *
 * @example
 * ```ts
 * await mtailor.ready; // { model: '/model.onnx' }
 * const top5 = await mtailor.classify(await file.arrayBuffer());
 * ```
 */
export interface MtailorPageApi {
  /** Resolves once the model and labels are loaded; rejects with a `ClassifyError` if they cannot be. */
  ready: Promise<{ model: string }>;
  /** Top-k (default 5) predictions for encoded image bytes. */
  classify(bytes: ArrayBuffer | Uint8Array, topK?: number): Promise<Prediction[]>;
}

declare global {
  // A global that other scripts of the page read must be declared with `var`.
  var mtailor: MtailorPageApi;
}

const params = new URLSearchParams(location.search);

function optionalInt(name: string): number | undefined {
  const v = params.get(name);
  return v === null ? undefined : Number(v);
}

/**
 * The page's classifier (one onnxruntime session). Exported so that tests in the same page can reach the
 * detailed API (`tensor`, `classifyDetailed`) without loading the model twice.
 *
 * @example
 * ```ts
 * const { classifier } = await import('/app/main.js');
 * const tensor = await (await classifier).tensor(bytes); // Float32Array(3·224·224)
 * ```
 */
export const classifier: Promise<BrowserClassifier> = createBrowserClassifier({
  model: params.get('model') ?? '/model.onnx',
  labels: params.get('labels') ?? undefined,
  recipe: (params.get('recipe') as PresetName | null) ?? undefined,
  numThreads: optionalInt('threads'),
  decoder: params.get('decoder') === 'browser' ? 'browser' : 'auto',
});

const ready = classifier.then((c) => ({ model: c.model }));
// Still rejects for whoever awaits it; without a reader a load failure is shown in the page, not as an
// "uncaught (in promise)" error.
ready.catch(() => undefined);
globalThis.mtailor = {
  ready,
  classify: async (bytes, topK) => (await classifier).classify(bytes, topK),
};

// ---- UI -------------------------------------------------------------------------------------------------------

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('status');
  el.textContent = text;
  el.dataset.kind = kind;
}

function render(result: DetailedResult): void {
  const list = $('predictions');
  list.replaceChildren(
    ...result.predictions.map((p) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = p.label;
      const index = document.createElement('span');
      index.className = 'index';
      index.textContent = `#${p.index}`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(p.probability * 100).toFixed(2)}%`;
      bar.append(fill);
      const prob = document.createElement('span');
      prob.className = 'prob';
      prob.textContent = `${(p.probability * 100).toFixed(2)} %`;
      li.append(label, index, bar, prob);
      return li;
    }),
  );
  const t = result.timings;
  const rows: Array<[string, string]> = [
    [
      'decode',
      `${t.decodeMs.toFixed(1)} ms (${result.decoder === 'mozjpeg-wasm' ? 'libjpeg-turbo WASM' : 'browser'})`,
    ],
    ['preprocess', `${t.preprocessMs.toFixed(1)} ms (${result.width}×${result.height} → tensor)`],
    ['inference', `${t.inferenceMs.toFixed(1)} ms`],
    ['total', `${t.totalMs.toFixed(1)} ms`],
  ];
  $('timings').replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  // The preview <img> is shown upright (browsers apply EXIF orientation); the model, like torchvision, sees the
  // pixels as stored. Say so when the two differ.
  const img = $<HTMLImageElement>('preview');
  const note = $('note');
  note.hidden = !(
    img.naturalWidth === result.height &&
    img.naturalHeight === result.width &&
    result.width !== result.height
  );
  note.textContent = note.hidden
    ? ''
    : `The model saw the image as stored (${result.width}×${result.height}): like torchvision, it ignores the EXIF rotation this preview applies.`;
  $('results').hidden = false;
}

let previewUrl: string | undefined;

async function handleFile(file: Blob, name: string): Promise<void> {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  const img = $<HTMLImageElement>('preview');
  img.alt = name;
  img.hidden = false;
  // Wait for the preview's size, which the orientation note compares with the decoded size.
  const shown = new Promise((resolve) => {
    img.onload = img.onerror = resolve;
  });
  img.src = previewUrl;
  setStatus(`Classifying ${name}…`);
  try {
    const c = await classifier;
    const result = await c.classifyDetailed(new Uint8Array(await file.arrayBuffer()), 5);
    await shown;
    render(result);
    setStatus(`${name}: ${result.predictions[0]?.label ?? '?'}`);
  } catch (err) {
    $('results').hidden = true;
    const code = err instanceof ClassifyError ? `${err.code}: ` : '';
    setStatus(`${name}: ${code}${(err as Error).message}`, 'error');
  }
}

/** The first file; not filtered by type, so that a wrong file gets the decoder's clear message. */
function firstImage(files: FileList | null | undefined): File | undefined {
  return files?.[0];
}

function wireUi(): void {
  const drop = $('drop');
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => {
    const f = firstImage(input.files);
    if (f) void handleFile(f, f.name);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover'] as const)
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = firstImage(e.dataTransfer?.files);
    if (f) void handleFile(f, f.name);
  });
  document.addEventListener('paste', (e) => {
    const f = firstImage(e.clipboardData?.files);
    if (f) {
      e.preventDefault();
      void handleFile(f, f.name || 'pasted image');
    }
  });
  setStatus('Loading the model…');
  classifier.then(
    (c) => {
      $('engine').textContent = c.engine;
      $('model').textContent = c.model;
      setStatus('Ready: drop, paste or pick an image. Nothing leaves this page.');
      drop.classList.add('ready');
    },
    (err: unknown) => {
      const code = err instanceof ClassifyError ? `${err.code}: ` : '';
      setStatus(`${code}${(err as Error).message}`, 'error');
    },
  );
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wireUi);
else wireUi();
