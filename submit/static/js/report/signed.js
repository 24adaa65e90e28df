/**
 * Records of protocol version 2 as the reporter's pages seal and read them
 * (docs/crypto.md §13): bound to their place and signed with the reporter's key, which is
 * derived from the follow-up code. Shared by the report page and the follow-up page.
 *
 * @module report/signed
 */

import {
  b64uDecode,
  b64uEncode,
  fileDigest,
  Kind,
  MalformedEnvelope,
  openBoundJson,
  sealBoundJson,
} from "../crypto/index.js";

/**
 * A file's description (crypto/file-meta.js FileMeta).
 *
 * @typedef {{name: string, type: string, size: number, stream: Uint8Array}} FileMeta
 */
/**
 * An Ed25519 key pair (crypto/signing.js SigningKey): the private half not extractable,
 * the public half its 32 raw bytes.
 *
 * @typedef {{privateKey: CryptoKey, publicKey: Uint8Array}} SigningKey
 */

/** The place `author` of everything the reporter writes. */
export const REPORTER = "reporter";
const STREAM_SALT_SIZE = 32;

/**
 * The FILE_META document (§6), as crypto/file-meta.js writes it.
 *
 * @param {FileMeta} meta
 * @returns {{name: string, type: string, size: number, stream: string}}
 */
export function fileMetaDocument(meta) {
  return { name: meta.name, type: meta.type, size: meta.size, stream: b64uEncode(meta.stream) };
}

/**
 * A file's description, sealed and signed by the reporter: place {case, "file", reporter}.
 *
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {FileMeta} meta
 * @param {SigningKey} signer - the reporter's
 * @returns {Promise<Uint8Array>} the FILE_META envelope
 */
export function sealReporterFileMeta(caseKey, caseId, meta, signer) {
  const place = { case: caseId, purpose: "file", author: REPORTER };
  return sealBoundJson(caseKey, Kind.FILE_META, place, fileMetaDocument(meta), signer.privateKey);
}

/**
 * How a report or a message names the files it carries (§13.3 `files`): the SHA-256 of
 * each FILE_META envelope, in ascending order.
 *
 * @param {Iterable<Uint8Array>} envelopes
 * @returns {Promise<string[]>}
 */
export async function fileDigests(envelopes) {
  const digests = await Promise.all(Array.from(envelopes, (envelope) => fileDigest(envelope)));
  return digests.sort();
}

/**
 * The same, for envelopes in b64u as the API carries them.
 *
 * @param {Iterable<string>} envelopes
 * @returns {Promise<string[]>}
 */
export function fileDigestsOf(envelopes) {
  return fileDigests(Array.from(envelopes, (text) => b64uDecode(text)));
}

/**
 * A v2 FILE_META opened, signed by `verifyingKey` and in its place; its document checked
 * as crypto/file-meta.js checks it.
 *
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {Uint8Array} blob
 * @param {string} author - the place's expected author
 * @param {Uint8Array} verifyingKey - that author's
 * @returns {Promise<FileMeta>}
 * @throws {import("../crypto/index.js").CryptoError}
 */
export async function openSignedFileMeta(caseKey, caseId, blob, author, verifyingKey) {
  const { place, document } = await openBoundJson(caseKey, Kind.FILE_META, blob, verifyingKey);
  if (place.case !== caseId || place.purpose !== "file" || place.author !== author) {
    throw new MalformedEnvelope("the file description is not where it was written");
  }
  return fileMetaFrom(document);
}

/**
 * @param {unknown} document
 * @returns {FileMeta}
 * @throws {MalformedEnvelope}
 */
function fileMetaFrom(document) {
  const fields = /** @type {Record<string, unknown> | null} */ (
    typeof document === "object" && !Array.isArray(document) ? document : null
  );
  if (fields === null || !["name", "type", "size", "stream"].every((f) => Object.hasOwn(fields, f))) {
    throw new MalformedEnvelope("file metadata lacks a field");
  }
  const { name, type, size, stream } = fields;
  const salt = typeof stream === "string" ? b64uDecode(stream) : null;
  const valid =
    typeof name === "string" &&
    typeof type === "string" &&
    Number.isSafeInteger(size) &&
    /** @type {number} */ (size) >= 0 &&
    salt !== null &&
    salt.length === STREAM_SALT_SIZE;
  if (!valid) {
    throw new MalformedEnvelope("file metadata has a field of the wrong type");
  }
  return { name, type, size: /** @type {number} */ (size), stream: salt };
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} lower-case hex, as places write links
 */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
