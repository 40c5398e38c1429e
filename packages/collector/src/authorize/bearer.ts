import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthDecision, Authenticator } from './decision.js';

export interface BearerSettings {
  readonly tokens: readonly string[];
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Static bearer tokens, for server-side senders (another collector forwarding, a script). Tokens are
 * compared as SHA-256 digests in constant time, so neither their length nor a prefix leaks through timing.
 */
export function createBearerAuthenticator(settings: BearerSettings): Authenticator {
  const known = settings.tokens.map(digest);
  const refuse = (outcome: 'no_token' | 'bad_token', message: string): AuthDecision => ({
    allowed: false,
    outcome,
    status: 401,
    message,
    challenge: outcome === 'no_token' ? 'Bearer realm="footfall"' : 'Bearer realm="footfall", error="invalid_token"',
  });
  function authenticate(req: IncomingMessage): AuthDecision {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) {
      return refuse('no_token', 'an Authorization: Bearer token is required');
    }
    const presented = digest(match[1]!);
    let ok = false;
    for (const token of known) {
      ok = timingSafeEqual(token, presented) || ok;
    }
    // No subject: a token stands for a server-side sender, not a person to hold to a per-sender budget.
    return ok
      ? { allowed: true, outcome: 'token_accepted', identity: undefined }
      : refuse('bad_token', 'the bearer token is not valid');
  }
  return {
    mode: 'bearer',
    verifiesIdentity: false,
    // Nothing to ask anyone: the look-up is the decision.
    peek: authenticate,
    authenticate,
  };
}
