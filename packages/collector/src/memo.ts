/**
 * A bounded memo of a function of short strings (attribute key → folded key, key → label name): the
 * same few keys come with every point, so each is worked out once. A Map emptied when full rather than
 * an LRU cache: the LRU's bookkeeping on every hit was 5–7 % of an OTLP request's CPU, and a sender
 * cycling through new keys only makes the memo start again. Keys longer than `maxKeyLength` are worked
 * out each time, so the memory stays bounded (both the memo's keys and values are client input).
 */
export function memoize(work: (key: string) => string, max: number, maxKeyLength: number): (key: string) => string {
  const known = new Map<string, string>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      value = work(key);
      if (key.length > maxKeyLength) {
        return value;
      }
      if (known.size >= max) {
        known.clear();
      }
      known.set(key, value);
    }
    return value;
  };
}
