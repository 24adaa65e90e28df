/**
 * Crockford base32 (docs/crypto.md §7.1): encoding, decoding and the tolerant
 * normalisation of what people type, exactly as crypto/encoding.py does it.
 *
 * @module crypto/base32
 */

import { CodeFormatError } from "./errors.js";

/** Crockford's alphabet: no I, L, O, U, so nothing reads as something else. */
export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const VALUE = new Map([...CROCKFORD].map((c, i) => [c, i]));

// White space is Python's `\s` (str.isspace) spelled out, because JavaScript's `\s`
// differs (it adds U+FEFF and lacks U+001C–U+001F and U+0085) and both implementations
// must drop exactly the same characters. Then the separators of §7.1: hyphen-minus,
// U+2010–U+2015 (hyphens and dashes), minus sign, full stop, low line, solidus, middle dot.
const WHITE_SPACE =
  String.raw`\t\n\v\f\r\x1c-\x1f \x85\xa0` +
  String.raw`\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const DASHES_AND_DOTS = String.raw`\-\u2010-\u2015\u2212._/\u00b7`;
const SEPARATORS = new RegExp(`[${WHITE_SPACE}${DASHES_AND_DOTS}]+`, "g");
// ASCII, full-width forms and the characters above. Anything else is refused *before*
// NFKC, so the outcome cannot depend on the browser's Unicode version.
const ACCEPTED = new RegExp(String.raw`^[\x00-\x7f\uff01-\uff5e${WHITE_SPACE}${DASHES_AND_DOTS}]*$`);
const NOT_IN_ALPHABET = "The code contains a character that is not used in codes.";
const LOOKALIKES = new Map([
  ["O", "0"],
  ["I", "1"],
  ["L", "1"],
  ["U", "V"],
]);

/**
 * Canonical upper-case Crockford string from what a person typed: only ASCII, full-width
 * forms, white space and separators accepted; NFKC (full-width characters become ASCII),
 * separators dropped, upper case (ASCII only by then), look-alikes mapped.
 *
 * @param {string} text
 * @returns {string}
 * @throws {CodeFormatError} reason "empty" when nothing is left, "character" for
 *   anything left outside the alphabet
 */
export function normalizeCrockford(text) {
  if (!ACCEPTED.test(text)) {
    throw new CodeFormatError("character", NOT_IN_ALPHABET);
  }
  const cleaned = text.normalize("NFKC").replace(SEPARATORS, "");
  const canonical = cleaned.toUpperCase().replace(/[OILU]/g, (c) => LOOKALIKES.get(c) ?? c);
  if (canonical.length === 0) {
    throw new CodeFormatError("empty", "No code was entered.");
  }
  for (const c of canonical) {
    if (!VALUE.has(c)) {
      throw new CodeFormatError("character", NOT_IN_ALPHABET);
    }
  }
  return canonical;
}

/**
 * Bytes as one big-endian bit string in 5-bit groups; the last group is zero-padded.
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function crockfordEncode(bytes) {
  let out = "";
  let value = 0;
  let bits = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1; // keep only unconsumed bits, so value never overflows
  }
  if (bits > 0) {
    out += CROCKFORD[(value << (5 - bits)) & 31];
  }
  return out;
}

/**
 * Inverse of crockfordEncode for a canonical string that encodes `length` bytes.
 *
 * @param {string} canonical - output of normalizeCrockford
 * @param {number} length - the number of bytes expected
 * @returns {Uint8Array}
 * @throws {CodeFormatError} "length" for the wrong number of characters, "character"
 *   for a character outside the alphabet or non-zero padding bits
 */
export function crockfordDecode(canonical, length) {
  if (canonical.length !== Math.ceil((length * 8) / 5)) {
    throw new CodeFormatError("length", "The code has the wrong number of characters.");
  }
  const out = new Uint8Array(length);
  let value = 0;
  let bits = 0;
  let index = 0;
  for (const c of canonical) {
    const digit = VALUE.get(c);
    if (digit === undefined) {
      throw new CodeFormatError("character", NOT_IN_ALPHABET);
    }
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >>> bits) & 0xff;
      value &= (1 << bits) - 1;
    }
  }
  if (value !== 0) {
    throw new CodeFormatError("character", "The code's last character is not possible.");
  }
  return out;
}

/**
 * Split into dash-separated groups for reading aloud: ABCD-EFGH-…
 *
 * @param {string} canonical
 * @param {number} [size]
 * @returns {string}
 */
export function group(canonical, size = 4) {
  const groups = [];
  for (let i = 0; i < canonical.length; i += size) {
    groups.push(canonical.slice(i, i + size));
  }
  return groups.join("-");
}
