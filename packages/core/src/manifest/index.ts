/**
 * Model manifests: a model file, its preprocessing recipe and labels, travelling together.
 * @module
 */
export {
  checkManifestAgainstModel,
  loadManifest,
  type Manifest,
  type ManifestJson,
  type OutputKind,
  readManifest,
} from './manifest.js';
