import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createBearerAuthenticator } from './bearer.ts';

const withAuthorization = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as unknown as IncomingMessage;

describe('bearer authenticator', () => {
  const auth = createBearerAuthenticator({ tokens: ['first-token-0123456789', 'second-token-0123456789'] });

  it('accepts each configured token, whatever the case of the scheme', () => {
    expect(auth.authenticate(withAuthorization('Bearer first-token-0123456789'))).toEqual({
      allowed: true,
      outcome: 'token_accepted',
      identity: undefined,
    });
    expect(auth.authenticate(withAuthorization('bearer second-token-0123456789'))).toMatchObject({ allowed: true });
  });

  it('refuses a missing, malformed, wrong or prefix token with a Bearer challenge', () => {
    expect(auth.authenticate(withAuthorization())).toMatchObject({
      allowed: false,
      outcome: 'no_token',
      status: 401,
      challenge: 'Bearer realm="footfall"',
    });
    expect(auth.authenticate(withAuthorization('Basic dXNlcjpwYXNz'))).toMatchObject({ outcome: 'no_token' });
    for (const token of ['first-token-012345678', 'first-token-0123456789x', 'FIRST-TOKEN-0123456789']) {
      expect(auth.authenticate(withAuthorization(`Bearer ${token}`))).toMatchObject({
        allowed: false,
        outcome: 'bad_token',
        challenge: 'Bearer realm="footfall", error="invalid_token"',
      });
    }
  });

  it('decides without calling anyone: peek gives the same decision, with no per-sender subject (a server-side sender)', () => {
    for (const req of [
      withAuthorization('Bearer first-token-0123456789'),
      withAuthorization('Bearer wrong-token-0123456789'),
      withAuthorization(),
    ]) {
      expect(auth.peek(req, '192.0.2.1')).toEqual(auth.authenticate(req));
    }
    const allowed = auth.peek(withAuthorization('Bearer first-token-0123456789'), '192.0.2.1');
    expect(allowed?.allowed && allowed.subject).toBeUndefined();
  });

  it('never puts the token in what it says', () => {
    expect(JSON.stringify(auth.authenticate(withAuthorization('Bearer guess-0123456789abcdef')))).not.toContain(
      'guess'
    );
  });
});
