/**
 * Whether a value holds an e-mail address, however it is written. A hand-rolled scan rather than a
 * regular expression: it looks at each at sign once, and left and right of it a bounded distance, so
 * its cost is linear in the value's length on any input (a value is client input, up to the body size).
 *
 * The scan reads the value as a person would: without invisible characters, NFKC-normalised (fullwidth
 * and small at signs and dots become ASCII), and percent-decoded until nothing changes (`%2540` →
 * `%40` → `@`).
 */

/**
 * Characters that are, or that normalising or decoding can turn into, an at sign: `@ ＠ ﹫`, and a
 * percent sign (`%40`, `%2540`) in its three widths. Most values have none: then nothing else runs.
 */
const MAY_HIDE_AT_SIGN = /[@\uFF20\uFE6B%\uFF05\uFE6A]/;

/**
 * What a reader's eye passes over or reads as part of its neighbour: format characters (zero-width
 * space, soft hyphen, BOM, bidi controls), other default-ignorable ones, combining marks (and the two
 * halfwidth sound marks NFKC makes into combining ones), control characters that are not whitespace,
 * and U+FFFD, which a lone surrogate or an invalid UTF-8 escape becomes. Removed before normalising:
 * NFKC makes some values 18 times longer, and this class costs more per character than anything else here.
 */
const IGNORED = /[\0-\x08\x0E-\x1F\x7F-\x9F\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\uFF9E\uFF9F\uFFFD]/u;
const ALL_IGNORED = new RegExp(`${IGNORED.source}+`, 'gu');

/** Rounds of decoding after which a value still decoding is treated as an address. */
const MAX_ROUNDS = 8;

/**
 * The top-level label, checked at one position: two letters (xn-- labels start with two too), and any
 * combining marks NFKC leaves beside them (`שּׁ` becomes a letter and two marks).
 */
const TOP_LEVEL_LABEL = /\p{M}*\p{L}\p{M}*\p{L}/uy;

/** An address literal right after the at sign (RFC 5321: an IPv4 or an IPv6 address in brackets). */
const ADDRESS_LITERAL = /\[(?:IPv6:)?[0-9a-f:.]{2,45}\]/iy;

/** RFC 5321 allows 255 octets of domain; the last dot is at most this far after the at sign. */
const MAX_DOMAIN_LENGTH = 253;

const UTF8 = new TextDecoder();

export function containsEmailAddress(value: string): boolean {
  if (!MAY_HIDE_AT_SIGN.test(value)) {
    return false;
  }
  const text = readable(value);
  return text === undefined || hasAddress(text);
}

/** The value as the scan reads it, or undefined when it is still decoding after MAX_ROUNDS. */
function readable(value: string): string | undefined {
  let text = clean(value.toWellFormed());
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const decoded = percentDecoded(text);
    if (decoded === text) {
      return text;
    }
    text = decoded;
  }
  return undefined;
}

function clean(text: string): string {
  // Testing first: most decoded escapes have nothing to remove, and a replace costs ten times a test.
  return (IGNORED.test(text) ? text.replace(ALL_IGNORED, '') : text).normalize('NFKC');
}

/**
 * Decodes `%XX` escapes, a run of them as UTF-8, and leaves any other percent sign as it is. Never
 * throws, unlike decodeURIComponent; the result is shorter when it differs. What an escape decodes to
 * is cleaned on its own (`%EF%BC%A0` is ＠, `%E2%80%8B` a zero-width space): cleaning the whole text
 * again each round would cost as much as the first time.
 */
function percentDecoded(text: string): string {
  let out = '';
  let copied = 0;
  for (let at = text.indexOf('%'); at !== -1; at = text.indexOf('%', at)) {
    let byte = escapedByte(text, at);
    if (byte === -1) {
      at++;
      continue;
    }
    out += text.slice(copied, at);
    // Most escapes are single ASCII characters (`%40`, `%25`): a decoder call for each would cost more than the rest.
    if (byte < 0x80) {
      out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : clean(String.fromCharCode(byte));
      at += 3;
    } else {
      const bytes: number[] = [];
      for (; byte !== -1; byte = escapedByte(text, at)) {
        bytes.push(byte);
        at += 3;
      }
      out += clean(UTF8.decode(Uint8Array.from(bytes)));
    }
    copied = at;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** The byte of the `%XX` escape at `at`, or -1 when there is none. */
function escapedByte(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x25) {
    return -1;
  }
  const high = hexDigit(text.charCodeAt(at + 1));
  const low = hexDigit(text.charCodeAt(at + 2));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) {
    return c - 0x30;
  }
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Whether some at sign has a local part on its left (one character is enough) and on its right a
 * dotted domain with a top-level label of two letters, or an address literal. Single-label domains
 * (`ops@prod`) are left alone: they are more often names of things than addresses. The domain scan
 * stops at the next at sign, so no character is scanned for two at signs.
 */
function hasAddress(text: string): boolean {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    if (at === 0 || !isAddressChar(text.charCodeAt(at - 1))) {
      continue;
    }
    if (hasAddressLiteral(text, at + 1) || hasDottedDomain(text, at + 1)) {
      return true;
    }
  }
  return false;
}

// A regular expression call costs more than the rest of the scan at one at sign or dot: the two checks
// below call theirs only where the next character could start a match.

function hasAddressLiteral(text: string, start: number): boolean {
  if (text.charCodeAt(start) !== 0x5b) {
    return false;
  }
  ADDRESS_LITERAL.lastIndex = start;
  return ADDRESS_LITERAL.test(text);
}

function hasDottedDomain(text: string, start: number): boolean {
  const end = Math.min(text.length, start + MAX_DOMAIN_LENGTH);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isAddressChar(c)) {
      return false;
    }
    // IDNA reads the ideographic full stop as a dot too; NFKC has made the fullwidth and halfwidth ones `.` and `。`.
    if (i > start && (c === 0x2e || c === 0x3002) && hasTopLevelLabel(text, i + 1)) {
      return true;
    }
  }
  return false;
}

function hasTopLevelLabel(text: string, start: number): boolean {
  const c = text.charCodeAt(start);
  // ASCII has no marks and no letters but a–z and A–Z.
  if (c < 0x80 && !isAsciiLetter(c)) {
    return false;
  }
  if (c < 0x80 && text.charCodeAt(start + 1) < 0x80) {
    return isAsciiLetter(text.charCodeAt(start + 1));
  }
  TOP_LEVEL_LABEL.lastIndex = start;
  return TOP_LEVEL_LABEL.test(text);
}

function isAsciiLetter(c: number): boolean {
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

/** The non-ASCII characters that end a local part or a domain: the whitespace of `\s` (but the range U+2000–U+200A) and the wide at signs. */
const NOT_IN_ADDRESS = new Set([0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff, 0xfe6b, 0xff20]);

/** Neither whitespace (`\s`), an at sign of any width nor an angle bracket: what a local part or a domain is made of. */
function isAddressChar(c: number): boolean {
  if (c < 0x80) {
    return c > 0x20 ? c !== 0x40 && c !== 0x3c && c !== 0x3e : c !== 0x20 && (c < 0x09 || c > 0x0d);
  }
  return !NOT_IN_ADDRESS.has(c) && !(c >= 0x2000 && c <= 0x200a);
}
