/**
 * X25519 keys on WebCrypto: raw 32-byte keys in, CryptoKeys inside, raw bytes out.
 *
 * WebCrypto cannot import a raw private key, so the scalar is wrapped in the fixed
 * PKCS#8 prefix of RFC 8410. The public half of a private key is computed as
 * X25519(sk, 9) (RFC 7748 §6.1), which also works for non-extractable keys.
 *
 * @module crypto/x25519
 */

import { concat, fromHex, isZero, requireBytes } from "./bytes.js";

export const X25519_KEY_SIZE = 32;

/** @typedef {Uint8Array | CryptoKey} PrivateKeyInput  raw 32-byte scalar or X25519 CryptoKey */

// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING (32) } }
const PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");
// The base point u = 9, little-endian.
const BASE_POINT = concat(new Uint8Array([9]), new Uint8Array(31));
const ALGORITHM = { name: "X25519" };

/**
 * @param {Uint8Array} raw - a 32-byte X25519 scalar
 * @param {boolean} [extractable] - false unless a test needs to look inside
 * @returns {Promise<CryptoKey>}
 */
export async function importPrivateKey(raw, extractable = false) {
  requireBytes(raw, "an X25519 private key", X25519_KEY_SIZE);
  const der = concat(PKCS8_PREFIX, raw);
  try {
    return await crypto.subtle.importKey("pkcs8", der, ALGORITHM, extractable, ["deriveBits"]);
  } finally {
    der.fill(0); // the copy of the scalar; the caller owns and clears `raw`
  }
}

/**
 * @param {Uint8Array} raw - a 32-byte X25519 public key (u-coordinate)
 * @returns {Promise<CryptoKey>}
 */
export async function importPublicKey(raw) {
  requireBytes(raw, "an X25519 public key", X25519_KEY_SIZE);
  return crypto.subtle.importKey("raw", raw, ALGORITHM, true, []);
}

/**
 * @param {PrivateKeyInput} privateKey
 * @returns {Promise<CryptoKey>}
 */
export async function toPrivateCryptoKey(privateKey) {
  if (privateKey instanceof CryptoKey) {
    if (privateKey.algorithm.name !== "X25519" || privateKey.type !== "private") {
      throw new TypeError("expected an X25519 private key");
    }
    return privateKey;
  }
  return importPrivateKey(privateKey);
}

/**
 * A fresh key pair from the browser's CSPRNG; the private half is not extractable.
 *
 * @returns {Promise<{privateKey: CryptoKey, publicKey: Uint8Array}>}
 */
export async function generateKeyPair() {
  const pair = /** @type {CryptoKeyPair} */ (
    await crypto.subtle.generateKey(ALGORITHM, false, ["deriveBits"])
  );
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/**
 * X25519(sk, pk). Returns null for an all-zero result (pk of low order), which
 * Chromium reports as an OperationError and other engines may return as zeros: the
 * caller decides which error that is.
 *
 * @param {PrivateKeyInput} privateKey
 * @param {Uint8Array} publicKey - 32 bytes
 * @returns {Promise<Uint8Array | null>}
 */
export async function x25519(privateKey, publicKey) {
  const sk = await toPrivateCryptoKey(privateKey);
  const pk = await importPublicKey(publicKey);
  let shared;
  try {
    shared = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: pk }, sk, 256),
    );
  } catch (error) {
    if (error instanceof DOMException && error.name === "OperationError") {
      return null;
    }
    throw error;
  }
  return isZero(shared) ? null : shared;
}

/**
 * The public key of a private key: X25519(sk, 9).
 *
 * @param {PrivateKeyInput} privateKey
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function publicKeyOf(privateKey) {
  const publicKey = await x25519(privateKey, BASE_POINT);
  if (publicKey === null) {
    throw new Error("X25519 returned zero for the base point"); // impossible for a real key
  }
  return publicKey;
}
