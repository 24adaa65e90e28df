/**
 * The heads' answers to the reporter's escalation or re-denunciation (docs/crypto.md
 * §13.8): each a NOTE under a key of its own, wrapped to the reporter. Opened here with the
 * reporter's key; an answer that does not unwrap, verify, open, or sit in its own place
 * reads as altered, never as an error.
 *
 * @module followup/answers
 */

import {
  b64uDecode,
  CryptoError,
  Kind,
  openBoundJson,
  Purpose,
  staffAuthor,
  unwrap,
} from "../crypto/index.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./access.js").CaseView} CaseView */
/** @typedef {import("./access.js").RawAnswer} RawAnswer */

/**
 * @typedef {object} OpenAnswer
 * @property {number} id
 * @property {string} label - what it answers, in words
 * @property {string} answeredOn - YYYY-MM-DD
 * @property {string | null} text - null: altered
 */

/**
 * @param {CaseAccess} access
 * @param {CaseView} view
 * @returns {Promise<OpenAnswer[]>}
 */
export async function openAnswers(access, view) {
  const answers = Array.isArray(view.answers) ? view.answers : [];
  return Promise.all(
    answers.map(async (answer) => ({
      id: answer.id,
      label: answer.label,
      answeredOn: answer.answered_on,
      text: await openAnswer(access, view, answer),
    })),
  );
}

/**
 * @param {CaseAccess} access
 * @param {CaseView} view
 * @param {RawAnswer} answer
 * @returns {Promise<string | null>}
 */
async function openAnswer(access, view, answer) {
  /** @type {Uint8Array | null} */
  let key = null;
  try {
    const author = staffAuthor(answer.inspector);
    const verifying = view.signing_keys?.[author];
    if (typeof verifying !== "string") {
      return null;
    }
    const wrapped = b64uDecode(answer.wrap);
    key = await unwrap(wrapped, access.reporterKey, Purpose.RECORD_KEY, access.caseId);
    const record = b64uDecode(answer.record);
    const { place, document } = await openBoundJson(
      key,
      Kind.NOTE,
      record,
      b64uDecode(verifying),
    );
    const where =
      place.case === access.caseId &&
      place.purpose === "grounds" &&
      place.author === author &&
      place.ref === `case_events/${answer.id}`;
    const text = /** @type {{text?: unknown}} */ (document ?? {}).text;
    return where && typeof text === "string" ? text : null;
  } catch (error) {
    if (error instanceof CryptoError || error instanceof RangeError) {
      return null;
    }
    throw error;
  } finally {
    key?.fill(0);
  }
}
