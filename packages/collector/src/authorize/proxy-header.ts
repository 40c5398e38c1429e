import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { AuthDecision, Authenticator } from './decision.js';
import { addressSubject, userSubject } from './subject.js';

export interface ProxyHeaderSettings {
  /** Addresses or CIDR blocks of the proxies allowed to assert who the user is. */
  readonly trustedProxies: readonly string[];
  /** The header the proxy puts the login in (Grafana's [auth.proxy] header_name). */
  readonly userHeader: string;
  /** Refuse requests that reach us through a trusted proxy without a user. */
  readonly requireUser: boolean;
}

/** A peer address as the kernel reports it: IPv4 clients of a dual-stack socket come as ::ffff:a.b.c.d. */
export function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** A BlockList of the given addresses and CIDR blocks (already validated by the config schema). */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) {
      list.addAddress(address, family);
    } else {
      list.addSubnet(address, Number(prefix), family);
    }
  }
  return list;
}

/**
 * Trusts an identity header, but only from the proxies named in the configuration: anyone else could
 * set the header themselves. The collector must then be reachable only through those proxies.
 */
export function createProxyHeaderAuthenticator(settings: ProxyHeaderSettings): Authenticator {
  const trusted = addressList(settings.trustedProxies);
  const header = settings.userHeader.toLowerCase();
  function authenticate(req: IncomingMessage, clientAddress: string): AuthDecision {
    const peer = peerAddress(req);
    const family = isIP(peer) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(peer) === 0 || !trusted.check(peer, family)) {
      return {
        allowed: false,
        outcome: 'untrusted_proxy',
        status: 403,
        message: 'requests must come through the authenticating proxy',
      };
    }
    // Every occurrence, not req.headers: Node joins a repeated custom header with ", ", which would
    // make "alice" and a second header "mallory" one login "alice, mallory". A login with a comma is
    // refused for the same reason: it cannot be told apart from two headers joined by a proxy.
    const values = req.headersDistinct[header] ?? [];
    if (values.length > 1 || values.some((v) => v.includes(','))) {
      return {
        allowed: false,
        outcome: 'ambiguous_user',
        status: 401,
        message: `the proxy sent more than one ${settings.userHeader} value`,
      };
    }
    const login = values[0]?.trim();
    if (login) {
      return { allowed: true, outcome: 'proxy_user', identity: { login }, subject: userSubject(login) };
    }
    if (settings.requireUser) {
      return {
        allowed: false,
        outcome: 'proxy_no_user',
        status: 401,
        message: `the proxy sent no ${settings.userHeader} header`,
      };
    }
    // The proxy vouches that the sender may send (e.g. it checked a session), not who it is.
    return { allowed: true, outcome: 'proxy_no_user', identity: undefined, subject: addressSubject(clientAddress) };
  }
  return {
    mode: 'proxy-header',
    verifiesIdentity: true,
    // Nothing to ask anyone: the look-up is the decision.
    peek: authenticate,
    authenticate,
  };
}
