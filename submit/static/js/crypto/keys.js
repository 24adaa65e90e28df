/**
 * Keys and identifiers (docs/crypto.md §3): symmetric keys, case ids, fingerprints.
 *
 * @module crypto/keys
 */

import { KEY_SIZE } from "./aead.js";
import { crockfordEncode, group } from "./base32.js";
import { concat, randomBytes, requireBytes } from "./bytes.js";
import { label, sha256 } from "./kdf.js";
import { X25519_KEY_SIZE } from "./x25519.js";

const FINGERPRINT_SIZE = 20;

/** @returns {Uint8Array} a fresh 256-bit key (case key, identity key) */
export function randomKey() {
  return randomBytes(KEY_SIZE);
}

/** @returns {string} a fresh case id: a random lower-case UUID */
export function newCaseId() {
  return crypto.randomUUID();
}

/**
 * SHA-256("minhbach/1/fingerprint" || pk)[0:20] in Crockford base32, groups of four:
 * what a person compares to be sure a public key is the inspector's.
 *
 * @param {Uint8Array} publicKey - 32 bytes
 * @returns {Promise<string>} 8 dash-separated groups of 4 characters
 */
export async function fingerprint(publicKey) {
  requireBytes(publicKey, "an X25519 public key", X25519_KEY_SIZE);
  const digest = await sha256(concat(label("fingerprint"), publicKey));
  return group(crockfordEncode(digest.subarray(0, FINGERPRINT_SIZE)));
}
