/**
 * The minhbach protocol, version 1 (docs/crypto.md), in the browser: the public API the
 * submission and follow-up pages import. Callers never choose a nonce, a label or an
 * HPKE mode. Everything runs on crypto.subtle; nothing leaves the page unencrypted.
 *
 * Load it with a dynamic import() inside try/catch: a browser too old to parse these
 * modules fails at import, before supportsEncryption() can answer.
 *
 * @module crypto
 */

import { equal, fromHex } from "./bytes.js";
import { Kind } from "./envelope.js";
import { open, seal } from "./records.js";
import { generateKeyPair, publicKeyOf } from "./x25519.js";

export { b64uDecode, b64uEncode } from "./bytes.js";
export { FollowUpCode, lookupIndex } from "./code.js";
export { Kind, VERSION } from "./envelope.js";
export {
  CodeFormatError,
  CryptoError,
  DecryptionFailed,
  MalformedEnvelope,
  TruncatedStream,
  UnsupportedVersion,
} from "./errors.js";
export { openFileMeta, sealFileMeta } from "./file-meta.js";
export {
  blobPieces,
  CHUNK_SIZE,
  decryptStream,
  encryptBlob,
  FileDecryptor,
  FileEncryptor,
  streamLength,
} from "./file-stream.js";
export { fingerprint, newCaseId, randomKey } from "./keys.js";
export { open, openJson, seal, sealJson } from "./records.js";
export { Purpose, unwrap, wrap } from "./wrapping.js";

// RFC 7748 §6.1, Alice's key pair: a known answer for PKCS#8 import and X25519.
const KNOWN_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const KNOWN_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const PROBE_CASE = "feature-check";

/**
 * Can this browser run the protocol? False in a non-secure context (no crypto.subtle),
 * without X25519 in WebCrypto, or when any primitive gives a wrong answer; the page
 * then falls back to the no-JavaScript form, where the server encrypts.
 *
 * @returns {Promise<boolean>} never rejects
 */
export async function supportsEncryption() {
  try {
    const api = globalThis.crypto;
    if (!globalThis.isSecureContext || !api?.subtle || typeof api.randomUUID !== "function") {
      return false;
    }
    if (typeof "".normalize !== "function" || typeof Blob.prototype.arrayBuffer !== "function") {
      return false;
    }
    await generateKeyPair();
    if (!equal(await publicKeyOf(fromHex(KNOWN_PRIVATE)), fromHex(KNOWN_PUBLIC))) {
      return false;
    }
    // HKDF and AES-GCM, end to end through a record.
    const key = new Uint8Array(32);
    const probe = await seal(key, Kind.NOTE, PROBE_CASE, new Uint8Array([1, 2, 3]));
    return equal(await open(key, Kind.NOTE, PROBE_CASE, probe), new Uint8Array([1, 2, 3]));
  } catch {
    return false;
  }
}
