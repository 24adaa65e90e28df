/**
 * JSON exactly as the Python side writes it:
 * json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).
 *
 * Byte-identical output matters for test vectors and for anything that hashes a record
 * later. Where JavaScript and Python would write a value differently, it is refused
 * rather than written one way:
 * - non-integral numbers and integers beyond 2^53 (repr(float) and JavaScript's number
 *   formatting differ, e.g. 1e-05 vs 0.00001, 1.0 vs 1);
 * - lone surrogates (Python cannot encode them as UTF-8; TextEncoder makes U+FFFD);
 * - undefined, functions, symbols, bigints, and objects that are not plain (Date, Map,
 *   class instances), which JSON.stringify would drop or convert silently.
 *
 * @module crypto/json
 */

import { isWellFormed, utf8Decode, utf8Encode } from "./bytes.js";

/**
 * Compare strings by code point, as Python sorts str keys. Array.prototype.sort's
 * default compares UTF-16 code units, which orders U+E000–U+FFFF after astral characters.
 *
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function compareCodePoints(a, b) {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) {
      return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    }
    const diff =
      /** @type {number} */ (x.value.codePointAt(0)) -
      /** @type {number} */ (y.value.codePointAt(0));
    if (diff !== 0) {
      return diff;
    }
  }
}

/**
 * A string literal. JSON.stringify escapes exactly what Python's encoder escapes with
 * ensure_ascii=False (", \, \b \f \n \r \t, other controls as lower-case \u00XX) and
 * leaves the rest, U+2028 and U+2029 included, as they are.
 *
 * @param {string} text
 * @returns {string}
 */
function stringLiteral(text) {
  if (!isWellFormed(text)) {
    throw new TypeError("a JSON string contains a lone surrogate");
  }
  return JSON.stringify(text);
}

/**
 * @param {unknown} value
 * @returns {boolean}
 */
function isPlainObject(value) {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function serialise(value) {
  if (value === null || value === true || value === false) {
    return String(value);
  }
  if (typeof value === "string") {
    return stringLiteral(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError("only integers up to 2^53 are written to JSON");
    }
    return String(value); // -0 is written 0, as Python writes int(-0.0)
  }
  if (Array.isArray(value)) {
    return `[${value.map(serialise).join(",")}]`;
  }
  if (isPlainObject(value)) {
    const object = /** @type {Record<string, unknown>} */ (value);
    const keys = Object.keys(object).sort(compareCodePoints);
    return `{${keys.map((key) => `${stringLiteral(key)}:${serialise(object[key])}`).join(",")}}`;
  }
  throw new TypeError(`a ${typeof value} cannot be written to JSON`);
}

/**
 * The canonical text of a JSON document.
 *
 * @param {unknown} document
 * @returns {string}
 * @throws {TypeError} for values the two implementations would write differently
 */
export function canonicalJson(document) {
  return serialise(document);
}

/**
 * The canonical UTF-8 bytes of a JSON document.
 *
 * @param {unknown} document
 * @returns {Uint8Array}
 */
export function encodeJson(document) {
  return utf8Encode(canonicalJson(document));
}

/**
 * Parse strict UTF-8 JSON. A leading byte-order mark is an error, as in Python.
 *
 * @param {Uint8Array} bytes
 * @returns {unknown}
 * @throws {TypeError | SyntaxError}
 */
export function decodeJson(bytes) {
  return JSON.parse(utf8Decode(bytes));
}
