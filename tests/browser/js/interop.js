/**
 * Entry points for the Python ↔ browser interoperability tests. Bytes cross
 * page.evaluate as hex; errors come back as {error, reason} so Python can compare.
 *
 * @module tests/interop
 */

import * as api from "/static/js/crypto/index.js";
import { base32, bytes, fileMeta, json } from "/static/js/crypto/testing.js";
import { collect, cut } from "./harness.js";

const { fromHex, toHex, concat } = bytes;

/**
 * @param {string} keyHex
 * @param {string} publicKeyHex
 * @param {string} purpose
 * @param {string} context
 * @returns {Promise<string>}
 */
export async function wrap(keyHex, publicKeyHex, purpose, context) {
  return toHex(await api.wrap(fromHex(keyHex), fromHex(publicKeyHex), purpose, context));
}

/**
 * @param {string} envelopeHex
 * @param {string} privateKeyHex
 * @param {string} purpose
 * @param {string} context
 * @returns {Promise<string>}
 */
export async function unwrap(envelopeHex, privateKeyHex, purpose, context) {
  return toHex(await api.unwrap(fromHex(envelopeHex), fromHex(privateKeyHex), purpose, context));
}

/**
 * @param {string} keyHex
 * @param {number} kind
 * @param {string} caseId
 * @param {unknown} document
 * @returns {Promise<string>}
 */
export async function sealJson(keyHex, kind, caseId, document) {
  return toHex(await api.sealJson(fromHex(keyHex), kind, caseId, document));
}

/**
 * @param {string} keyHex
 * @param {number} kind
 * @param {string} caseId
 * @param {string} envelopeHex
 * @returns {Promise<unknown>}
 */
export async function openJson(keyHex, kind, caseId, envelopeHex) {
  return api.openJson(fromHex(keyHex), kind, caseId, fromHex(envelopeHex));
}

/**
 * @param {unknown} document
 * @returns {string}
 */
export function canonicalJson(document) {
  return json.canonicalJson(document);
}

/**
 * Encrypt bytes as an uploaded File would be: from a Blob, slice by slice.
 *
 * @param {string} caseKeyHex
 * @param {string} caseId
 * @param {string} dataHex
 * @param {string} name
 * @param {string} type
 */
export async function encryptFile(caseKeyHex, caseId, dataHex, name, type) {
  const caseKey = fromHex(caseKeyHex);
  const file = new File([fromHex(dataHex)], name, { type });
  const encryptor = await api.FileEncryptor.create(caseKey, caseId);
  const pieces = await collect(api.encryptBlob(encryptor, file));
  const meta = encryptor.metadata(file.name, file.type);
  return {
    stream: toHex(concat(...pieces)),
    pieceSizes: pieces.map((piece) => piece.length),
    predictedLength: api.streamLength(file.size),
    metaEnvelope: toHex(await api.sealFileMeta(caseKey, caseId, meta)),
  };
}

/**
 * @param {string} caseKeyHex
 * @param {string} caseId
 * @param {string} metaEnvelopeHex
 * @param {string} streamHex
 * @param {number[]} pieceSizes - how to cut the stream before pushing it
 */
export async function decryptFile(caseKeyHex, caseId, metaEnvelopeHex, streamHex, pieceSizes) {
  const caseKey = fromHex(caseKeyHex);
  const meta = await api.openFileMeta(caseKey, caseId, fromHex(metaEnvelopeHex));
  const pieces = cut(fromHex(streamHex), pieceSizes);
  const output = await collect(api.decryptStream(caseKey, caseId, meta, pieces));
  return { data: toHex(concat(...output)), meta: fileMeta.fileMetaToJson(meta) };
}

/**
 * @param {import("/static/js/crypto/code.js").FollowUpCode} code
 */
async function derivations(code) {
  const token = await code.lookupToken();
  return {
    display: code.display(),
    lookupToken: toHex(token),
    lookupIndex: toHex(await api.lookupIndex(token)),
    reporterPublicKey: toHex((await code.reporterKeyPair()).publicKey),
  };
}

/**
 * @param {number} count
 */
export async function generateCodes(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(await derivations(await api.FollowUpCode.generate()));
  }
  return out;
}

/**
 * @param {string} text
 */
export async function parseCode(text) {
  try {
    return await derivations(await api.FollowUpCode.parse(text));
  } catch (error) {
    const e = /** @type {any} */ (error);
    return { error: e.name, reason: e.reason, message: e.message };
  }
}

/**
 * Open a wrap addressed to the reporter key of a follow-up code, as the follow-up page
 * does, with the private key kept inside a non-extractable CryptoKey.
 *
 * @param {string} codeText
 * @param {string} envelopeHex
 * @param {string} caseId
 */
export async function unwrapForReporter(codeText, envelopeHex, caseId) {
  const code = await api.FollowUpCode.parse(codeText);
  const { privateKey } = await code.reporterKeyPair();
  return toHex(await api.unwrap(fromHex(envelopeHex), privateKey, api.Purpose.CASE_KEY, caseId));
}

/**
 * Character counts over many generated codes' random parts, to check uniformity.
 *
 * @param {number} count
 */
export async function codeStatistics(count) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (let i = 0; i < count; i++) {
    const canonical = (await api.FollowUpCode.generate()).display().replaceAll("-", "");
    for (const c of canonical.slice(0, 18)) {
      counts[c] = (counts[c] ?? 0) + 1;
    }
  }
  return counts;
}

/**
 * normalizeCrockford of single code points: the canonical text or "!reason", for every
 * code point of the ranges whose answer is not "!character".
 *
 * @param {[number, number][]} ranges - inclusive [first, last] code point ranges
 * @returns {Record<string, string>} keyed by the code point in hex
 */
export function normalizeCodePoints(ranges) {
  /** @type {Record<string, string>} */
  const out = {};
  // Nearly every code point is refused with a thrown error; skipping the stack traces
  // (a V8 setting, restored below) makes the sweep several times faster.
  const limit = /** @type {any} */ (Error).stackTraceLimit;
  /** @type {any} */ (Error).stackTraceLimit = 0;
  try {
    sweep(ranges, out);
  } finally {
    /** @type {any} */ (Error).stackTraceLimit = limit;
  }
  return out;
}

/**
 * @param {[number, number][]} ranges
 * @param {Record<string, string>} out
 */
function sweep(ranges, out) {
  for (const [first, last] of ranges) {
    for (let cp = first; cp <= last; cp++) {
      let result;
      try {
        result = base32.normalizeCrockford(String.fromCodePoint(cp));
      } catch (error) {
        result = `!${/** @type {any} */ (error).reason}`;
      }
      if (result !== "!character") {
        out[cp.toString(16)] = result;
      }
    }
  }
}

/**
 * @param {string[]} publicKeysHex
 * @returns {Promise<string[]>}
 */
export async function fingerprints(publicKeysHex) {
  return Promise.all(publicKeysHex.map((key) => api.fingerprint(fromHex(key))));
}
