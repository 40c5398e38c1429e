import { createHash } from 'node:crypto';

/**
 * The keys of AuthAllowed.subject, one per kind of sender. Prefixed so that a login, a cookie and an
 * address can never produce the same key.
 */

/** A sender whose login a trusted party verified (Grafana, the authenticating proxy). */
export function userSubject(login: string): string {
  return `user:${createHash('sha256').update(login).digest('base64url')}`;
}

/** A session let in without an identity, by the SHA-256 of its cookie (base64url) the session cache is keyed by. */
export function sessionSubject(cookieDigest: string): string {
  return `session:${cookieDigest}`;
}

/** An anonymous sender: all that is known of it is where it sends from. */
export function addressSubject(clientAddress: string): string {
  return `addr:${clientAddress}`;
}
