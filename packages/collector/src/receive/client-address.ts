import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { addressList, peerAddress } from '../authorize/index.js';

export interface ClientAddressSettings {
  /** Peers (addresses, CIDR blocks) whose X-Forwarded-For is believed: the proxies in front of the collector. */
  readonly trustedProxies: readonly string[];
}

/** The address a request comes from: the socket's peer, or what the trusted proxies in front of it say. */
export type ClientAddressOf = (req: IncomingMessage) => string;

/** An X-Forwarded-For entry as a bare address (some proxies add a port or brackets); undefined when it is none. */
function hopAddress(entry: string): string | undefined {
  let value = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) {
    value = bracketed[1]!;
  } else if (/^[\d.]+:\d+$/.test(value)) {
    value = value.slice(0, value.indexOf(':'));
  }
  if (value.startsWith('::ffff:') && isIP(value.slice(7)) === 4) {
    value = value.slice(7);
  }
  return isIP(value) === 0 ? undefined : value.toLowerCase();
}

/**
 * Works out the client's address as express's "trust proxy" does: when the peer is a trusted proxy,
 * X-Forwarded-For is read from the right (each proxy appends the address it received from), skipping
 * trusted proxies, and the first address that is not one is the client. Entries left of it are the
 * client's own say and are never believed. An entry that is no address (a proxy's "unknown") stops the
 * walk at the last address known. (Not the proxy-addr package express uses: it is not a dependency of
 * ours, has no types, and would take such an entry for the client's address.)
 */
export function createClientAddress(settings: ClientAddressSettings): ClientAddressOf {
  const trusted = addressList(settings.trustedProxies);
  // Asked for every request, of the same few peers: BlockList.check builds a SocketAddress each time.
  const known = new LRUCache<string, boolean>({ max: 4096 });
  const isTrusted = (address: string): boolean => {
    let answer = known.get(address);
    if (answer === undefined) {
      const family = isIP(address);
      answer = family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
      known.set(address, answer);
    }
    return answer;
  };
  return (req) => {
    let client = peerAddress(req);
    if (!isTrusted(client)) {
      return client;
    }
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) {
      return client;
    }
    // Node joins repeated X-Forwarded-For headers with ", ": one list, in the order they came.
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hopAddress(hops[i]!);
      if (hop === undefined) {
        break;
      }
      client = hop;
      if (!isTrusted(hop)) {
        break;
      }
    }
    return client;
  };
}
