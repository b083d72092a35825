/**
 * The values computed last, for work a stream of images repeats with the same few arguments (a folder of photos
 * repeats a few sizes and one set of tensor options). When full, the oldest entry goes.
 * @module
 */

/**
 * A bounded cache keyed by string.
 *
 * @example
 * ```ts
 * const squares = new RecentValues<number>(8);
 * squares.get('3', () => 9); // computed
 * squares.get('3', () => 9); // held
 * ```
 */
export class RecentValues<V> {
  readonly #values = new Map<string, V>();
  readonly #limit: number;

  /** @param limit - most values held. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The value for `key`, computed by `compute` when not held. It is shared: callers must not modify it. */
  get(key: string, compute: () => V): V {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = compute();
      if (this.#values.size >= this.#limit) this.#values.delete(this.#values.keys().next().value as string);
      this.#values.set(key, value);
    }
    return value;
  }
}
