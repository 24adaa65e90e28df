/**
 * Feature detection and resource bounds, for tests/browser/test_crypto_support.py.
 *
 * @module tests/support
 */

import * as api from "/static/js/crypto/index.js";
import { x25519 } from "/static/js/crypto/testing.js";
import { collect } from "./harness.js";

/** @returns {Promise<{secure: boolean, supported: boolean}>} */
export async function probe() {
  return { secure: globalThis.isSecureContext, supported: await api.supportsEncryption() };
}

/**
 * supportsEncryption() in a browser whose WebCrypto lacks X25519, simulated by making
 * every X25519 operation fail as an unsupported algorithm does.
 *
 * @returns {Promise<boolean>}
 */
export async function supportedWithoutX25519() {
  const subtle = /** @type {any} */ (SubtleCrypto.prototype);
  const originals = { generateKey: subtle.generateKey, importKey: subtle.importKey };
  /**
   * @param {any} algorithm
   * @returns {boolean}
   */
  const isX25519 = (algorithm) => (algorithm?.name ?? algorithm) === "X25519";
  const refuse = () =>
    Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
  subtle.generateKey = function (/** @type {any[]} */ ...args) {
    return isX25519(args[0])
      ? refuse()
      : originals.generateKey.apply(this, /** @type {any} */ (args));
  };
  subtle.importKey = function (/** @type {any[]} */ ...args) {
    return isX25519(args[2])
      ? refuse()
      : originals.importKey.apply(this, /** @type {any} */ (args));
  };
  try {
    return await api.supportsEncryption();
  } finally {
    Object.assign(subtle, originals);
  }
}

/**
 * Encrypt a Blob whose slice() is recorded, to show that encryptBlob reads it a chunk
 * at a time and returns pieces no larger than a sealed chunk.
 *
 * @param {number} size
 */
export async function readPattern(size) {
  const blob = new Blob([new Uint8Array(size)]);
  /** @type {number[]} */
  const slices = [];
  const recorded = Object.create(blob, {
    slice: {
      value: (/** @type {number} */ start, /** @type {number} */ end) => {
        slices.push(Math.min(end, size) - start);
        return blob.slice(start, end);
      },
    },
    size: { value: size },
  });
  const encryptor = await api.FileEncryptor.create(api.randomKey(), api.newCaseId());
  const pieces = await collect(api.encryptBlob(encryptor, recorded));
  return {
    slices,
    pieces: pieces.map((piece) => piece.length),
    predicted: api.streamLength(size),
  };
}

/**
 * A Blob whose slices come back shorter than its announced size (as when a file changes
 * on disk while it is read): encryptBlob must refuse rather than seal a different file.
 *
 * @returns {Promise<string>} the error's message
 */
export async function changedWhileReading() {
  const blob = new Blob([new Uint8Array(1000)]);
  const liar = Object.create(blob, {
    slice: {
      value: (/** @type {number} */ a, /** @type {number} */ b) =>
        blob.slice(a, Math.min(b, 1000) - 10),
    },
    size: { value: 1000 },
  });
  const encryptor = await api.FileEncryptor.create(api.randomKey(), api.newCaseId());
  try {
    await collect(api.encryptBlob(encryptor, liar));
    return "no error";
  } catch (error) {
    return /** @type {Error} */ (error).message;
  }
}

/**
 * The two ways to get a public key from a raw private key agree: X25519(sk, 9), which
 * the library uses, and the `x` member of Chromium's JWK export of an extractable key.
 *
 * @param {number} count
 * @returns {Promise<string[]>} the indices that disagree, as text
 */
export async function publicKeysAgreeWithJwk(count) {
  const disagreements = [];
  for (let i = 0; i < count; i++) {
    const raw = api.randomKey();
    const key = await x25519.importPrivateKey(raw, true);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    if (jwk.x !== api.b64uEncode(await x25519.publicKeyOf(raw))) {
      disagreements.push(String(i));
    }
  }
  return disagreements;
}
