/**
 * Byte helpers: hex, URL-safe base64, UTF-8, concatenation, integers, comparison.
 *
 * Every decoder here is strict: the protocol's byte strings have exactly one spelling,
 * as in crypto/encoding.py.
 *
 * @module crypto/bytes
 */

import { MalformedEnvelope } from "./errors.js";

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: keep a leading U+FEFF, as
// Python's bytes.decode("utf-8") does, instead of silently dropping it.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64U_VALUE = new Map([...B64U].map((c, i) => [c, i]));

/**
 * Refuse anything but a Uint8Array (of the given length, if any). Arguments of the wrong
 * shape are programming errors, like Python's ValueError, not malformed envelopes.
 *
 * @param {unknown} value
 * @param {string} what - how to name the value in the error message
 * @param {number} [length]
 * @returns {Uint8Array}
 */
export function requireBytes(value, what, length) {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes`);
  }
  return value;
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} lower-case hex
 */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @param {string} text - an even number of hex digits, either case
 * @returns {Uint8Array}
 */
export function fromHex(text) {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new RangeError("not a hex string");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/**
 * @param {...Uint8Array} parts
 * @returns {Uint8Array} a new array holding the parts one after another
 */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * @param {number} value - 0 … 2^16 - 1
 * @returns {Uint8Array} 2 bytes, big-endian
 */
export function u16(value) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError("u16 out of range");
  }
  return new Uint8Array([value >>> 8, value & 0xff]);
}

/**
 * @param {number} value - 0 … 2^32 - 1
 * @returns {Uint8Array} 4 bytes, big-endian
 */
export function u32(value) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError("u32 out of range");
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @returns {number} the big-endian u32 at offset
 */
export function readU32(bytes, offset) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/**
 * Compare without an early exit, so timing does not reveal where two secrets differ.
 *
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function equal(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= a[i] ^ b[i];
  }
  return diff === 0;
}

/**
 * @param {Uint8Array} bytes
 * @returns {boolean} true when every byte is zero (also for an empty array)
 */
export function isZero(bytes) {
  let acc = 0;
  for (const b of bytes) {
    acc |= b;
  }
  return acc === 0;
}

/**
 * @param {number} size
 * @returns {Uint8Array} size bytes from the browser's CSPRNG
 */
export function randomBytes(size) {
  const out = new Uint8Array(size);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(out.subarray(offset, offset + 65536));
  }
  return out;
}

/**
 * @param {string} text
 * @returns {boolean} false when the string holds a lone UTF-16 surrogate
 */
export function isWellFormed(text) {
  // A loop rather than String.prototype.isWellFormed or a look-behind regex: both are
  // too recent for some browsers this page must at least load in.
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        return false;
      }
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * UTF-8 bytes of a string. A lone surrogate is refused: TextEncoder would silently turn
 * it into U+FFFD, where Python's str.encode("utf-8") raises, and the two would disagree.
 *
 * @param {string} text
 * @returns {Uint8Array}
 */
export function utf8Encode(text) {
  if (!isWellFormed(text)) {
    throw new TypeError("the text contains a lone surrogate and has no UTF-8 form");
  }
  return encoder.encode(text);
}

/**
 * Strict UTF-8 decoding: throws TypeError on invalid input.
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function utf8Decode(bytes) {
  return decoder.decode(bytes);
}

/**
 * ASCII bytes of a string that must be ASCII (labels, canonical codes, contexts).
 *
 * @param {string} text
 * @returns {Uint8Array}
 */
export function ascii(text) {
  if (!/^[\x00-\x7f]*$/.test(text)) {
    throw new RangeError("expected ASCII text");
  }
  return encoder.encode(text);
}

/**
 * URL-safe base64 without padding (RFC 4648 §5).
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function b64uEncode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) {
      out += B64U[(n >>> (18 - 6 * j)) & 63];
    }
  }
  return out;
}

/**
 * Strict inverse of b64uEncode: refuses padding, other alphabets, impossible lengths and
 * non-zero trailing bits (MalformedEnvelope), so each byte string has one spelling.
 *
 * @param {string} text
 * @returns {Uint8Array}
 */
export function b64uDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new MalformedEnvelope("not URL-safe base64 without padding");
  }
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const c of text) {
    value = (value << 6) | /** @type {number} */ (B64U_VALUE.get(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >>> bits) & 0xff;
      value &= (1 << bits) - 1;
    }
  }
  // What is left over is padding bits: an encoder always leaves them zero.
  if (value !== 0 || b64uEncode(out) !== text) {
    throw new MalformedEnvelope("non-canonical base64");
  }
  return out;
}
