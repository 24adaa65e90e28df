/**
 * Hashing and key derivation on WebCrypto: SHA-256, HMAC-SHA256, HKDF-SHA256 (RFC 5869)
 * and the protocol's labels (docs/crypto.md §3; version 2's in §13).
 *
 * @module crypto/kdf
 */

import { ascii, concat, requireBytes } from "./bytes.js";

export const PROTOCOL = "minhbach/1/";
export const PROTOCOL_2 = "minhbach/2/";
export const HASH_SIZE = 32;

// RFC 5869: an absent salt is HashLen zero bytes. WebCrypto needs the bytes spelled out,
// and refuses an empty HMAC key, which HMAC itself would pad to this same all-zero key.
const ZERO_SALT = new Uint8Array(HASH_SIZE);
const CONTEXT = /^[A-Za-z0-9-]{1,64}$/;

/**
 * "minhbach/1/" followed by the parts joined with "/"; parts are plain ASCII.
 *
 * @param {...string} parts
 * @returns {Uint8Array}
 */
export function label(...parts) {
  return ascii(PROTOCOL + parts.join("/"));
}

/**
 * "minhbach/2/" followed by the parts joined with "/": the labels version 2 added
 * (signing keys, signatures, bound records, the transcript), so that nothing derived or
 * signed under version 2 can be mistaken for a version 1 value.
 *
 * @param {...string} parts
 * @returns {Uint8Array}
 */
export function label2(...parts) {
  return ascii(PROTOCOL_2 + parts.join("/"));
}

/**
 * Contexts are case ids (UUIDs) or fingerprints without dashes: 1–64 characters of
 * A–Z a–z 0–9 and "-", so "/" can never make two labels collide.
 *
 * @param {string} context
 * @returns {Uint8Array} the context's ASCII bytes
 * @throws {RangeError} for anything else
 */
export function checkContext(context) {
  if (typeof context !== "string" || !CONTEXT.test(context)) {
    throw new RangeError("a context is 1 to 64 characters of A-Z, a-z, 0-9 and '-'");
  }
  return ascii(context);
}

/**
 * @param {Uint8Array} data
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/**
 * @param {Uint8Array} key - any length; empty means the all-zero key
 * @param {Uint8Array} data
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function hmacSha256(key, data) {
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    key.length === 0 ? ZERO_SALT : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, data));
}

/**
 * HKDF-Extract (RFC 5869 §2.2).
 *
 * @param {Uint8Array | null} salt - null or empty means the all-zero salt
 * @param {Uint8Array} ikm
 * @returns {Promise<Uint8Array>} the 32-byte pseudorandom key
 */
export async function hkdfExtract(salt, ikm) {
  return hmacSha256(salt ?? ZERO_SALT, ikm);
}

/**
 * HKDF-Expand (RFC 5869 §2.3), on HMAC because WebCrypto's HKDF always extracts first
 * and HPKE's LabeledExpand needs the expand step alone.
 *
 * @param {Uint8Array} prk
 * @param {Uint8Array} info
 * @param {number} length - at most 255 × 32 bytes
 * @returns {Promise<Uint8Array>}
 */
export async function hkdfExpand(prk, info, length) {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_SIZE) {
    throw new RangeError("HKDF output length out of range");
  }
  const out = new Uint8Array(length);
  let block = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++, offset += HASH_SIZE) {
    block = await hmacSha256(prk, concat(block, info, new Uint8Array([i])));
    out.set(block.subarray(0, Math.min(HASH_SIZE, length - offset)), offset);
  }
  return out;
}

/**
 * HKDF-SHA256 in one call, on WebCrypto's own HKDF.
 *
 * @param {Uint8Array} ikm
 * @param {{salt?: Uint8Array | null, info: Uint8Array, length?: number}} options -
 *   an absent or null salt is the RFC's all-zero salt; length defaults to 32
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(ikm, { salt = null, info, length = HASH_SIZE }) {
  requireBytes(ikm, "HKDF input key material");
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt ?? ZERO_SALT, info },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}
