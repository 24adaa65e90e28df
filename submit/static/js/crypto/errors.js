/**
 * Every way the protocol refuses input (docs/crypto.md §10), mirroring
 * crypto/errors.py class for class.
 *
 * Messages describe what is wrong with an envelope, never its contents, keys or codes,
 * so they are safe to log and to show. Each class sets `name` on its prototype so that
 * `error.name` identifies the failure even across realms (where `instanceof` fails).
 *
 * @module crypto/errors
 */

/** Base class: something cryptographic was refused. */
export class CryptoError extends Error {}
CryptoError.prototype.name = "CryptoError";

/** The envelope starts with a format version this code does not know. */
export class UnsupportedVersion extends CryptoError {}
UnsupportedVersion.prototype.name = "UnsupportedVersion";

/** Wrong kind, wrong length, bad padding or metadata of the wrong shape. */
export class MalformedEnvelope extends CryptoError {}
MalformedEnvelope.prototype.name = "MalformedEnvelope";

/** Authentication failed: tampered data, wrong key, or wrong context (case, purpose). */
export class DecryptionFailed extends CryptoError {}
DecryptionFailed.prototype.name = "DecryptionFailed";

/** A file stream ended before its final chunk: it was cut short. */
export class TruncatedStream extends DecryptionFailed {}
TruncatedStream.prototype.name = "TruncatedStream";

/**
 * A version 2 record's signature is not that of its place's author (§13.4): forged,
 * altered, or checked against another author's key. Not a DecryptionFailed: checking
 * needs no decryption key, and the server refuses such a record before storing it.
 */
export class BadSignature extends CryptoError {}
BadSignature.prototype.name = "BadSignature";

/**
 * A follow-up code was typed wrongly. `reason` tells the page what to ask the person to
 * check, without the page (or a log) ever echoing the code.
 */
export class CodeFormatError extends CryptoError {
  /**
   * @param {"empty" | "length" | "character" | "checksum"} reason
   * @param {string} message
   */
  constructor(reason, message) {
    super(message);
    /** @type {"empty" | "length" | "character" | "checksum"} */
    this.reason = reason;
  }
}
CodeFormatError.prototype.name = "CodeFormatError";
