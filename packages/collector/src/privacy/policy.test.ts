import { describe, expect, it } from 'vitest';
import type { AttributeList } from '../decode/index.ts';
import { IngestStats } from '../stats.ts';
import { createPrivacyPolicy, PERSONAL_KEYS, REDACTED, type PrivacySettings, type VerifiedSender } from './policy.ts';

const DEFAULTS: PrivacySettings = {
  mode: 'deny',
  deny: PERSONAL_KEYS,
  allow: [],
  hash: undefined,
  pseudonymKey: 'user.hash',
  redactEmailValues: true,
};

function apply(settings: Partial<PrivacySettings>, attributes: AttributeList, sender?: VerifiedSender) {
  const stats = new IngestStats();
  const out = createPrivacyPolicy({ ...DEFAULTS, ...settings }).apply(attributes, stats, sender);
  return { out, stats };
}

describe('privacy policy', () => {
  it('drops personal keys in every spelling by default and keeps the rest', () => {
    const { out, stats } = apply({}, [
      ['user.login', 'alice'],
      ['user_name', 'Alice A.'],
      ['User-Email', 'alice@example.com'],
      ['USER ID', 42],
      ['user.role', 'Editor'],
      ['dashboard.uid', 'd1'],
    ]);
    expect(out).toEqual([
      ['user.role', 'Editor'],
      ['dashboard.uid', 'd1'],
    ]);
    expect(stats.droppedAttributes.get('privacy')).toBe(4);
  });

  it('is not fooled by characters that lowercase to ASCII (Kelvin sign, dotted capital I)', () => {
    const { out } = apply({}, [
      ['user\u212Alogin', 'alice'],
      ['user\u0130name', 'Alice'],
      ['user.\u212Aey', 'kept'],
    ]);
    expect(out).toEqual([['user.\u212Aey', 'kept']]);
  });

  it('lets personal keys through only when the deny-list leaves them out', () => {
    const { out } = apply({ deny: ['user.email', 'user.id'] }, [
      ['user.login', 'alice'],
      ['user.email', 'alice@example.com'],
    ]);
    expect(out).toEqual([['user.login', 'alice']]);
  });

  it('keeps only listed keys in allow mode', () => {
    const { out } = apply({ mode: 'allow', allow: ['dashboard.uid'] }, [
      ['dashboard_uid', 'd1'],
      ['user.role', 'Viewer'],
      ['anything', 'x'],
    ]);
    expect(out).toEqual([['dashboard_uid', 'd1']]);
  });

  it('redacts values that look like e-mail addresses under any key', () => {
    const { out, stats } = apply({}, [
      ['variable.value', 'bob@corp.example.org'],
      ['variable.name', 'owner@'],
    ]);
    expect(out).toEqual([
      ['variable.value', REDACTED],
      ['variable.name', 'owner@'],
    ]);
    expect(stats.droppedAttributes.get('email_value')).toBe(1);
  });

  it.each([
    ['percent-encoded, as in a URL', 'var-owner=alice%40corp.example'],
    ['an internationalised domain', 'bob@пример.рф'],
    ['a punycode domain', 'bob@xn--e1afmkfd.xn--p1ai'],
    ['an address literal', 'alice@[192.168.0.1]'],
    ['a fullwidth at sign', 'alice＠corp.example'],
    ['a small at sign', 'alice﹫corp.example'],
    ['quotes and a newline around it', '"x"\nalice.o\'neil@corp.example\n'],
  ])('redacts an address written %s', (_, value) => {
    expect(apply({}, [['variable.value', value]]).out).toEqual([['variable.value', REDACTED]]);
  });

  it.each(['ops@prod', 'team @ 10:00', 'a@b', '100%40s', 'user@host:5432'])('leaves %j alone: not an address', (value) => {
    expect(apply({}, [['variable.value', value]]).out).toEqual([['variable.value', value]]);
  });

  it('turns a login into a stable keyed pseudonym and drops the login', () => {
    const hash = { secret: 'k'.repeat(32), from: ['user.login', 'user.id'] };
    const a1 = apply({ hash }, [['user.login', 'alice'], ['user.id', 7]]).out;
    const a2 = apply({ hash }, [['user_login', 'alice']]).out;
    const b = apply({ hash }, [['user.login', 'bob']]).out;
    const other = apply({ hash: { ...hash, secret: 'z'.repeat(32) } }, [['user.login', 'alice']]).out;
    expect(a1).toHaveLength(1);
    expect(a1[0]![0]).toBe('user.hash');
    expect(a1[0]![1]).toMatch(/^[0-9a-f]{16}$/);
    expect(a2).toEqual(a1);
    expect(b[0]![1]).not.toBe(a1[0]![1]);
    expect(other[0]![1]).not.toBe(a1[0]![1]);
    expect(JSON.stringify([a1, a2, b])).not.toContain('alice');
  });

  it('never trusts a pseudonym sent by the client', () => {
    expect(apply({}, [['user.hash', 'forged']]).out).toEqual([]);
    const hash = { secret: 'k'.repeat(32), from: ['user.login'] };
    expect(apply({ hash }, [['user.hash', 'forged']]).out).toEqual([]);
  });

  it("hashes the verified sender's identity, never the login the payload claims", () => {
    const hash = { secret: 'k'.repeat(32), from: ['user.login', 'user.id'] };
    const alice = apply({ hash }, [['user.login', 'alice']]).out;
    const mallory = apply({ hash }, [['user.login', 'mallory']]).out;
    const claimed = apply({ hash }, [['user.login', 'mallory'], ['user.role', 'Admin']], { identity: { login: 'alice', id: 42 } });
    expect(claimed.out).toEqual([['user.role', 'Admin'], alice[0]]);
    expect(claimed.out).not.toContainEqual(mallory[0]);
    expect(claimed.stats.droppedAttributes.get('privacy')).toBe(1);
    // The first `from` key the identity has wins, as with attributes.
    const byId = apply({ hash: { ...hash, from: ['user.email', 'user.id'] } }, [], { identity: { login: 'alice', id: 42 } }).out;
    expect(byId).toEqual(apply({ hash }, [['user.id', 42]]).out);
  });

  it('makes no pseudonym for a verified request without an identity, whatever the payload claims', () => {
    const hash = { secret: 'k'.repeat(32), from: ['user.login'] };
    expect(apply({ hash }, [['user.login', 'mallory']], { identity: undefined }).out).toEqual([]);
    // Without hashing, the identity adds nothing: it is never itself a label.
    expect(apply({}, [], { identity: { login: 'alice' } }).out).toEqual([]);
  });
});
