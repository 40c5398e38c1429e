import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../authorize/index.js';
import type { AttributeList } from '../decode/index.js';
import type { IngestStats } from '../stats.js';
import { memoize } from '../memo.js';
import { containsEmailAddress } from './email-address.js';
import { foldKey } from './key-folding.js';

/** The attribute keys that identify a person; dropped unless the configuration says otherwise. */
export const PERSONAL_KEYS = ['user.login', 'user.name', 'user.email', 'user.id'] as const;

export interface KeyedHashSettings {
  /** HMAC-SHA256 key; without it no hash can be made. */
  readonly secret: string;
  /** Keys whose value becomes the pseudonym, first present wins (e.g. user.login, user.id). */
  readonly from: readonly string[];
}

export interface PrivacySettings {
  /** `deny`: drop the listed keys, keep the rest. `allow`: keep only the listed keys. */
  readonly mode: 'deny' | 'allow';
  readonly deny: readonly string[];
  readonly allow: readonly string[];
  /** Opt-in pseudonymisation; the source keys are always dropped. */
  readonly hash: KeyedHashSettings | undefined;
  /** The attribute that carries the pseudonym. Only the policy sets it: a client-sent one is dropped. */
  readonly pseudonymKey: string;
  /** Replace attribute values that look like e-mail addresses, whatever their key. */
  readonly redactEmailValues: boolean;
}

export const REDACTED = '<redacted>';
/** Keys and values longer than this are worked out each time rather than remembered. */
const MAX_CACHED_LENGTH = 256;

/**
 * A request whose sender the authorize stage verified. Its identity, and nothing the payload claims,
 * becomes the pseudonym: a browser could otherwise count itself as anyone.
 */
export interface VerifiedSender {
  /** Undefined when the request was allowed without one (rotating token, policy): then no pseudonym. */
  readonly identity: Identity | undefined;
}

/** The privacy stage: one policy applied to every attribute before anything stores, exports or logs it. */
export interface PrivacyPolicy {
  /**
   * Returns the attributes the policy lets through, hashing and redacting as configured. Without a
   * verified sender the pseudonym comes from the attributes (auth modes that know nobody); with one,
   * from its identity, and the attributes' claims are dropped.
   */
  apply(attributes: AttributeList, stats: IngestStats, sender?: VerifiedSender): AttributeList;
}

/** The identity's value for a hash source key, when the identity has that field. */
function identityValue(identity: Identity, foldedKey: string): string | undefined {
  if (foldedKey === foldKey('user.login')) {
    return identity.login;
  }
  if (foldedKey === foldKey('user.id') && identity.id !== undefined) {
    return String(identity.id);
  }
  return undefined;
}

export function createPrivacyPolicy(settings: PrivacySettings): PrivacyPolicy {
  const hash = settings.hash;
  const hashSources = new Map((hash?.from ?? []).map((key, rank) => [foldKey(key), rank]));
  const denied = new Set(settings.deny.map(foldKey));
  for (const key of hashSources.keys()) {
    denied.add(key);
  }
  const allowed = new Set(settings.allow.map(foldKey));
  const pseudonymKey = foldKey(settings.pseudonymKey);
  // Folding is a regex replace; keys repeat across points, so remember them (bounded: keys are input).
  const fold = memoize(foldKey, 4096, MAX_CACHED_LENGTH);
  const pseudonyms = new LRUCache<string, string>({ max: 10_000 });

  // The pseudonym cache holds client input too: only short entries go in, so its memory stays bounded.
  function pseudonym(value: string): string {
    let p = pseudonyms.get(value);
    if (p === undefined) {
      // 64 bits of the HMAC: enough to count distinct users without collisions in practice.
      p = createHmac('sha256', hash!.secret).update(value).digest('hex').slice(0, 16);
      if (value.length <= MAX_CACHED_LENGTH) {
        pseudonyms.set(value, p);
      }
    }
    return p;
  }

  return {
    apply(attributes, stats, sender) {
      const out: AttributeList = [];
      let source: { rank: number; value: string } | undefined;
      for (const attribute of attributes) {
        const key = fold(attribute[0]);
        const rank = hashSources.get(key);
        if (rank !== undefined) {
          if (sender !== undefined) {
            stats.dropAttribute('privacy');
          } else if (source === undefined || rank < source.rank) {
            source = { rank, value: String(attribute[1]) };
          }
          continue;
        }
        // A client-sent pseudonym is never trusted: only this policy makes one.
        if (key === pseudonymKey || (settings.mode === 'deny' ? denied.has(key) : !allowed.has(key))) {
          stats.dropAttribute('privacy');
          continue;
        }
        const value = attribute[1];
        if (settings.redactEmailValues && typeof value === 'string' && containsEmailAddress(value)) {
          stats.dropAttribute('email_value');
          out.push([attribute[0], REDACTED]);
          continue;
        }
        out.push(attribute);
      }
      if (sender?.identity !== undefined && hash !== undefined) {
        for (const [key, rank] of hashSources) {
          const value = identityValue(sender.identity, key);
          if (value !== undefined && (source === undefined || rank < source.rank)) {
            source = { rank, value };
          }
        }
      }
      if (source !== undefined) {
        out.push([settings.pseudonymKey, pseudonym(source.value)]);
      }
      return out;
    },
  };
}
