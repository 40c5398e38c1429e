/**
 * Every string the browser model records is cut to a length before it is sent: a value is free text
 * (a dashboard title, a text-box variable), and one long value repeated in every body would crowd out
 * the points. The collector cuts at 256 UTF-16 code units (its attribute limiter); cutting well below
 * that here keeps the value the collector stores the same as the one the browser merged on.
 */

/** UTF-16 code units kept of any recorded string, as the collector counts them. */
export const MAX_VALUE_LENGTH = 128;

/** `text` cut to at most `max` UTF-16 code units, never between the two halves of a surrogate pair. */
export function capText(text: string, max: number = MAX_VALUE_LENGTH): string {
  if (text.length <= max) {
    return text;
  }
  const end = Math.max(0, Math.floor(max));
  const last = text.charCodeAt(end - 1);
  // A high surrogate last would be half a character: a lone surrogate, sent as U+FFFD.
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}
