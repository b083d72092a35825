/**
 * Class labels: the shipped ImageNet-1k list (generated data) and user labels.
 * @module
 */
export { IMAGENET1K_LABELS, IMAGENET1K_WNIDS } from './imagenet1k.js';
export { type LabelsSource, loadLabels, parseLabels } from './load-labels.js';
