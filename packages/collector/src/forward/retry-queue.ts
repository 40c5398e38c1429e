import type { ForwardRequest } from './split-requests.js';

/**
 * Requests waiting for the upstream, oldest first, with the points they hold. The bound is applied by
 * the caller when it keeps requests for a retry (trim), never to requests not tried yet.
 */
export interface RetryQueue {
  /** Points in the queue. */
  readonly points: number;
  /** Appends requests, oldest first. */
  push(requests: readonly ForwardRequest[]): void;
  /** Puts a request that was taken out back in front. */
  unshift(request: ForwardRequest): void;
  shift(): ForwardRequest | undefined;
  /** Drops the oldest requests until at most maxPoints points are left; returns the points dropped. */
  trim(maxPoints: number): number;
  /** Empties the queue; returns the points it held. */
  clear(): number;
}

export function createRetryQueue(): RetryQueue {
  let requests: ForwardRequest[] = [];
  let points = 0;
  return {
    get points() {
      return points;
    },
    push(added) {
      for (const request of added) {
        requests.push(request);
        points += request.points;
      }
    },
    unshift(request) {
      requests.unshift(request);
      points += request.points;
    },
    shift() {
      const request = requests.shift();
      if (request) {
        points -= request.points;
      }
      return request;
    },
    trim(maxPoints) {
      let dropped = 0;
      while (points > maxPoints && requests.length > 0) {
        const oldest = requests.shift()!;
        points -= oldest.points;
        dropped += oldest.points;
      }
      return dropped;
    },
    clear() {
      const held = points;
      requests = [];
      points = 0;
      return held;
    },
  };
}
