/**
 * How {@link ImageClassifier.create} resolves labels and the preprocessing recipe against the model.
 * @module
 */
import { getPreset, PRESETS, type PreprocessRecipe, validateRecipe } from '@mtailor/preprocess';
import type { ModelInfo } from '../engine/executors.js';
import { InvalidOptionError } from '../errors.js';
import { IMAGENET1K_LABELS } from '../labels/imagenet1k.js';
import { type LabelsSource, loadLabels } from '../labels/load-labels.js';
import type { Manifest } from '../manifest/manifest.js';

/**
 * Labels for the classifier: the caller's, else the manifest's, else ImageNet-1k for a 1000-class model, else none.
 * @throws {@link ManifestError} when the count differs from the model's classes.
 */
export async function resolveLabels(
  labels: LabelsSource | undefined,
  manifest: Manifest | undefined,
  numClasses: number,
): Promise<readonly string[] | undefined> {
  if (labels !== undefined) return loadLabels(labels, { numClasses });
  if (manifest) return manifest.labels;
  return numClasses === 1000 ? IMAGENET1K_LABELS : undefined;
}

/**
 * The recipe to run, with the tensor layout of the model. Default: `'resize-224'` at the model's input size.
 * A recipe that names a layout other than the model's is an error rather than silently changed.
 *
 * @throws {@link InvalidOptionError} for an unknown preset, an invalid recipe or a layout mismatch.
 */
export function resolveRecipe(
  recipe: PreprocessRecipe | string | undefined,
  model: Pick<ModelInfo, 'inputSize' | 'inputLayout' | 'source'>,
): PreprocessRecipe {
  let resolved: PreprocessRecipe;
  try {
    if (recipe === undefined) {
      resolved = getPreset('resize-224');
      const { width, height } = model.inputSize;
      if (width !== 224 || height !== 224) {
        resolved.name = `resize-${width}x${height}`;
        resolved.steps = resolved.steps.map((s) => (s.op === 'resize' ? { ...s, width, height } : s));
      }
    } else if (typeof recipe === 'string') {
      if (!Object.hasOwn(PRESETS, recipe))
        throw new InvalidOptionError(
          `Expected one of ${Object.keys(PRESETS).join(', ')} or a recipe object for recipe but received ${JSON.stringify(recipe)} of type string`,
        );
      resolved = getPreset(recipe as keyof typeof PRESETS);
    } else {
      resolved = structuredClone(validateRecipe(recipe));
    }
  } catch (err) {
    if (err instanceof InvalidOptionError) throw err;
    throw new InvalidOptionError((err as Error).message, { cause: err });
  }
  const wanted = model.inputLayout;
  const given = recipe !== undefined && typeof recipe !== 'string' ? recipe.tensor?.layout : undefined;
  if (given !== undefined && given !== wanted)
    throw new InvalidOptionError(
      `recipe.tensor.layout is ${given} but model ${model.source} takes ${wanted}; remove the layout or set it to ${wanted}`,
    );
  resolved.tensor = { ...resolved.tensor, layout: wanted };
  return resolved;
}

/**
 * Rejects option names the callee does not know (a typo such as `topk` must not be silently ignored).
 * @throws {@link InvalidOptionError} naming the unknown key and the known ones.
 */
export function checkKnownKeys(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options))
    if (!known.includes(key))
      throw new InvalidOptionError(
        `Unknown option ${JSON.stringify(key)} for ${what}; expected one of ${known.join(', ')}`,
      );
}
