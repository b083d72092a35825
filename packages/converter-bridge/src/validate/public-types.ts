/**
 * The validator's public types and limits, in a module of their own that imports nothing.
 *
 * Why apart from `onnx-proto.ts` and `check-header.ts`: the package's public `.d.ts` files must not import
 * `onnx-proto`, whose generated types name a global `Long` type. TypeScript 5 found it through `@types/long`
 * (installed by protobufjs 6) because it loaded every `@types` package by default; TypeScript 6 and later load none
 * by default, so a consumer's type-check failed with 24 × "Cannot find name 'Long'" inside onnx-proto. Everything
 * `src/index.ts` exports is declared here or in modules whose declarations do not reach `onnx-proto`
 * (checked by `test/package-contract.test.ts` with the newest TypeScript on the registry).
 * @module
 */

/** Highest IR version the bundled onnxruntime-node 1.30 loads (measured: 13 loads, 14 is refused). */
export const ORT_MAX_IR_VERSION = 13;
/** Highest ai.onnx opset onnxruntime-node 1.30 runs (measured: 26 loads, 27 is refused as "under development"). */
export const ORT_MAX_OPSET = 26;
/** Lowest ai.onnx opset onnxruntime guarantees (1..6 load with "legacy support" warnings only). */
export const ORT_MIN_OPSET = 7;

/** An imported operator set. `domain` is `ai.onnx` for the default domain (written "" in files). */
export interface OpsetImport {
  domain: string;
  version: number;
}

/** A dimension: a number, a symbolic name, or null when neither is set. */
export type Dim = number | string | null;

/** Type and shape of a graph input/output, as the validator reports them. */
export interface TensorSummary {
  /** Tensor name. */
  name: string;
  /** Element type (`float32`, …) or the kind of a non-tensor value (`sequence`, `map`, …). */
  type: string;
  /** Dimensions (number, symbolic name, or null = unknown), or null when the shape is not given. */
  shape: Dim[] | null;
}
