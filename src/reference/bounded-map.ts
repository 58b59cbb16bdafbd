// A Map that forgets its oldest entries past a size bound: the caches hold immutable values only.

export class BoundedMap<K, V> extends Map<K, V> {
  readonly max: number;

  constructor(max: number) {
    super();
    this.max = max;
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.max) {
      // Why: insertion order approximates age; dropping a tenth at once keeps set() O(1) amortised.
      let drop = Math.max(1, Math.floor(this.max / 10));
      for (const k of this.keys()) {
        if (drop-- <= 0) break;
        this.delete(k);
      }
    }
    return super.set(key, value);
  }
}
