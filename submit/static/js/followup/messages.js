/**
 * The conversation of the case, checked and decrypted in this browser (docs/crypto.md
 * §13.5, §13.6): the report, entry 0, then every message in transcript order, each MESSAGE
 * record ({"schema", "text", "attachments"}, docs/submission.md §1) and each attachment's
 * FILE_META (name, type, size) opened with the case key.
 *
 * An entry of protocol version 2 must be signed by the author its row names (the reporter:
 * the key derived from the code in this page, never a copy from the server; staff: the
 * verifying key the case view lists for them), open, and say it is where the row puts it:
 * its purpose, author, number and files. Anything else is shown as altered. An entry of
 * version 1 opens as before and is carried (§13.7). Each entry's link is checked against
 * the entry before it, so a deleted or moved entry shows where it happened.
 *
 * One entry that fails is shown as such; it does not hide the others.
 *
 * @module followup/messages
 */

import {
  b64uDecode,
  checkOrder,
  CryptoError,
  envelopeVersion,
  genesis,
  Kind,
  nextLink,
  openBoundJson,
  openFileMeta,
  openJson,
  Position,
  readPlace,
  staffAuthor,
  VERSION_2,
} from "../crypto/index.js";
import { fileDigestsOf, openSignedFileMeta, REPORTER, toHex } from "../report/signed.js";
import { openAnswers } from "./answers.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./access.js").CaseView} CaseView */
/** @typedef {import("./access.js").Head} Head */
/** @typedef {import("./access.js").RawMessage} RawMessage */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */
/** @typedef {import("../crypto/places.js").Place} Place */

/**
 * @typedef {object} OpenAttachment
 * @property {number} id
 * @property {FileMeta | null} meta - null when the metadata does not open
 * @property {boolean} downloadable - the unit's files only: the reporter's own are not
 *   sent back (casework/followup.py unit_file)
 */

/**
 * @typedef {object} OpenMessage
 * @property {number} id
 * @property {string} author - "reporter" or "inspector"
 * @property {string} createdOn - YYYY-MM-DD
 * @property {string} purpose - "message", "notice", "withdrawal", ...
 * @property {string | null} text - null when the entry is altered
 * @property {boolean} outOfOrder - an entry before it is missing, or it was moved
 * @property {OpenAttachment[]} attachments
 */

/**
 * @typedef {object} Thread
 * @property {boolean} reportAltered - the report does not open as written, or is not entry 0
 * @property {OpenMessage[]} messages - in transcript order
 * @property {number} entries - how many entries there are, the report included
 * @property {Head | null} head - where the reporter's next entry goes; null once purged
 * @property {import("./answers.js").OpenAnswer[]} answers - the heads' answers, opened
 */

/**
 * One entry as found: its bytes, the place it claims (null for version 1), and what the
 * row says it must be.
 *
 * @typedef {object} Found
 * @property {Uint8Array} envelope
 * @property {Place | null} claimed
 * @property {boolean} malformed - the envelope or its place cannot even be read
 */

/** A place no entry can have: judged out of order, as crypto/transcript.py judges it. */
const UNREADABLE_PLACE = /** @type {Place} */ ({ case: "-", purpose: "-", author: "-", prev: null });

/**
 * The entries of the case view in transcript order: by number, those not yet numbered
 * (protocol 1) after them in the order they were written, as the server numbers them.
 *
 * @param {RawMessage[]} messages
 * @returns {RawMessage[]}
 */
export function transcriptOrder(messages) {
  const rank = (/** @type {RawMessage} */ m) => (typeof m.seq === "number" ? m.seq : Infinity);
  return [...messages].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
}

/**
 * @param {unknown} text - b64u
 * @returns {Uint8Array | null}
 */
function bytesOf(text) {
  try {
    return b64uDecode(/** @type {string} */ (text));
  } catch (error) {
    if (error instanceof CryptoError) {
      return null;
    }
    throw error;
  }
}

/**
 * @param {number} kind
 * @param {string | null | undefined} text
 * @returns {Found}
 */
function found(kind, text) {
  const envelope = bytesOf(text);
  if (envelope === null || envelope.length === 0) {
    return { envelope: envelope ?? new Uint8Array(0), claimed: null, malformed: true };
  }
  if (envelopeVersion(envelope) !== VERSION_2) {
    return { envelope, claimed: null, malformed: false }; // version 1: carried
  }
  try {
    return { envelope, claimed: readPlace(kind, envelope), malformed: false };
  } catch (error) {
    if (error instanceof CryptoError) {
      return { envelope, claimed: UNREADABLE_PLACE, malformed: true };
    }
    throw error;
  }
}

/**
 * Where the next entry goes: link(-1) over the report, then over every entry in order.
 *
 * @param {string} caseId
 * @param {Uint8Array[]} envelopes - the report's first
 * @returns {Promise<Head>}
 */
async function headOver(caseId, envelopes) {
  let link = await genesis(caseId);
  for (const envelope of envelopes) {
    link = await nextLink(link, envelope);
  }
  return { entry: envelopes.length, prev: toHex(link) };
}

/**
 * Where the reporter's next entry goes, from a case view: no decryption needed.
 *
 * @param {CaseView} view
 * @returns {Promise<Head | null>} null when the case has no report (purged)
 */
export async function headOf(view) {
  const report = view.report == null ? null : bytesOf(view.report);
  if (report === null) {
    return null;
  }
  const envelopes = [report];
  for (const message of transcriptOrder(view.messages)) {
    envelopes.push(bytesOf(message.envelope) ?? new Uint8Array(0));
  }
  return headOver(view.case_id, envelopes);
}

/**
 * @param {readonly string[]} a
 * @param {readonly string[]} b
 * @returns {boolean}
 */
function sameList(a, b) {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/**
 * Open an entry of either version and check it is where the row puts it.
 *
 * @param {CaseAccess} access
 * @param {number} kind - Kind.REPORT or Kind.MESSAGE
 * @param {Found} entry
 * @param {Place} expected - prev is checked only when given (the report's is fixed)
 * @param {Uint8Array | null} verifyingKey - the expected author's; null: none on record
 * @returns {Promise<unknown | null>} the document, or null when altered
 */
async function openEntry(access, kind, entry, expected, verifyingKey) {
  if (entry.malformed) {
    return null;
  }
  try {
    if (entry.claimed === null) {
      return await openJson(access.caseKey, kind, access.caseId, entry.envelope);
    }
    if (verifyingKey === null) {
      return null;
    }
    const { place, document } = await openBoundJson(
      access.caseKey,
      kind,
      entry.envelope,
      verifyingKey,
    );
    const where =
      place.case === expected.case &&
      place.purpose === expected.purpose &&
      place.author === expected.author &&
      place.entry === expected.entry &&
      (expected.prev == null || place.prev === expected.prev) &&
      sameList(place.files ?? [], expected.files ?? []);
    return where ? document : null;
  } catch (error) {
    if (error instanceof CryptoError) {
      return null;
    }
    throw error;
  }
}

/**
 * The place `author` of a message's row, and the key that checks its signature.
 *
 * @param {CaseAccess} access
 * @param {CaseView} view
 * @param {RawMessage} message
 * @returns {{author: string, key: Uint8Array | null}}
 */
function authorOf(access, view, message) {
  if (message.author === "reporter") {
    return { author: REPORTER, key: access.signer.publicKey };
  }
  let author;
  try {
    author = staffAuthor(/** @type {number} */ (message.inspector));
  } catch {
    return { author: "-", key: null }; // a staff row naming nobody: nothing verifies it
  }
  const text = view.signing_keys?.[author];
  return { author, key: typeof text === "string" ? bytesOf(text) : null };
}

/**
 * @param {CaseAccess} access
 * @param {{id: number, meta: string, downloadable?: boolean}} attachment
 * @param {boolean} fromUnit
 * @param {{author: string, key: Uint8Array | null}} signer - the carrying entry's author
 * @returns {Promise<OpenAttachment>}
 */
async function openAttachment(access, attachment, fromUnit, signer) {
  const { id } = attachment;
  const downloadable =
    typeof attachment.downloadable === "boolean" ? attachment.downloadable : fromUnit;
  try {
    const blob = b64uDecode(attachment.meta);
    let meta;
    if (blob.length > 0 && envelopeVersion(blob) === VERSION_2) {
      if (signer.key === null) {
        return { id, meta: null, downloadable: false };
      }
      meta = await openSignedFileMeta(
        access.caseKey,
        access.caseId,
        blob,
        signer.author,
        signer.key,
      );
    } else {
      meta = await openFileMeta(access.caseKey, access.caseId, blob);
    }
    return { id, meta, downloadable };
  } catch (error) {
    if (error instanceof CryptoError) {
      return { id, meta: null, downloadable: false };
    }
    throw error;
  }
}

/**
 * @param {unknown} document
 * @returns {string | null}
 */
function textOf(document) {
  const text = /** @type {{text?: unknown} | null} */ (document)?.text;
  return typeof text === "string" ? text : null;
}

/**
 * Check and open the whole conversation of a case view.
 *
 * @param {CaseAccess} access
 * @param {CaseView} view
 * @returns {Promise<Thread>}
 */
export async function openThread(access, view) {
  const caseId = access.caseId;
  const ordered = transcriptOrder(Array.isArray(view.messages) ? view.messages : []);
  const hasReport = typeof view.report === "string";
  const report = hasReport ? found(Kind.REPORT, view.report) : null;
  const entries = ordered.map((message) => found(Kind.MESSAGE, message.envelope));

  let reportAltered = false;
  if (report !== null) {
    const digests = await fileDigestsOf(view.report_files ?? []).catch(() => null);
    const expected = {
      case: caseId,
      purpose: "report",
      author: REPORTER,
      entry: 0,
      prev: toHex(await genesis(caseId)),
      files: digests ?? ["-"],
    };
    const key = access.signer.publicKey;
    reportAltered = (await openEntry(access, Kind.REPORT, report, expected, key)) === null;
  }

  const all = report === null ? entries : [report, ...entries];
  const positions = await checkOrder(
    caseId,
    all.map(({ envelope, claimed }) => ({ envelope, place: claimed })),
  );
  const messagePositions = report === null ? positions : positions.slice(1);

  const messages = await Promise.all(
    ordered.map(async (message, index) => {
      const signer = authorOf(access, view, message);
      const attachments = Array.isArray(message.attachments) ? message.attachments : [];
      const purpose = typeof message.purpose === "string" ? message.purpose : "message";
      const digests = await fileDigestsOf(attachments.map((item) => item.meta)).catch(
        () => null,
      );
      const expected = {
        case: caseId,
        purpose,
        author: signer.author,
        entry: message.seq ?? null,
        files: digests ?? ["-"],
      };
      const document = await openEntry(access, Kind.MESSAGE, entries[index], expected, signer.key);
      const fromUnit = message.author === "inspector";
      return {
        id: message.id,
        author: message.author,
        createdOn: message.created_on,
        purpose,
        text: document === null ? null : textOf(document),
        outOfOrder: messagePositions[index] === Position.OUT_OF_ORDER,
        attachments: await Promise.all(
          attachments.map((item) => openAttachment(access, item, fromUnit, signer)),
        ),
      };
    }),
  );

  const head = report === null ? null : await headOver(caseId, all.map((e) => e.envelope));
  const answers = await openAnswers(access, view);
  return { reportAltered, messages, entries: all.length, head, answers };
}
