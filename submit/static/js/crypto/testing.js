/**
 * Internals exposed for the browser test suite only (tests/browser): intermediate HPKE
 * values for the RFC 9180 vector, padding and the KDF building blocks. Pages import
 * index.js, never this module.
 *
 * @module crypto/testing
 */

export * as aead from "./aead.js";
export * as bytes from "./bytes.js";
export * as base32 from "./base32.js";
export * as envelope from "./envelope.js";
export * as kdf from "./kdf.js";
export * as hpke from "./hpke.js";
export * as x25519 from "./x25519.js";
export * as padding from "./padding.js";
export * as json from "./json.js";
export * as records from "./records.js";
export * as fileMeta from "./file-meta.js";
export * as fileStream from "./file-stream.js";
export * as code from "./code.js";
export * as wrapping from "./wrapping.js";
export { ByteQueue } from "./byte-queue.js";
