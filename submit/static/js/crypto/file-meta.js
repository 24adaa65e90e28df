/**
 * Attachment metadata (docs/crypto.md §6): a FILE_META record holding the file's name,
 * MIME type, size before padding and the salt of its stream, so metadata cannot be
 * moved to another file.
 *
 * @module crypto/file-meta
 */

import { b64uDecode, b64uEncode, requireBytes } from "./bytes.js";
import { Kind } from "./envelope.js";
import { MalformedEnvelope } from "./errors.js";
import { openJson, sealJson } from "./records.js";

export const MAX_NAME_LENGTH = 255;
export const STREAM_SALT_SIZE = 32;

/**
 * @typedef {object} FileMeta
 * @property {string} name - at most 255 code points
 * @property {string} type - the MIME type as given
 * @property {number} size - bytes before padding
 * @property {Uint8Array} stream - the 32-byte salt in the stream's header
 */

/**
 * Cut a name to 255 code points, as Python's name[:255] does. Counting UTF-16 units
 * instead would disagree for astral characters (emoji) and could split a pair.
 *
 * @param {string} name
 * @returns {string}
 */
export function truncateName(name) {
  const codePoints = Array.from(name);
  return codePoints.length <= MAX_NAME_LENGTH
    ? name
    : codePoints.slice(0, MAX_NAME_LENGTH).join("");
}

/**
 * @param {FileMeta} meta
 * @returns {{name: string, type: string, size: number, stream: string}} the JSON document
 */
export function fileMetaToJson(meta) {
  requireBytes(meta.stream, "a stream salt", STREAM_SALT_SIZE);
  return { name: meta.name, type: meta.type, size: meta.size, stream: b64uEncode(meta.stream) };
}

/**
 * Validate a metadata document as Python's FileMeta.from_json does.
 *
 * @param {unknown} document
 * @returns {FileMeta}
 * @throws {MalformedEnvelope}
 */
export function fileMetaFromJson(document) {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new MalformedEnvelope("file metadata lacks a field");
  }
  const fields = /** @type {Record<string, unknown>} */ (document);
  if (!["name", "type", "size", "stream"].every((field) => Object.hasOwn(fields, field))) {
    throw new MalformedEnvelope("file metadata lacks a field");
  }
  const { name, type, size } = fields;
  const stream = b64uDecode(/** @type {string} */ (fields.stream)); // refuses non-strings
  const valid =
    typeof name === "string" &&
    typeof type === "string" &&
    Number.isSafeInteger(size) &&
    /** @type {number} */ (size) >= 0 &&
    stream.length === STREAM_SALT_SIZE;
  if (!valid) {
    throw new MalformedEnvelope("file metadata has a field of the wrong type");
  }
  return { name, type, size: /** @type {number} */ (size), stream };
}

/**
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {FileMeta} meta
 * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
 * @returns {Promise<Uint8Array>} the FILE_META envelope
 */
export async function sealFileMeta(caseKey, caseId, meta, options = {}) {
  return sealJson(caseKey, Kind.FILE_META, caseId, fileMetaToJson(meta), options);
}

/**
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {Uint8Array} blob
 * @returns {Promise<FileMeta>}
 * @throws {UnsupportedVersion | MalformedEnvelope | DecryptionFailed}
 */
export async function openFileMeta(caseKey, caseId, blob) {
  return fileMetaFromJson(await openJson(caseKey, Kind.FILE_META, caseId, blob));
}
