/**
 * Follow-up codes (docs/crypto.md §7): what a reporter keeps to come back to a case.
 *
 * 18 random Crockford characters (90 bits) and 2 check characters (10 bits), shown as
 * five groups of four. From the canonical code HKDF derives the lookup token (all the
 * server receives), the reporter's X25519 key pair and from that their Ed25519 signing
 * key (§13.2). A code object never prints its value: the page must call display() on
 * purpose.
 *
 * @module crypto/code
 */

import { CROCKFORD, group, normalizeCrockford } from "./base32.js";
import { ascii, concat, equal, requireBytes } from "./bytes.js";
import { CodeFormatError } from "./errors.js";
import { hkdf, label, sha256 } from "./kdf.js";
import { signingKey } from "./signing.js";
import { importPrivateKey, publicKeyOf } from "./x25519.js";

export const RANDOM_CHARS = 18;
export const CHECK_CHARS = 2;
export const CODE_LENGTH = RANDOM_CHARS + CHECK_CHARS;
export const TOKEN_SIZE = 32;
export const INDEX_SIZE = 5;

const SALT = label("follow-up-code");
const HIDDEN = "FollowUpCode(<hidden>)";
// Only generate and parse may construct, so every instance holds a checked code.
const VALIDATED = Symbol("FollowUpCode");

/**
 * The check characters: the first 10 bits of SHA-256("minhbach/1/code-check" || body).
 *
 * @param {string} body - 18 canonical characters
 * @returns {Promise<string>} 2 characters
 */
export async function checkChars(body) {
  const digest = await sha256(concat(label("code-check"), ascii(body)));
  const bits = ((digest[0] << 8) | digest[1]) >>> (16 - 5 * CHECK_CHARS);
  return CROCKFORD[bits >>> 5] + CROCKFORD[bits & 31];
}

/** A checked follow-up code; its value leaves the object only through display(). */
export class FollowUpCode {
  /** @type {string} */
  #canonical;

  /**
   * Use FollowUpCode.generate or FollowUpCode.parse.
   *
   * @param {symbol} token
   * @param {string} canonical
   */
  constructor(token, canonical) {
    if (token !== VALIDATED) {
      throw new TypeError("use FollowUpCode.generate or FollowUpCode.parse");
    }
    this.#canonical = canonical;
  }

  /**
   * A new code from the browser's CSPRNG. Each character takes the low 5 bits of one
   * random byte: 256 is a multiple of 32, so every character is exactly uniform.
   *
   * @returns {Promise<FollowUpCode>}
   */
  static async generate() {
    const random = crypto.getRandomValues(new Uint8Array(RANDOM_CHARS));
    const body = Array.from(random, (b) => CROCKFORD[b & 31]).join("");
    random.fill(0);
    return new FollowUpCode(VALIDATED, body + (await checkChars(body)));
  }

  /**
   * Accept any case, white space, dashes, dots and look-alikes (O/0, I/L/1, U/V).
   *
   * @param {string} text
   * @returns {Promise<FollowUpCode>}
   * @throws {CodeFormatError} with reason "empty", "length", "character" or "checksum";
   *   the message never contains the code
   */
  static async parse(text) {
    if (typeof text !== "string") {
      throw new TypeError("a code is a string");
    }
    const canonical = normalizeCrockford(text);
    if (canonical.length !== CODE_LENGTH) {
      throw new CodeFormatError(
        "length",
        `A code has ${CODE_LENGTH} characters; this one has ${canonical.length}.`,
      );
    }
    const body = canonical.slice(0, RANDOM_CHARS);
    const check = canonical.slice(RANDOM_CHARS);
    if (!equal(ascii(check), ascii(await checkChars(body)))) {
      throw new CodeFormatError("checksum", "The code has a typo: please check each character.");
    }
    return new FollowUpCode(VALIDATED, canonical);
  }

  /** @returns {string} the form to show and write down: XXXX-XXXX-XXXX-XXXX-XXXX */
  display() {
    return group(this.#canonical);
  }

  /**
   * @param {string} info
   * @returns {Promise<Uint8Array>}
   */
  #derive(info) {
    return hkdf(ascii(this.#canonical), { salt: SALT, info: ascii(info) });
  }

  /** @returns {Promise<Uint8Array>} the 32-byte token the server looks the case up by */
  lookupToken() {
    return this.#derive("lookup-token");
  }

  /** @returns {Promise<Uint8Array>} the reporter's raw 32-byte X25519 private key */
  reporterPrivateKey() {
    return this.#derive("reporter-key");
  }

  /**
   * The reporter's key pair, the private half as a non-extractable CryptoKey.
   *
   * @returns {Promise<{privateKey: CryptoKey, publicKey: Uint8Array}>}
   */
  async reporterKeyPair() {
    const raw = await this.reporterPrivateKey();
    try {
      const privateKey = await importPrivateKey(raw);
      return { privateKey, publicKey: await publicKeyOf(privateKey) };
    } finally {
      raw.fill(0);
    }
  }

  /**
   * The reporter's Ed25519 signing key (§13.2), derived from the raw HKDF bytes of the
   * X25519 key before clamping, the bytes every implementation derives it from.
   *
   * @returns {Promise<import("./signing.js").SigningKey>}
   */
  async reporterSigningKey() {
    const raw = await this.reporterPrivateKey();
    try {
      return await signingKey(raw);
    } finally {
      raw.fill(0);
    }
  }

  /**
   * @param {FollowUpCode} other
   * @returns {boolean}
   */
  equals(other) {
    return other instanceof FollowUpCode && equal(ascii(this.#canonical), ascii(other.#canonical));
  }

  /** @returns {string} never the code */
  toString() {
    return HIDDEN;
  }

  /** @returns {string} never the code, so JSON.stringify cannot leak it either */
  toJSON() {
    return HIDDEN;
  }
}

/**
 * A 40-bit index to find candidate cases; collisions are expected and harmless.
 *
 * @param {Uint8Array} token - 32 bytes
 * @returns {Promise<Uint8Array>} 5 bytes
 */
export async function lookupIndex(token) {
  requireBytes(token, "a lookup token", TOKEN_SIZE);
  return (await sha256(concat(label("lookup-index"), token))).slice(0, INDEX_SIZE);
}
