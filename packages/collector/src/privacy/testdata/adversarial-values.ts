/**
 * Attribute values made to slow e-mail redaction down or to slip an address past it. Shared by the
 * privacy unit tests and the end-to-end cost test (test/redaction-cost.test.ts).
 */
import fc from 'fast-check';

/** The size of one value on the wire: 64 KiB of UTF-8, as much as the default body limit lets in. */
export const VALUE_BYTES = 64 * 1024;

/** The two values of the attack on a running collector (reviews 2026-12, row 1). */
export const ATTACK_VALUES = {
  'fullwidth at signs': '\uFF20'.repeat(21_500),
  '`a%40` repeated': 'a%40'.repeat(16_000),
} as const;

const AT_SIGNS = ['@', '\uFF20', '\uFE6B', '%40', '%2540', '%EF%BC%A0', '\uFF0540'];
/** Valid, nested and malformed escapes. */
const ESCAPES = ['%', '%4', '%ZZ', '%2', '%25', '%252', '%C3%A9', '%E2%80%8B', '%FF', '%C0%80'];
const DOTS = ['.', '\uFF0E', '\u3002', '\uFF61', '%2E'];
/** Format characters, a combining mark and lone surrogates: one UTF-16 unit each. */
const HIDDEN = [
  '\u200B',
  '\u200C',
  '\u200D',
  '\u200E',
  '\u200F',
  '\u2060',
  '\uFEFF',
  '\u00AD',
  '\u0301',
  '\uD800',
  '\uDFFF',
];
const TEXT = ['a', 'Z', 'xn--', 'é', 'я', 'भा', '7', '0', '[', ']', ':', '<', '>', ' ', '\n', '\t', '\u3000'];
/** NFKC makes these 18, 4 and 3 characters long: the normalised text is longer than the value. */
const EXPANDING = ['\uFDFA', '\u3300', '\u2474'];

const piece = fc.oneof(...[AT_SIGNS, ESCAPES, DOTS, HIDDEN, TEXT, EXPANDING].map((group) => fc.constantFrom(...group)));

/**
 * VALUE_BYTES of a short pattern repeated (periodic input is what makes a backtracking expression
 * slow), with a few pieces dropped in anywhere.
 */
export const adversarialValue: fc.Arbitrary<string> = fc
  .record({
    pattern: fc.array(piece, { minLength: 1, maxLength: 16 }),
    extras: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), piece), { maxLength: 8 }),
  })
  .map(({ pattern, extras }) => {
    const unit = pattern.join('');
    const room = VALUE_BYTES - extras.reduce((n, [, p]) => n + Buffer.byteLength(p), 0);
    let value = unit.repeat(Math.floor(room / Buffer.byteLength(unit)));
    for (const [where, p] of extras) {
      const at = Math.floor(where * value.length);
      value = value.slice(0, at) + p + value.slice(at);
    }
    return value;
  });

/**
 * An address written to get past a filter: an at sign and a dot in any form, and a hidden character
 * between its parts and inside the at sign. Spaces around it keep the text it is dropped into out of it.
 */
export const disguisedAddress: fc.Arbitrary<string> = fc
  .record({
    at: fc.constantFrom('@', '\uFF20', '\uFE6B', '%40', '%2540', '%252540', '\uFF0540', '%EF%BC%A0'),
    dot: fc.constantFrom('.', '\uFF0E', '\u3002', '\uFF61', '%2E', '%252E'),
    local: fc.constantFrom('alice', "o'neil", 'x+tag', 'Jürgen'),
    domain: fc.constantFrom(['example', 'com'], ['corp', 'example'], ['пример', 'рф'], ['xn--e1afmkfd', 'xn--p1ai']),
    hidden: fc.array(fc.constantFrom('', ...HIDDEN), { minLength: 6, maxLength: 6 }),
    split: fc.nat(),
  })
  .map(({ at, dot, local, domain: [label, top], hidden, split }) => {
    const h = (i: number) => hidden[i] ?? '';
    // Inside the at sign only where it has an inside: next to a gap's lone surrogate, another could pair with it.
    const cut = at.length < 2 ? 0 : 1 + (split % (at.length - 1));
    const atSign = cut === 0 ? at : at.slice(0, cut) + h(0) + at.slice(cut);
    return ` ${local}${h(1)}${atSign}${h(2)}${label}${h(3)}${dot}${h(4)}${top.slice(0, 1)}${h(5)}${top.slice(1)} `;
  });

/** A value with a disguised address dropped in anywhere. */
export const valueWithAddress: fc.Arbitrary<string> = fc
  .tuple(adversarialValue, disguisedAddress, fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([value, address, where]) => {
    const at = Math.floor(where * value.length);
    return value.slice(0, at) + address + value.slice(at);
  });
