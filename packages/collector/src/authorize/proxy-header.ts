import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { AuthDecision, Authenticator } from './decision.js';

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
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
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
  return {
    mode: 'proxy-header',
    verifiesIdentity: true,
    authenticate(req): AuthDecision {
      const peer = peerAddress(req);
      const family = isIP(peer) === 6 ? 'ipv6' : 'ipv4';
      if (isIP(peer) === 0 || !trusted.check(peer, family)) {
        return { allowed: false, outcome: 'untrusted_proxy', status: 403, message: 'requests must come through the authenticating proxy' };
      }
      const value = req.headers[header];
      const login = (Array.isArray(value) ? value[0] : value)?.trim();
      if (login) return { allowed: true, outcome: 'proxy_user', identity: { login } };
      if (settings.requireUser) {
        return { allowed: false, outcome: 'proxy_no_user', status: 401, message: `the proxy sent no ${settings.userHeader} header` };
      }
      return { allowed: true, outcome: 'proxy_no_user', identity: undefined };
    },
  };
}
