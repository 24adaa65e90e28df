/**
 * Key wraps (docs/crypto.md §4): one 32-byte key sealed to one X25519 recipient with
 * HPKE. The HPKE info binds protocol version, purpose and context (case id or
 * fingerprint), so a wrap opened for another purpose or case fails authentication.
 *
 * WRAP = 0x01 || 0x01 || enc (32) || ct (48): 82 bytes.
 *
 * @module crypto/wrapping
 */

import { KEY_SIZE, TAG_SIZE } from "./aead.js";
import { concat, requireBytes } from "./bytes.js";
import { checkHeader, header, HEADER_SIZE, Kind } from "./envelope.js";
import { DecryptionFailed, MalformedEnvelope } from "./errors.js";
import { ENC_SIZE, openBase, sealBase } from "./hpke.js";
import { checkContext, label } from "./kdf.js";

/** @typedef {import("./x25519.js").PrivateKeyInput} PrivateKeyInput */

/**
 * What a wrapped key is for.
 *
 * @readonly
 * @enum {string}
 */
export const Purpose = Object.freeze({
  CASE_KEY: "case-key",
  IDENTITY_KEY: "identity-key",
  UNIT_KEY: "unit-key",
  INSPECTOR_KEY: "inspector-key",
  BACKUP_KEY: "backup-key",
  RECORD_KEY: "record-key",
});

export const WRAP_SIZE = HEADER_SIZE + ENC_SIZE + KEY_SIZE + TAG_SIZE;

/** @type {Set<string>} */
const PURPOSES = new Set(Object.values(Purpose));

/**
 * "minhbach/1/wrap/<purpose>/<context>".
 *
 * @param {string} purpose - a Purpose value
 * @param {string} context
 * @returns {Uint8Array}
 */
export function wrapInfo(purpose, context) {
  if (!PURPOSES.has(purpose)) {
    throw new RangeError("unknown wrap purpose");
  }
  checkContext(context);
  return label("wrap", purpose, context);
}

/**
 * Seal a 32-byte key to a recipient.
 *
 * @param {Uint8Array} key - 32 bytes
 * @param {Uint8Array} recipientPublicKey - the recipient's raw 32-byte X25519 key
 * @param {string} purpose - a Purpose value
 * @param {string} context - case id, or fingerprint without dashes
 * @param {{ephemeralPrivateKey?: Uint8Array}} [options] - for test vectors only
 * @returns {Promise<Uint8Array>} the 82-byte envelope
 */
export async function wrap(
  key,
  recipientPublicKey,
  purpose,
  context,
  { ephemeralPrivateKey } = {},
) {
  requireBytes(key, "a wrapped key", KEY_SIZE);
  const info = wrapInfo(purpose, context);
  const sealed = await sealBase(recipientPublicKey, info, key, { ephemeralPrivateKey });
  return concat(header(Kind.WRAP), sealed);
}

/**
 * Open a wrap addressed to privateKey for this purpose and context.
 *
 * @param {Uint8Array} blob - the envelope
 * @param {PrivateKeyInput} privateKey
 * @param {string} purpose - a Purpose value
 * @param {string} context
 * @returns {Promise<Uint8Array>} the 32-byte key
 * @throws {UnsupportedVersion | MalformedEnvelope | DecryptionFailed}
 */
export async function unwrap(blob, privateKey, purpose, context) {
  requireBytes(blob, "a key wrap");
  checkHeader(blob, Kind.WRAP);
  if (blob.length !== WRAP_SIZE) {
    throw new MalformedEnvelope("a key wrap is 82 bytes");
  }
  const info = wrapInfo(purpose, context);
  try {
    return await openBase(blob.subarray(HEADER_SIZE), privateKey, info);
  } catch (error) {
    if (error instanceof DecryptionFailed) {
      // One message whatever failed inside HPKE: the reason is never "for you, but…".
      throw new DecryptionFailed("the key wrap does not open with this key and context");
    }
    throw error;
  }
}
