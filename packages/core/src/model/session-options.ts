/**
 * Session options of {@link ONNXModel}: what callers may set, their defaults, and the translation to
 * onnxruntime's `SessionOptions`.
 * @module
 */
import os from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { InvalidOptionError } from '../errors.js';
import * as is from '../is.js';
import { INT8_KERNELS, type Int8Kernels } from './int8-kernels.js';

/** onnxruntime's graph optimisation levels. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Execution providers we know how to ask for. `cuda` falls back to `cpu` with a warning when unavailable. */
export type ExecutionProviderName = 'cpu' | 'cuda';

/**
 * How onnxruntime runs the model. Every field is optional; the defaults suit a CPU server.
 *
 * @example
 * ```ts
 * const model = await ONNXModel.load('model.onnx', { intraOpThreads: 1, allowSpinning: false });
 * ```
 */
export interface ModelOptions {
  /**
   * Threads onnxruntime uses inside one operator (its intra-op pool, the calling thread included).
   * Default `os.availableParallelism()`.
   */
  intraOpThreads?: number;
  /** Threads running independent graph branches in parallel. Default 1 (sequential execution). */
  interOpThreads?: number;
  /** Graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Execution providers in order of preference. Default `['cpu']`. Asking for `'cuda'` on a machine without the
   * CUDA provider falls back to `'cpu'` and reports why (see {@link ONNXModel.fallbackMessage}); it does not fail.
   */
  executionProviders?: readonly ExecutionProviderName[];
  /**
   * Whether idle intra-op threads busy-wait for the next run (`session.intra_op.allow_spinning`). Default `false`:
   * spinning threads hold a core at 100 % between runs, which steals exactly the core image decoding needs when
   * decode and inference overlap; measured here it halved CPU use at equal throughput.
   */
  allowSpinning?: boolean;
  /**
   * How int8 (quantized) models run. Default `'exact'`: the model's own integer arithmetic on every CPU — on x86
   * CPUs without VNNI, whose fast int8 kernels saturate, int8 weights are stored as uint8 at load (exact, slower
   * kernels) unless the model's weights cannot saturate. `'native'`: onnxruntime's fastest kernels as they are,
   * whose answers then depend on the CPU. See {@link ONNXModel.int8Kernels} for what runs and why.
   */
  int8Kernels?: Int8Kernels;
}

/** {@link ModelOptions} with every default filled in. */
export type ResolvedModelOptions = Required<ModelOptions>;

/** The option names of {@link ModelOptions}. */
export const MODEL_OPTION_NAMES = [
  'intraOpThreads',
  'interOpThreads',
  'graphOptimizationLevel',
  'executionProviders',
  'allowSpinning',
  'int8Kernels',
] as const;

const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
const PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'cuda'];

/**
 * Checks `options` and fills in the defaults.
 * @throws {@link InvalidOptionError} for a value of the wrong type or out of range.
 */
export function resolveModelOptions(options: ModelOptions = {}): ResolvedModelOptions {
  if (!is.plainObject(options)) throw is.invalidParameterError('options', 'object', options);
  for (const key of Object.keys(options))
    if (!(MODEL_OPTION_NAMES as readonly string[]).includes(key))
      throw new InvalidOptionError(
        `Unknown option ${JSON.stringify(key)} for ONNXModel.load; expected one of ${MODEL_OPTION_NAMES.join(', ')}`,
      );
  const {
    // Default to the CPUs this process may use: onnxruntime itself sizes its pool from the host's cores, which
    // in a container limited to 2 CPUs on a 64-core host means 64 threads fighting over 2 cores.
    intraOpThreads = os.availableParallelism(),
    interOpThreads = 1,
    graphOptimizationLevel = 'all',
    executionProviders = ['cpu'],
    allowSpinning = false,
    int8Kernels = 'exact',
  } = options;
  if (!is.positiveInteger(intraOpThreads))
    throw is.invalidParameterError('intraOpThreads', 'positive integer', intraOpThreads);
  if (!is.positiveInteger(interOpThreads))
    throw is.invalidParameterError('interOpThreads', 'positive integer', interOpThreads);
  if (!is.oneOf(graphOptimizationLevel, LEVELS))
    throw is.invalidParameterError(
      'graphOptimizationLevel',
      `one of ${LEVELS.join(', ')}`,
      graphOptimizationLevel,
    );
  if (
    !Array.isArray(executionProviders) ||
    executionProviders.length === 0 ||
    !executionProviders.every((p) => is.oneOf(p, PROVIDERS))
  )
    throw is.invalidParameterError(
      'executionProviders',
      `non-empty array of ${PROVIDERS.join(', ')}`,
      executionProviders,
    );
  if (!is.bool(allowSpinning)) throw is.invalidParameterError('allowSpinning', 'boolean', allowSpinning);
  if (!is.oneOf(int8Kernels, INT8_KERNELS))
    throw is.invalidParameterError('int8Kernels', `one of ${INT8_KERNELS.join(', ')}`, int8Kernels);
  return {
    intraOpThreads,
    interOpThreads,
    graphOptimizationLevel,
    executionProviders: [...executionProviders],
    allowSpinning,
    int8Kernels,
  };
}

/** A stable key of the options, for the one-session-per-model cache. */
export function optionsKey(options: ResolvedModelOptions): string {
  return JSON.stringify([
    options.intraOpThreads,
    options.interOpThreads,
    options.graphOptimizationLevel,
    options.executionProviders,
    options.allowSpinning,
    options.int8Kernels,
  ]);
}

/** onnxruntime's `SessionOptions` for `options` with the given providers (after any CUDA fallback). */
export function toSessionOptions(
  options: ResolvedModelOptions,
  providers: readonly ExecutionProviderName[],
  sessionConfig: Readonly<Record<string, string>> = {},
): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    executionMode: options.interOpThreads > 1 ? 'parallel' : 'sequential',
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionProviders: [...providers],
    // onnxruntime logs CUDA load failures itself at warning level; we report them in one clear message instead.
    logSeverityLevel: 3,
    extra: {
      session: {
        intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' },
        inter_op: { allow_spinning: options.allowSpinning ? '1' : '0' },
        ...sessionConfig,
      },
    },
  };
}
