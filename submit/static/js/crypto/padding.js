/**
 * Size buckets, so that ciphertext lengths say little about what they hold
 * (docs/crypto.md §5 and §6).
 *
 * Arithmetic stays in exact doubles rather than 32-bit bitwise operators, so sizes
 * beyond 2 GiB come out right (up to 2^53).
 *
 * @module crypto/padding
 */

import { concat, isZero, readU32, u32 } from "./bytes.js";
import { MalformedEnvelope } from "./errors.js";

export const RECORD_MIN = 1024;
export const FILE_MIN = 4096;
const LENGTH_SIZE = 4;

/**
 * @param {number} n - a non-negative safe integer
 * @returns {number} the number of bits needed to write n (0 for 0)
 */
function bitLength(n) {
  let bits = 0;
  for (let power = 1; power <= n; power *= 2) {
    bits++;
  }
  return bits;
}

/**
 * @param {number} n
 */
function requireSize(n) {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError("a size is a non-negative safe integer");
  }
}

/**
 * max(1024, the smallest power of two >= length).
 *
 * @param {number} length
 * @returns {number}
 */
export function recordBucket(length) {
  requireSize(length);
  return Math.max(RECORD_MIN, 2 ** bitLength(Math.max(0, length - 1)));
}

/**
 * Padmé (Nikitin et al., PURBs, 2019): at most 12% overhead, O(log log n) leakage.
 *
 * @param {number} length
 * @returns {number}
 */
export function padme(length) {
  requireSize(length);
  if (length < 2) {
    return length;
  }
  const exponent = bitLength(length) - 1;
  const sizeBits = bitLength(exponent);
  const step = 2 ** (exponent - sizeBits); // (L + m) & ~m with m = step - 1
  return Math.ceil(length / step) * step;
}

/**
 * @param {number} length - the file's size
 * @returns {number} padme(max(4096, length))
 */
export function fileBucket(length) {
  requireSize(length);
  return padme(Math.max(FILE_MIN, length));
}

/**
 * u32 big-endian length, the data, then zeros up to the record bucket.
 *
 * @param {Uint8Array} data
 * @returns {Uint8Array}
 */
export function padRecord(data) {
  const framed = concat(u32(data.length), data);
  const padded = new Uint8Array(recordBucket(framed.length));
  padded.set(framed);
  return padded;
}

/**
 * Inverse of padRecord, refusing anything but the canonical padding.
 *
 * @param {Uint8Array} padded
 * @returns {Uint8Array}
 * @throws {MalformedEnvelope}
 */
export function unpadRecord(padded) {
  if (padded.length < LENGTH_SIZE) {
    throw new MalformedEnvelope("padded record too short");
  }
  const end = LENGTH_SIZE + readU32(padded, 0);
  if (end > padded.length || padded.length !== recordBucket(end) || !isZero(padded.subarray(end))) {
    throw new MalformedEnvelope("record padding is not canonical");
  }
  return padded.slice(LENGTH_SIZE, end);
}
