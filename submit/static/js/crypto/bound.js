/**
 * Sealed records of version 2 (docs/crypto.md §13.4): bound to their place and signed by
 * their author.
 *
 * record = 0x02 || kind || u16(p) || place (p bytes) || salt (32)
 *          || AES-GCM(k, n, padded, aad = everything before the salt) || signature (64)
 * k || n = HKDF(key, salt, "minhbach/2/<label>/<place's case>", 44)
 *
 * Anyone can check the signature, which covers every byte before it (the server does on
 * arrival); only key holders can open. The place is associated data, so a key holder who
 * re-signs a changed place still cannot make the record open. As crypto/bound.py.
 *
 * @module crypto/bound
 */

import { aesGcmOpen, aesGcmSeal, KEY_SIZE, TAG_SIZE } from "./aead.js";
import { concat, randomBytes, requireBytes, u16 } from "./bytes.js";
import { checkHeader, header, HEADER_SIZE, kindName, VERSION_2 } from "./envelope.js";
import { DecryptionFailed, MalformedEnvelope } from "./errors.js";
import { encodeJson } from "./json.js";
import { padRecord, unpadRecord } from "./padding.js";
import { decodePlace, encodePlace, PLACE_MAX, PLACE_MIN } from "./places.js";
import { keyAndNonce, parseRecordJson, recordLabel, SALT_SIZE } from "./records.js";
import { sign, SIGNATURE_SIZE, verify } from "./signing.js";

/** @typedef {import("./places.js").Place} Place */

const LENGTH_SIZE = 2;
export const PREFIX_SIZE = HEADER_SIZE + LENGTH_SIZE;
// What a reader needs before it reads the place: the smallest place, salt, tag, signature.
export const MIN_SIZE = PREFIX_SIZE + PLACE_MIN + SALT_SIZE + TAG_SIZE + SIGNATURE_SIZE;

/**
 * Encrypt and sign one record.
 *
 * @param {Uint8Array} key - the 32-byte case, identity or unit key
 * @param {number} kind - Kind.REPORT, IDENTITY, MESSAGE, FILE_META or NOTE
 * @param {Place} place - where it belongs; its case names the case in the key derivation
 * @param {Uint8Array} plaintext
 * @param {CryptoKey} signer - the author's Ed25519 private key (signing.js)
 * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
 * @returns {Promise<Uint8Array>} the envelope
 */
export async function sealBound(
  key,
  kind,
  place,
  plaintext,
  signer,
  { salt = randomBytes(SALT_SIZE) } = {},
) {
  recordLabel(kind);
  requireBytes(salt, "a record salt", SALT_SIZE);
  requireBytes(plaintext, "a record's plaintext");
  const encoded = encodePlace(kind, place);
  const prefix = concat(header(kind, VERSION_2), u16(encoded.length), encoded);
  const { aesKey, nonce } = await keyAndNonce(key, kind, place.case, salt, VERSION_2);
  const sealed = await aesGcmSeal(aesKey, nonce, padRecord(plaintext), prefix);
  const body = concat(prefix, salt, sealed);
  return concat(body, await sign(signer, body));
}

/**
 * Encrypt and sign a JSON document, in the canonical form of §5.
 *
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {Place} place
 * @param {unknown} document
 * @param {CryptoKey} signer
 * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
 * @returns {Promise<Uint8Array>}
 */
export async function sealBoundJson(key, kind, place, document, signer, options = {}) {
  return sealBound(key, kind, place, encodeJson(document), signer, options);
}

/**
 * The place a record claims, not yet authenticated: it names the author whose key
 * verifies the record, and nothing else may be trusted from it before verifyBound.
 *
 * @param {number} kind
 * @param {Uint8Array} blob - the envelope
 * @returns {Readonly<Required<Place>>}
 * @throws {UnsupportedVersion | MalformedEnvelope}
 */
export function readPlace(kind, blob) {
  recordLabel(kind);
  requireBytes(blob, "a record");
  checkHeader(blob, kind, MIN_SIZE, VERSION_2);
  const length = placeLength(blob);
  if (length < PLACE_MIN || length > PLACE_MAX) {
    throw new MalformedEnvelope(`a place is ${PLACE_MIN} to ${PLACE_MAX} bytes`);
  }
  if (blob.length < MIN_SIZE - PLACE_MIN + length) {
    throw new MalformedEnvelope(`${kindName(kind)} envelope is too short`);
  }
  return decodePlace(kind, blob.subarray(PREFIX_SIZE, PREFIX_SIZE + length));
}

/**
 * Check the signature against the author's verifying key; needs no decryption key.
 *
 * @param {number} kind
 * @param {Uint8Array} blob
 * @param {Uint8Array} verifyingKey - the raw 32-byte Ed25519 key of the place's author
 * @returns {Promise<Readonly<Required<Place>>>} the signed place
 * @throws {UnsupportedVersion | MalformedEnvelope | BadSignature}
 */
export async function verifyBound(kind, blob, verifyingKey) {
  const place = readPlace(kind, blob);
  const end = blob.length - SIGNATURE_SIZE;
  await verify(verifyingKey, blob.subarray(0, end), blob.subarray(end));
  return place;
}

/**
 * Verify, then decrypt; never returns unauthenticated data.
 *
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {Uint8Array} blob
 * @param {Uint8Array} verifyingKey - the place's author's
 * @returns {Promise<{place: Readonly<Required<Place>>, plaintext: Uint8Array}>}
 * @throws {UnsupportedVersion | MalformedEnvelope | BadSignature | DecryptionFailed}
 */
export async function openBound(key, kind, blob, verifyingKey) {
  requireBytes(key, "a record key", KEY_SIZE);
  const place = await verifyBound(kind, blob, verifyingKey);
  const prefixEnd = PREFIX_SIZE + placeLength(blob);
  const salt = blob.subarray(prefixEnd, prefixEnd + SALT_SIZE);
  const { aesKey, nonce } = await keyAndNonce(key, kind, place.case, salt, VERSION_2);
  const sealed = blob.subarray(prefixEnd + SALT_SIZE, blob.length - SIGNATURE_SIZE);
  const padded = await aesGcmOpen(aesKey, nonce, sealed, blob.subarray(0, prefixEnd));
  if (padded === null) {
    throw new DecryptionFailed(
      `the ${recordLabel(kind)} record does not open with this key and case`,
    );
  }
  return { place, plaintext: unpadRecord(padded) };
}

/**
 * @param {Uint8Array} key
 * @param {number} kind
 * @param {Uint8Array} blob
 * @param {Uint8Array} verifyingKey
 * @returns {Promise<{place: Readonly<Required<Place>>, document: unknown}>}
 * @throws {UnsupportedVersion | MalformedEnvelope | BadSignature | DecryptionFailed}
 */
export async function openBoundJson(key, kind, blob, verifyingKey) {
  const { place, plaintext } = await openBound(key, kind, blob, verifyingKey);
  return { place, document: parseRecordJson(kind, plaintext) };
}

/**
 * The first byte, for readers that accept both versions of a sealed record (§13.7).
 *
 * @param {Uint8Array} blob
 * @returns {number}
 * @throws {MalformedEnvelope} for an empty envelope
 */
export function envelopeVersion(blob) {
  requireBytes(blob, "an envelope");
  if (blob.length === 0) {
    throw new MalformedEnvelope("empty envelope");
  }
  return blob[0];
}

/**
 * @param {Uint8Array} blob - at least PREFIX_SIZE bytes
 * @returns {number} the u16 after the header
 */
function placeLength(blob) {
  return blob[HEADER_SIZE] * 256 + blob[HEADER_SIZE + 1];
}
