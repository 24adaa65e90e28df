/**
 * Where a version 2 record belongs (docs/crypto.md §13.3): its case, purpose, author and
 * position, written inside the record in canonical JSON. The place is the AEAD's associated
 * data and is covered by the author's signature; readers compare it with where they found
 * the record, so a record moved, re-attributed or re-linked in the database shows as altered.
 *
 * The same rules as crypto/places.py, rule for rule. A stored place must be the canonical
 * encoding of a valid place, so each place has exactly one spelling.
 *
 * @module crypto/places
 */

import { equal, requireBytes } from "./bytes.js";
import { Kind } from "./envelope.js";
import { MalformedEnvelope } from "./errors.js";
import { decodeJson, encodeJson } from "./json.js";
import { checkContext } from "./kdf.js";

export const PLACE_MIN = 2;
export const PLACE_MAX = 8192;
export const MAX_FILES = 100;
export const MAX_FACT_LENGTH = 256;

/**
 * The purposes each record kind may carry.
 *
 * @type {ReadonlyMap<number, ReadonlySet<string>>}
 */
export const PURPOSES = new Map([
  [Kind.REPORT, new Set(["report"])],
  [Kind.IDENTITY, new Set(["identity"])],
  [Kind.FILE_META, new Set(["file"])],
  [
    Kind.MESSAGE,
    new Set([
      "message",
      "notice",
      "withdrawal",
      "partial-withdrawal",
      "escalation",
      "re-denunciation",
      "retaliation",
      "retaliation-note",
      "protection-request",
      "protection-ask",
      "upgrade",
    ]),
  ],
  [Kind.NOTE, new Set(["grounds", "protection", "incident", "incident-note", "note"])],
]);
// Transcript entries (§13.5) have an entry number and a link; they alone may list files.
/** @type {ReadonlySet<number>} */
const TRANSCRIPT_KINDS = new Set([Kind.REPORT, Kind.MESSAGE]);
const LINKED_KINDS = TRANSCRIPT_KINDS;

const MEMBERS = new Set(["case", "purpose", "author", "entry", "prev", "files", "facts", "ref"]);
const REQUIRED = ["case", "purpose", "author"];
// Whole-string patterns (no "m" flag, so "$" is the very end), as Python's fullmatch.
const AUTHOR = /^(?:reporter|escrow|staff\/[1-9][0-9]{0,15})$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/;
const REF = /^[a-z][a-z_]{0,47}\/[1-9][0-9]{0,15}$/;
const FACT_NAME = /^[a-z][a-z_]{0,31}$/;

/** @typedef {string | number | boolean} FactValue  a string, a safe integer or a boolean */

/**
 * A place. Absent members may be left out, or be null (entry, prev, ref) or empty (files,
 * facts); decodePlace returns every member, frozen.
 *
 * @typedef {object} Place
 * @property {string} case - the case id
 * @property {string} purpose - one of PURPOSES.get(kind)
 * @property {string} author - "reporter", "escrow" or "staff/<account number>"
 * @property {number | null} [entry] - REPORT (0) and MESSAGE (1 or more) only
 * @property {string | null} [prev] - with entry: hex of the link before it (§13.5)
 * @property {readonly string[]} [files] - REPORT and MESSAGE: hex SHA-256 of FILE_META envelopes
 * @property {Readonly<Record<string, FactValue>>} [facts] - what the server stores and acts on
 * @property {string | null} [ref] - NOTE only: "<table>/<row id>"
 */

/**
 * @param {number} inspectorId - the author's account number
 * @returns {string} "staff/<inspectorId>"
 */
export function staffAuthor(inspectorId) {
  if (!Number.isSafeInteger(inspectorId) || inspectorId < 1) {
    throw new RangeError("an account number is a positive integer");
  }
  return `staff/${inspectorId}`;
}

/**
 * The JSON document of a place: absent, null and empty members left out, as the canonical
 * encoding has them.
 *
 * @param {Place} place
 * @returns {Record<string, unknown>}
 */
export function placeDocument(place) {
  /** @type {Record<string, unknown>} */
  const out = { case: place.case, purpose: place.purpose, author: place.author };
  for (const name of /** @type {const} */ (["entry", "prev", "ref"])) {
    if (place[name] != null) {
      out[name] = place[name];
    }
  }
  if (place.files?.length) {
    out.files = [...place.files];
  }
  if (place.facts && Object.keys(place.facts).length > 0) {
    out.facts = { ...place.facts };
  }
  return out;
}

/**
 * Check a place for `kind` and return its canonical bytes.
 *
 * @param {number} kind
 * @param {Place} place
 * @returns {Uint8Array} 2 to 4,096 bytes
 * @throws {RangeError | TypeError} a place that breaks §13.3 is the writer's mistake
 */
export function encodePlace(kind, place) {
  /** @type {Required<Place>} */
  let full;
  try {
    full = completePlace(place);
    checkPlace(kind, full);
  } catch (error) {
    if (error instanceof MalformedEnvelope) {
      throw new RangeError(error.message);
    }
    throw error;
  }
  const encoded = encodeJson(placeDocument(full));
  if (encoded.length < PLACE_MIN || encoded.length > PLACE_MAX) {
    throw new RangeError(`a place is ${PLACE_MIN} to ${PLACE_MAX} bytes`);
  }
  return encoded;
}

/**
 * Parse a stored place; anything but the canonical encoding of a valid place is malformed.
 *
 * @param {number} kind
 * @param {Uint8Array} raw
 * @returns {Readonly<Required<Place>>} every member present: null or empty when absent
 * @throws {MalformedEnvelope}
 */
export function decodePlace(kind, raw) {
  requireBytes(raw, "a place");
  if (raw.length < PLACE_MIN || raw.length > PLACE_MAX) {
    throw new MalformedEnvelope(`a place is ${PLACE_MIN} to ${PLACE_MAX} bytes`);
  }
  /** @type {unknown} */
  let document;
  try {
    document = decodeJson(raw);
  } catch {
    throw new MalformedEnvelope("the record's place is not JSON");
  }
  const place = completePlace(/** @type {Place} */ (document));
  checkPlace(kind, place);
  /** @type {Uint8Array} */
  let canonical;
  try {
    canonical = encodeJson(placeDocument(place));
  } catch {
    canonical = new Uint8Array(0); // a value with no canonical form (a lone surrogate)
  }
  if (!equal(canonical, raw)) {
    throw new MalformedEnvelope("the record's place is not in canonical form");
  }
  return Object.freeze({
    ...place,
    files: Object.freeze([...place.files]),
    facts: Object.freeze({ ...place.facts }),
  });
}

/**
 * Every member, absent ones as null, [] or {}. Refuses unknown members (in a writer's
 * place too, where a misspelt one would otherwise be dropped unseen), missing ones, and
 * files or facts of the wrong type.
 *
 * @param {Place} place
 * @returns {Required<Place>}
 * @throws {MalformedEnvelope}
 */
function completePlace(place) {
  if (!isObject(place)) {
    throw new MalformedEnvelope("the record's place is not an object");
  }
  const names = Object.keys(place);
  if (!names.every((name) => MEMBERS.has(name)) || !REQUIRED.every((n) => names.includes(n))) {
    throw new MalformedEnvelope("the record's place has unknown or missing fields");
  }
  // Left out means none; null is a wrong type here, as in Python (a JSON null is not a list).
  const { files = [], facts = {} } = place;
  if (!Array.isArray(files) || !isObject(facts)) {
    throw new MalformedEnvelope("the record's files or facts have the wrong type");
  }
  return {
    case: place.case,
    purpose: place.purpose,
    author: place.author,
    entry: place.entry ?? null,
    prev: place.prev ?? null,
    files: [...files],
    facts: { ...facts },
    ref: place.ref ?? null,
  };
}

/**
 * Every rule of §13.3, in crypto/places.py's order.
 *
 * @param {number} kind
 * @param {Required<Place>} place
 * @throws {MalformedEnvelope} naming the first rule broken
 */
function checkPlace(kind, place) {
  must(isContext(place.case), "case id");
  must(PURPOSES.get(kind)?.has(place.purpose) === true, "purpose for this kind");
  must(typeof place.author === "string" && AUTHOR.test(place.author), "author");
  checkPosition(kind, place);
  must(LINKED_KINDS.has(kind) || place.files.length === 0, "files only on reports and messages");
  must(place.files.length <= MAX_FILES, "number of files");
  must(place.files.every(isDigest), "file digests");
  must(new Set(place.files).size === place.files.length, "files listed once each");
  must(
    Object.entries(place.facts).every(([name, value]) => isFact(name, value)),
    "facts",
  );
  if (place.ref !== null) {
    const ref = place.ref;
    must(kind === Kind.NOTE && typeof ref === "string" && REF.test(ref), "ref only on notes");
  }
}

/**
 * @param {number} kind
 * @param {Required<Place>} place
 */
function checkPosition(kind, place) {
  if (!TRANSCRIPT_KINDS.has(kind)) {
    must(place.entry === null && place.prev === null, "no entry outside the transcript");
    return;
  }
  const entry = place.entry;
  must(Number.isSafeInteger(entry) && /** @type {number} */ (entry) >= 0, "entry number");
  must((entry === 0) === (kind === Kind.REPORT), "entry 0 is the report and only it");
  must(isDigest(place.prev), "link to the previous entry");
}

/**
 * @param {boolean} condition
 * @param {string} what
 */
function must(condition, what) {
  if (!condition) {
    throw new MalformedEnvelope(`the record's place has an invalid ${what}`);
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, any>} a JSON object: not null, not an array
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @param {unknown} value
 * @returns {boolean}
 */
function isContext(value) {
  try {
    checkContext(/** @type {string} */ (value));
    return true;
  } catch {
    return false;
  }
}

/**
 * @param {unknown} value
 * @returns {boolean}
 */
function isDigest(value) {
  return typeof value === "string" && HEX_DIGEST.test(value);
}

/**
 * @param {string} name
 * @param {unknown} value
 * @returns {boolean}
 */
function isFact(name, value) {
  if (!FACT_NAME.test(name)) {
    return false;
  }
  if (typeof value === "string") {
    return [...value].length <= MAX_FACT_LENGTH; // code points, as Python's len()
  }
  return typeof value === "boolean" || Number.isSafeInteger(value);
}
