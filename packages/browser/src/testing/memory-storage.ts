/**
 * A tab's sessionStorage that a test can hold several of: `duplicate()` is what Chrome's "Duplicate
 * tab" gives the new tab, a copy taken now that goes its own way from then on.
 */
export class MemoryStorage implements Storage {
  readonly #items = new Map<string, string>();

  get length(): number {
    return this.#items.size;
  }
  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
  clear(): void {
    this.#items.clear();
  }
  duplicate(): MemoryStorage {
    const copy = new MemoryStorage();
    for (const [k, v] of this.#items) {
      copy.setItem(k, v);
    }
    return copy;
  }
}
