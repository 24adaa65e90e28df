/**
 * The two-byte header that starts every envelope (docs/crypto.md §2): version, then kind.
 *
 * Readers check the version first, so a future format fails with UnsupportedVersion
 * rather than as a confusing authentication error. Only sealed records have a version 2
 * (§13.4); every other envelope is version 1.
 *
 * @module crypto/envelope
 */

import { MalformedEnvelope, UnsupportedVersion } from "./errors.js";

export const VERSION = 1;
export const VERSION_2 = 2;
export const HEADER_SIZE = 2;

/**
 * Envelope kinds and their header bytes.
 *
 * @readonly
 * @enum {number}
 */
export const Kind = Object.freeze({
  WRAP: 0x01,
  REPORT: 0x02,
  IDENTITY: 0x03,
  MESSAGE: 0x04,
  FILE_META: 0x05,
  FILE_STREAM: 0x06,
  NOTE: 0x07,
  SEALED_BY_PASSPHRASE: 0x08,
  SEALED_BY_RECOVERY: 0x09,
});

/** @type {Map<number, string>} */
const KIND_NAMES = new Map(Object.entries(Kind).map(([name, byte]) => [byte, name.toLowerCase()]));

/**
 * @param {number} kind
 * @returns {string} the kind's name for messages, e.g. "file_meta" (as Python's)
 */
export function kindName(kind) {
  const name = KIND_NAMES.get(kind);
  if (name === undefined) {
    throw new RangeError("unknown envelope kind");
  }
  return name;
}

/**
 * @param {number} kind
 * @param {number} [version] - VERSION_2 for a bound record
 * @returns {Uint8Array} version || kind
 */
export function header(kind, version = VERSION) {
  kindName(kind);
  return new Uint8Array([version, kind]);
}

/**
 * Refuse an envelope of another version or kind, or shorter than minSize.
 *
 * @param {Uint8Array} blob
 * @param {number} kind
 * @param {number} [minSize]
 * @param {number} [version] - the one version the caller reads: VERSION_2 for a bound record
 * @throws {UnsupportedVersion} first byte is not `version`
 * @throws {MalformedEnvelope} empty, another kind, or too short
 */
export function checkHeader(blob, kind, minSize = HEADER_SIZE, version = VERSION) {
  const name = kindName(kind);
  if (blob.length < 1) {
    throw new MalformedEnvelope("empty envelope");
  }
  if (blob[0] !== version) {
    throw new UnsupportedVersion(`envelope format version ${blob[0]} is not supported`);
  }
  if (blob.length < HEADER_SIZE || blob[1] !== kind) {
    throw new MalformedEnvelope(`not a ${name} envelope`);
  }
  if (blob.length < minSize) {
    throw new MalformedEnvelope(`${name} envelope is too short`);
  }
}
