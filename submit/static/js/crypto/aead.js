/**
 * AES-256-GCM with a 16-byte tag appended, on WebCrypto.
 *
 * Opening returns null on an authentication failure instead of throwing, so that each
 * caller raises its own DecryptionFailed with a message naming what failed to open.
 *
 * @module crypto/aead
 */

import { requireBytes } from "./bytes.js";

export const KEY_SIZE = 32;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;

/**
 * Import a raw AES-256 key for this module's seal and open. Not extractable: once
 * imported, page script cannot read the key back out of the CryptoKey.
 *
 * @param {Uint8Array} raw - 32 bytes
 * @returns {Promise<CryptoKey>}
 */
export async function importAesKey(raw) {
  requireBytes(raw, "an AES-256 key", KEY_SIZE);
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/**
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce - 12 bytes
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} aad
 * @returns {Promise<Uint8Array>} ciphertext || tag
 */
export async function aesGcmSeal(key, nonce, plaintext, aad) {
  requireBytes(nonce, "an AES-GCM nonce", NONCE_SIZE);
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  return new Uint8Array(await crypto.subtle.encrypt(params, key, plaintext));
}

/**
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce - 12 bytes
 * @param {Uint8Array} sealed - ciphertext || tag
 * @param {Uint8Array} aad
 * @returns {Promise<Uint8Array | null>} the plaintext, or null if authentication failed
 */
export async function aesGcmOpen(key, nonce, sealed, aad) {
  requireBytes(nonce, "an AES-GCM nonce", NONCE_SIZE);
  if (sealed.length < TAG_SIZE) {
    return null;
  }
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params, key, sealed));
  } catch (error) {
    // WebCrypto reports a bad tag as OperationError; anything else is a real bug.
    if (error instanceof DOMException && error.name === "OperationError") {
      return null;
    }
    throw error;
  }
}
