/**
 * The memory images travel through: a fixed number of slots, each holding one image's input tensor and its output
 * row, in two `SharedArrayBuffer`s that every thread of the engine sees. A decode thread writes a tensor into its
 * slot, the inference thread reads the slots of a batch and writes their scores back; messages between threads
 * carry slot numbers only — no tensor is allocated, copied into a message, transferred or freed per image.
 * @module
 */
import { ShuttingDownError } from '../errors.js';

interface Waiter {
  resolve: (slot: number) => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A pool of tensor slots. {@link acquire} hands out a free slot (waiting in arrival order when none is free), and
 * {@link release} gives it back. The number of slots bounds the memory of work in progress.
 */
export class TensorSlots {
  /** Number of slots. */
  readonly count: number;
  /** Floats of one image's input tensor. */
  readonly elementsPerImage: number;
  /** Floats of one image's output row. */
  readonly numClasses: number;
  /** `count × elementsPerImage` floats: the input tensors. */
  readonly inputBuffer: SharedArrayBuffer;
  /** `count × numClasses` floats: the output rows. */
  readonly scoreBuffer: SharedArrayBuffer;
  readonly #inputs: Float32Array;
  readonly #scores: Float32Array;
  readonly #free: number[];
  readonly #waiters: Waiter[] = [];

  constructor(count: number, elementsPerImage: number, numClasses: number) {
    this.count = count;
    this.elementsPerImage = elementsPerImage;
    this.numClasses = numClasses;
    this.inputBuffer = new SharedArrayBuffer(count * elementsPerImage * Float32Array.BYTES_PER_ELEMENT);
    this.scoreBuffer = new SharedArrayBuffer(count * numClasses * Float32Array.BYTES_PER_ELEMENT);
    this.#inputs = new Float32Array(this.inputBuffer);
    this.#scores = new Float32Array(this.scoreBuffer);
    // Popped from the end: slot 0 first, so a light load keeps touching the same memory.
    this.#free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  /** Slots handed out and not yet released. */
  get inUse(): number {
    return this.count - this.#free.length;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * A free slot, now or as soon as one is released (first come, first served). Rejects with `signal.reason` when
   * the signal aborts first.
   */
  acquire(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  /** Gives `slot` back: to the longest waiting caller, else to the free list. */
  release(slot: number): void {
    const waiter = this.#waiters.shift();
    if (!waiter) {
      this.#free.push(slot);
      return;
    }
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(slot);
  }

  /** Rejects every caller still waiting for a slot (the engine is closing). */
  rejectWaiters(err: Error): void {
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(err);
    }
  }

  /** The input tensor of `slot` (a view). */
  input(slot: number): Float32Array {
    return this.#inputs.subarray(slot * this.elementsPerImage, (slot + 1) * this.elementsPerImage);
  }

  /** The output row of `slot` (a view, valid until the slot is released). */
  scores(slot: number): Float32Array {
    return this.#scores.subarray(slot * this.numClasses, (slot + 1) * this.numClasses);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new ShuttingDownError('the request was abandoned before it got a tensor slot');
}
