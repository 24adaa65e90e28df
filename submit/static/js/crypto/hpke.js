/**
 * HPKE base mode (RFC 9180) for the one suite the protocol uses:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (docs/crypto.md §4).
 *
 * sealBase/openBase are the single-shot API (sequence 0). The context functions exist
 * so that tests can check every intermediate value against the RFC's vector.
 *
 * @module crypto/hpke
 */

import { ascii, concat, requireBytes, u16 } from "./bytes.js";
import { aesGcmOpen, aesGcmSeal, importAesKey, KEY_SIZE, NONCE_SIZE } from "./aead.js";
import { DecryptionFailed } from "./errors.js";
import { hkdfExpand, hmacSha256, HASH_SIZE } from "./kdf.js";
import {
  generateKeyPair,
  publicKeyOf,
  toPrivateCryptoKey,
  x25519,
  X25519_KEY_SIZE,
} from "./x25519.js";

/** @typedef {import("./x25519.js").PrivateKeyInput} PrivateKeyInput */

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0002;
const KEM_SUITE = concat(ascii("KEM"), u16(KEM_ID));
const HPKE_SUITE = concat(ascii("HPKE"), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID));
const VERSION_LABEL = ascii("HPKE-v1");
const MODE_BASE = 0x00;
const EMPTY = new Uint8Array(0);

/** Size of the encapsulated key (an X25519 public key). */
export const ENC_SIZE = X25519_KEY_SIZE;

/**
 * LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite || label || ikm).
 *
 * @param {Uint8Array} suite
 * @param {Uint8Array} salt - empty means the all-zero salt
 * @param {string} label
 * @param {Uint8Array} ikm
 * @returns {Promise<Uint8Array>}
 */
export async function labeledExtract(suite, salt, label, ikm) {
  return hmacSha256(salt, concat(VERSION_LABEL, suite, ascii(label), ikm));
}

/**
 * LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, u16(L) || "HPKE-v1" || suite
 * || label || info, L).
 *
 * @param {Uint8Array} suite
 * @param {Uint8Array} prk
 * @param {string} label
 * @param {Uint8Array} info
 * @param {number} length
 * @returns {Promise<Uint8Array>}
 */
export async function labeledExpand(suite, prk, label, info, length) {
  return hkdfExpand(prk, concat(u16(length), VERSION_LABEL, suite, ascii(label), info), length);
}

/**
 * DeriveKeyPair for X25519 (RFC 9180 §7.1.3): only needed to check the RFC's vector.
 *
 * @param {Uint8Array} ikm
 * @returns {Promise<Uint8Array>} the 32-byte private key
 */
export async function deriveKeyPair(ikm) {
  const prk = await labeledExtract(KEM_SUITE, EMPTY, "dkp_prk", ikm);
  return labeledExpand(KEM_SUITE, prk, "sk", EMPTY, X25519_KEY_SIZE);
}

/**
 * ExtractAndExpand of DHKEM: the KEM shared secret from a DH output.
 *
 * @param {Uint8Array} dh
 * @param {Uint8Array} enc
 * @param {Uint8Array} pkR
 * @returns {Promise<Uint8Array>}
 */
async function kemSharedSecret(dh, enc, pkR) {
  const eaePrk = await labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh);
  return labeledExpand(KEM_SUITE, eaePrk, "shared_secret", concat(enc, pkR), HASH_SIZE);
}

/**
 * @typedef {object} KeySchedule
 * @property {Uint8Array} keyScheduleContext
 * @property {Uint8Array} secret
 * @property {Uint8Array} key - the AEAD key
 * @property {Uint8Array} baseNonce
 */

/**
 * KeySchedule for mode_base with no PSK (RFC 9180 §5.1).
 *
 * @param {Uint8Array} sharedSecret
 * @param {Uint8Array} info
 * @returns {Promise<KeySchedule>}
 */
async function keySchedule(sharedSecret, info) {
  const pskIdHash = await labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = await labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const keyScheduleContext = concat(new Uint8Array([MODE_BASE]), pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);
  const key = await labeledExpand(HPKE_SUITE, secret, "key", keyScheduleContext, KEY_SIZE);
  const baseNonce = await labeledExpand(
    HPKE_SUITE,
    secret,
    "base_nonce",
    keyScheduleContext,
    NONCE_SIZE,
  );
  return { keyScheduleContext, secret, key, baseNonce };
}

/**
 * base_nonce XOR I2OSP(sequence, 12).
 *
 * @param {Uint8Array} baseNonce
 * @param {number} sequence
 * @returns {Uint8Array}
 */
function sequenceNonce(baseNonce, sequence) {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new RangeError("HPKE sequence number out of range");
  }
  const nonce = baseNonce.slice();
  for (let i = NONCE_SIZE - 1, rest = sequence; rest > 0; i--, rest = Math.floor(rest / 256)) {
    nonce[i] ^= rest % 256;
  }
  return nonce;
}

/**
 * @typedef {KeySchedule & {
 *   enc: Uint8Array,
 *   sharedSecret: Uint8Array,
 *   seal: (sequence: number, plaintext: Uint8Array, aad?: Uint8Array) => Promise<Uint8Array>,
 * }} SenderContext
 */

/**
 * SetupBaseS (RFC 9180 §5.1.1) with an optional fixed ephemeral key.
 *
 * @param {Uint8Array} pkR - the recipient's 32-byte public key
 * @param {Uint8Array} info
 * @param {{ephemeralPrivateKey?: Uint8Array}} [options] - a fixed ephemeral key is for
 *   test vectors only; leave it out and a fresh non-extractable key is generated
 * @returns {Promise<SenderContext>}
 * @throws {RangeError} when pkR is a low-order point (no shared secret exists)
 */
export async function setupBaseSender(pkR, info, { ephemeralPrivateKey } = {}) {
  requireBytes(pkR, "an X25519 public key", X25519_KEY_SIZE);
  let skE;
  let enc;
  if (ephemeralPrivateKey === undefined) {
    ({ privateKey: skE, publicKey: enc } = await generateKeyPair());
  } else {
    skE = await toPrivateCryptoKey(ephemeralPrivateKey);
    enc = await publicKeyOf(skE);
  }
  const dh = await x25519(skE, pkR);
  if (dh === null) {
    // As Python's cryptography, which raises ValueError: the recipient key is unusable.
    throw new RangeError("the recipient public key is not a usable X25519 key");
  }
  const sharedSecret = await kemSharedSecret(dh, enc, pkR);
  const schedule = await keySchedule(sharedSecret, info);
  const aesKey = await importAesKey(schedule.key);
  return {
    enc,
    sharedSecret,
    ...schedule,
    seal: (sequence, plaintext, aad = EMPTY) =>
      aesGcmSeal(aesKey, sequenceNonce(schedule.baseNonce, sequence), plaintext, aad),
  };
}

/**
 * @typedef {{
 *   open: (sequence: number, sealed: Uint8Array, aad?: Uint8Array) => Promise<Uint8Array>,
 * }} ReceiverContext
 */

/**
 * SetupBaseR (RFC 9180 §5.1.1).
 *
 * @param {Uint8Array} enc - 32 bytes
 * @param {PrivateKeyInput} skR
 * @param {Uint8Array} info
 * @returns {Promise<ReceiverContext>} whose open throws DecryptionFailed
 * @throws {DecryptionFailed} for a low-order enc (an all-zero DH output)
 */
export async function setupBaseReceiver(enc, skR, info) {
  requireBytes(enc, "an HPKE encapsulated key", ENC_SIZE);
  const sk = await toPrivateCryptoKey(skR);
  const dh = await x25519(sk, enc);
  if (dh === null) {
    throw new DecryptionFailed("the encapsulated key is of low order");
  }
  const sharedSecret = await kemSharedSecret(dh, enc, await publicKeyOf(sk));
  const schedule = await keySchedule(sharedSecret, info);
  const aesKey = await importAesKey(schedule.key);
  return {
    open: async (sequence, sealed, aad = EMPTY) => {
      const nonce = sequenceNonce(schedule.baseNonce, sequence);
      const plaintext = await aesGcmOpen(aesKey, nonce, sealed, aad);
      if (plaintext === null) {
        throw new DecryptionFailed("the HPKE ciphertext does not open with this key");
      }
      return plaintext;
    },
  };
}

/**
 * Single-shot SealBase: enc || ct.
 *
 * @param {Uint8Array} pkR
 * @param {Uint8Array} info
 * @param {Uint8Array} plaintext
 * @param {{ephemeralPrivateKey?: Uint8Array, aad?: Uint8Array}} [options] - the
 *   ephemeral key is for test vectors only
 * @returns {Promise<Uint8Array>}
 */
export async function sealBase(pkR, info, plaintext, { ephemeralPrivateKey, aad = EMPTY } = {}) {
  const context = await setupBaseSender(pkR, info, { ephemeralPrivateKey });
  return concat(context.enc, await context.seal(0, plaintext, aad));
}

/**
 * Single-shot OpenBase of enc || ct.
 *
 * @param {Uint8Array} encAndCiphertext
 * @param {PrivateKeyInput} skR
 * @param {Uint8Array} info
 * @param {{aad?: Uint8Array}} [options]
 * @returns {Promise<Uint8Array>}
 * @throws {DecryptionFailed}
 */
export async function openBase(encAndCiphertext, skR, info, { aad = EMPTY } = {}) {
  requireBytes(encAndCiphertext, "an HPKE ciphertext");
  if (encAndCiphertext.length < ENC_SIZE) {
    throw new DecryptionFailed("the HPKE ciphertext is too short");
  }
  const enc = encAndCiphertext.subarray(0, ENC_SIZE);
  const context = await setupBaseReceiver(enc, skR, info);
  return context.open(0, encAndCiphertext.subarray(ENC_SIZE), aad);
}
