/**
 * One piece of work for whoever asks while it is under way: a scrape and a state save that meet (or
 * an HA pair of scrapers) cost one walk over every series rather than two. Not kept once done:
 * whoever asks after must see what came since.
 */
export interface InFlight<T> {
  /** The work under way, or new work when there is none. */
  get(): Promise<T>;
  /** New work, never the one under way (the final state save on shutdown); later get() calls share it. */
  fresh(): Promise<T>;
}

export function shareInFlight<T>(work: () => Promise<T>): InFlight<T> {
  let underWay: Promise<T> | undefined;
  function fresh(): Promise<T> {
    const started = work();
    underWay = started;
    const done = (): void => {
      if (underWay === started) {
        underWay = undefined;
      }
    };
    started.then(done, done);
    return started;
  }
  return { get: () => underWay ?? fresh(), fresh };
}
