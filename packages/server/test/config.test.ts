/**
 * The configuration's queue limits and batching defaults: `MTAILOR_MAX_QUEUE` counts requests at the intake gate,
 * `MTAILOR_MAX_QUEUED_IMAGES` the classifier's images, and the batching defaults are `@mtailor/core`'s own.
 */
import { CLASSIFIER_DEFAULTS } from '@mtailor/core';
import { ConfigError, classifierOptionsFrom, loadConfig } from '@mtailor/server';
import { expect, it } from 'vitest';
import { shared } from '../../../test/support/server.js';

const env = { MTAILOR_MODEL: shared.int8Model };

it('the batching and image-queue defaults are core’s; the request queue is the gate’s own', () => {
  const config = loadConfig(env);
  expect([config.maxBatchSize, config.maxDelayMs, config.maxQueuedImages]).toEqual([
    CLASSIFIER_DEFAULTS.maxBatchSize,
    CLASSIFIER_DEFAULTS.maxDelayMs,
    CLASSIFIER_DEFAULTS.maxQueue,
  ]);
  expect(config.maxQueue).toBe(512);
  const options = classifierOptionsFrom(config);
  expect([options.maxBatchSize, options.maxDelayMs, options.maxQueue]).toEqual([8, 2, 512]);
});

it('MTAILOR_MAX_QUEUE and MTAILOR_MAX_QUEUED_IMAGES are separate limits', () => {
  const config = loadConfig({ ...env, MTAILOR_MAX_QUEUE: '40', MTAILOR_MAX_QUEUED_IMAGES: '3000' });
  expect([config.maxQueue, config.maxQueuedImages]).toEqual([40, 3000]);
  // The classifier gets the image limit, not the request limit.
  expect(classifierOptionsFrom(config).maxQueue).toBe(3000);
  expect(() => loadConfig({ ...env, MTAILOR_MAX_QUEUED_IMAGES: '0' })).toThrow(ConfigError);
  expect(() => loadConfig({ ...env, MTAILOR_MAX_QUEUED_IMAGES: '1e3' })).toThrow(
    /MTAILOR_MAX_QUEUED_IMAGES: expected an integer/,
  );
});
