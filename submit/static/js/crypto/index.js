/**
 * The minhbach protocol, versions 1 and 2 (docs/crypto.md), in the browser: the public API
 * the submission and follow-up pages import. Callers never choose a nonce, a label or an
 * HPKE mode. Everything runs on crypto.subtle; nothing leaves the page unencrypted.
 *
 * Load it with a dynamic import() inside try/catch: a browser too old to parse these
 * modules fails at import, before supportsEncryption() can answer.
 *
 * @module crypto
 */

import { ascii, equal, fromHex } from "./bytes.js";
import { Kind } from "./envelope.js";
import { open, seal } from "./records.js";
import { sign, signingKey, verify } from "./signing.js";
import { generateKeyPair, publicKeyOf } from "./x25519.js";

export {
  envelopeVersion,
  openBound,
  openBoundJson,
  readPlace,
  sealBound,
  sealBoundJson,
  verifyBound,
} from "./bound.js";
export { b64uDecode, b64uEncode } from "./bytes.js";
export { FollowUpCode, lookupIndex } from "./code.js";
export { Kind, VERSION, VERSION_2 } from "./envelope.js";
export {
  BadSignature,
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
export { decodePlace, encodePlace, placeDocument, PURPOSES, staffAuthor } from "./places.js";
export { open, openJson, seal, sealJson } from "./records.js";
export { sign, SIGNATURE_SIZE, signingKey, verify } from "./signing.js";
export { checkOrder, fileDigest, genesis, nextLink, Position } from "./transcript.js";
export { Purpose, unwrap, wrap } from "./wrapping.js";

// RFC 7748 §6.1, Alice's key pair: a known answer for PKCS#8 import and X25519.
const KNOWN_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const KNOWN_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
// The signing key derived from Alice's private key (§13.2) and its signature over the
// probe's case id, from crypto/signing.py: Ed25519 is deterministic, so a browser that
// derives, imports or signs differently gives another answer.
const KNOWN_VERIFYING = "82646f7c51ac2aaa7fae28e27fcb0300bccab905c92b3fab91eae0fe38e3f927";
const KNOWN_SIGNATURE =
  "10bb8eeab029167814afade03617ceedd1bb71660f639f504519b3130134a0a2" +
  "7738f62657383096d2226eda1cd1852215a2d94bd76a1702a45a12ebaf6c0a0b";
const PROBE_CASE = "feature-check";

/**
 * Can this browser run the protocol? False in a non-secure context (no crypto.subtle),
 * without X25519 or Ed25519 in WebCrypto, or when any primitive gives a wrong answer; the
 * page then falls back to the no-JavaScript form, where the server encrypts.
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
    if (!equal(await open(key, Kind.NOTE, PROBE_CASE, probe), new Uint8Array([1, 2, 3]))) {
      return false;
    }
    // Ed25519, end to end: derive, import, export the public key, sign, verify.
    const signer = await signingKey(fromHex(KNOWN_PRIVATE));
    const message = ascii(PROBE_CASE);
    const signature = await sign(signer.privateKey, message);
    await verify(signer.publicKey, message, signature); // BadSignature if it disagrees
    return (
      equal(signer.publicKey, fromHex(KNOWN_VERIFYING)) &&
      equal(signature, fromHex(KNOWN_SIGNATURE))
    );
  } catch {
    return false;
  }
}
