/**
 * Sealed records (docs/crypto.md §5): report, identity, message, note, file metadata.
 *
 * record = 0x01 || kind || salt (32) || AES-GCM(k, n, padded, aad = 0x01 || kind)
 * k || n = HKDF(key, salt, "minhbach/1/<label>/<case id>", 44)
 *
 * A fresh salt gives every record its own key and nonce; the label and case id in the
 * HKDF info stop a record from being read as another kind or in another case.
 *
 * @module crypto/records
 */

import { aesGcmOpen, aesGcmSeal, importAesKey, KEY_SIZE, NONCE_SIZE, TAG_SIZE } from "./aead.js";
import { concat, randomBytes, requireBytes } from "./bytes.js";
import { checkHeader, header, HEADER_SIZE, Kind, VERSION, VERSION_2 } from "./envelope.js";
import { DecryptionFailed, MalformedEnvelope } from "./errors.js";
import { decodeJson, encodeJson } from "./json.js";
import { checkContext, hkdf, label, label2 } from "./kdf.js";
import { padRecord, unpadRecord } from "./padding.js";

export const SALT_SIZE = 32;

/**
 * The HKDF label of each record kind.
 *
 * @type {Map<number, string>}
 */
export const RECORD_LABELS = new Map([
  [Kind.REPORT, "report"],
  [Kind.IDENTITY, "identity"],
  [Kind.MESSAGE, "message"],
  [Kind.FILE_META, "file-meta"],
  [Kind.NOTE, "note"],
]);

/**
 * @param {number} kind
 * @returns {string} the kind's HKDF label, also used to name it in messages
 * @throws {RangeError} for a kind that is not a sealed record
 */
export function recordLabel(kind) {
  const name = RECORD_LABELS.get(kind);
  if (name === undefined) {
    throw new RangeError("not a record kind");
  }
  return name;
}

/**
 * A record's AES key and nonce. Version 2 (§13.4) derives them exactly as version 1 does,
 * under its own label, so a record cannot be opened as the other version.
 *
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {string} caseId
 * @param {Uint8Array} salt
 * @param {number} [version] - VERSION or VERSION_2
 * @returns {Promise<{aesKey: CryptoKey, nonce: Uint8Array}>}
 */
export async function keyAndNonce(key, kind, caseId, salt, version = VERSION) {
  requireBytes(key, "a record key", KEY_SIZE);
  checkContext(caseId);
  if (version !== VERSION && version !== VERSION_2) {
    throw new RangeError("records have versions 1 and 2");
  }
  const okm = await hkdf(key, {
    salt,
    info: (version === VERSION ? label : label2)(recordLabel(kind), caseId),
    length: KEY_SIZE + NONCE_SIZE,
  });
  const aesKey = await importAesKey(okm.subarray(0, KEY_SIZE));
  const nonce = okm.slice(KEY_SIZE);
  okm.fill(0); // the raw AES key now lives only inside the non-extractable CryptoKey
  return { aesKey, nonce };
}

/**
 * Encrypt one record.
 *
 * @param {Uint8Array} key - the 32-byte case or identity key
 * @param {number} kind - Kind.REPORT, IDENTITY, MESSAGE, FILE_META or NOTE
 * @param {string} caseId
 * @param {Uint8Array} plaintext
 * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
 * @returns {Promise<Uint8Array>} the envelope
 */
export async function seal(key, kind, caseId, plaintext, { salt = randomBytes(SALT_SIZE) } = {}) {
  requireBytes(salt, "a record salt", SALT_SIZE);
  requireBytes(plaintext, "a record's plaintext");
  const { aesKey, nonce } = await keyAndNonce(key, kind, caseId, salt);
  const head = header(kind);
  return concat(head, salt, await aesGcmSeal(aesKey, nonce, padRecord(plaintext), head));
}

/**
 * Decrypt one record of the given kind; never returns unauthenticated data.
 *
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {string} caseId
 * @param {Uint8Array} blob - the envelope
 * @returns {Promise<Uint8Array>}
 * @throws {UnsupportedVersion | MalformedEnvelope | DecryptionFailed}
 */
export async function open(key, kind, caseId, blob) {
  requireBytes(blob, "a record");
  recordLabel(kind);
  checkHeader(blob, kind, HEADER_SIZE + SALT_SIZE + TAG_SIZE);
  const salt = blob.subarray(HEADER_SIZE, HEADER_SIZE + SALT_SIZE);
  const { aesKey, nonce } = await keyAndNonce(key, kind, caseId, salt);
  const sealed = blob.subarray(HEADER_SIZE + SALT_SIZE);
  const padded = await aesGcmOpen(aesKey, nonce, sealed, blob.subarray(0, HEADER_SIZE));
  if (padded === null) {
    throw new DecryptionFailed(
      `the ${recordLabel(kind)} record does not open with this key and case`,
    );
  }
  return unpadRecord(padded);
}

/**
 * Encrypt a JSON document, serialised as Python does (compact, keys sorted).
 *
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {string} caseId
 * @param {unknown} document
 * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
 * @returns {Promise<Uint8Array>}
 */
export async function sealJson(key, kind, caseId, document, options = {}) {
  return seal(key, kind, caseId, encodeJson(document), options);
}

/**
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {string} caseId
 * @param {Uint8Array} blob
 * @returns {Promise<unknown>} the document
 * @throws {UnsupportedVersion | MalformedEnvelope | DecryptionFailed}
 */
export async function openJson(key, kind, caseId, blob) {
  return parseRecordJson(kind, await open(key, kind, caseId, blob));
}

/**
 * A record's JSON document; both versions read it the same way (§5).
 *
 * @param {number} kind
 * @param {Uint8Array} plaintext
 * @returns {unknown}
 * @throws {MalformedEnvelope} not UTF-8 JSON
 */
export function parseRecordJson(kind, plaintext) {
  try {
    return decodeJson(plaintext);
  } catch {
    throw new MalformedEnvelope(`the ${recordLabel(kind)} record is not UTF-8 JSON`);
  }
}
