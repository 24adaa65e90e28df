/**
 * Ed25519 signing keys (docs/crypto.md §13.2), derived from the X25519 private keys people
 * already hold, so nobody keeps a second secret:
 *
 * seed      = HKDF(x25519 private key (32 raw bytes), no salt, "minhbach/2/signing-key", 32)
 * signature = Ed25519-Sign(seed's key, "minhbach/2/signature" || covered bytes)
 *
 * Ed25519 is deterministic, so the vectors pin every signature. As crypto/signing.py.
 *
 * @module crypto/signing
 */

import { b64uDecode, concat, fromHex, requireBytes } from "./bytes.js";
import { BadSignature } from "./errors.js";
import { hkdf, label2 } from "./kdf.js";
import { X25519_KEY_SIZE } from "./x25519.js";

export const SEED_SIZE = 32;
export const VERIFYING_KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;

// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }:
// WebCrypto imports an Ed25519 seed only as PKCS#8 (RFC 8410) or as a JWK that needs the
// public key we are about to compute.
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const ALGORITHM = { name: "Ed25519" };
const SEED_INFO = label2("signing-key");
const SIGNATURE_LABEL = label2("signature");

/** @typedef {{privateKey: CryptoKey, publicKey: Uint8Array}} SigningKey  public: 32 raw bytes */

/**
 * The Ed25519 seed that belongs to an X25519 private key. For the reporter that is the
 * 32 HKDF bytes of §7.3 before clamping (FollowUpCode.reporterPrivateKey()).
 *
 * @param {Uint8Array} x25519PrivateKey - 32 raw bytes
 * @returns {Promise<Uint8Array>} 32 bytes; the caller clears them
 */
export async function signingSeed(x25519PrivateKey) {
  requireBytes(x25519PrivateKey, "an X25519 private key", X25519_KEY_SIZE);
  return hkdf(x25519PrivateKey, { info: SEED_INFO, length: SEED_SIZE });
}

/**
 * An Ed25519 key pair from its 32-byte seed (RFC 8032 §5.1.5).
 *
 * WebCrypto gives the public half of a private key only through an export, so the seed is
 * imported twice: once extractable, only to read the JWK's `x`, and once not extractable,
 * the key that is returned and signs.
 *
 * @param {Uint8Array} seed - 32 bytes
 * @returns {Promise<SigningKey>}
 */
export async function importSigningSeed(seed) {
  requireBytes(seed, "an Ed25519 seed", SEED_SIZE);
  const der = concat(PKCS8_PREFIX, seed);
  try {
    const exportable = await crypto.subtle.importKey("pkcs8", der, ALGORITHM, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", exportable);
    const publicKey = b64uDecode(/** @type {string} */ (jwk.x));
    const privateKey = await crypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
    return { privateKey, publicKey };
  } finally {
    der.fill(0); // the copy of the seed; the caller owns and clears `seed`
  }
}

/**
 * The signing key of an X25519 private key: what an author signs their records with.
 *
 * @param {Uint8Array} x25519PrivateKey - 32 raw bytes
 * @returns {Promise<SigningKey>} the private half is not extractable
 */
export async function signingKey(x25519PrivateKey) {
  const seed = await signingSeed(x25519PrivateKey);
  try {
    return await importSigningSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/**
 * Sign bytes under the protocol's label, so a signature made here can never be passed off
 * as one over anything else an Ed25519 key of the same person might sign.
 *
 * @param {CryptoKey} privateKey - an Ed25519 private key (SigningKey.privateKey)
 * @param {Uint8Array} signedBytes
 * @returns {Promise<Uint8Array>} 64 bytes
 */
export async function sign(privateKey, signedBytes) {
  if (
    !(privateKey instanceof CryptoKey) ||
    privateKey.algorithm.name !== ALGORITHM.name ||
    privateKey.type !== "private"
  ) {
    throw new TypeError("expected an Ed25519 private key");
  }
  requireBytes(signedBytes, "the signed bytes");
  const message = concat(SIGNATURE_LABEL, signedBytes);
  return new Uint8Array(await crypto.subtle.sign(ALGORITHM, privateKey, message));
}

/**
 * Check that `signature` is the key's signature over `signedBytes`.
 *
 * @param {Uint8Array} publicKey - the author's raw 32-byte verifying key
 * @param {Uint8Array} signedBytes
 * @param {Uint8Array} signature
 * @returns {Promise<void>}
 * @throws {BadSignature} for any signature that does not verify, whatever is wrong with it
 */
export async function verify(publicKey, signedBytes, signature) {
  requireBytes(publicKey, "an Ed25519 verifying key", VERIFYING_KEY_SIZE);
  requireBytes(signedBytes, "the signed bytes");
  requireBytes(signature, "a signature");
  const refused = new BadSignature("the signature does not verify with its author's key");
  /** @type {CryptoKey} */
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, ALGORITHM, false, ["verify"]);
  } catch (error) {
    // A stored key that is no curve point verifies nothing; any other failure (no Ed25519
    // in this browser) is not the record's fault and is passed on.
    if (error instanceof DOMException && error.name === "DataError") {
      throw refused;
    }
    throw error;
  }
  const message = concat(SIGNATURE_LABEL, signedBytes);
  if (
    signature.length !== SIGNATURE_SIZE ||
    !(await crypto.subtle.verify(ALGORITHM, key, signature, message))
  ) {
    throw refused;
  }
}
