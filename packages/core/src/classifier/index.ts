/**
 * Logits → predictions: softmax, top-k, and the image classifier.
 * @module
 */
export { looksLikeProbabilities, softmax, topK } from './softmax.js';
