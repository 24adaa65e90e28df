/**
 * What the reporter sends to the unit, sealed in this browser with the case key and signed
 * with the reporter's key from the code (docs/submission.md §1, §3; docs/crypto.md §13.5):
 * each is the next entry of the case's transcript, a MESSAGE that names its place (purpose,
 * number, the link to the entry before it, its files, and the facts the server stores in
 * plaintext so the unit can act before decrypting). A message with files (each file's
 * stream through the resumable upload client and its FILE_META, signed too), a retaliation
 * report and additions to it, a protection request and asks about protection in place, an
 * escalation, a re-denunciation and a withdrawal. The server receives ciphertext and those facts only.
 *
 * When another entry arrived since the page read the case, the server answers
 * "conversation_changed": the page reads the case again and seals anew over its new end.
 *
 * @module followup/compose
 */

import {
  b64uEncode,
  encryptBlob,
  FileEncryptor,
  Kind,
  sealBoundJson,
  streamLength,
} from "../crypto/index.js";
import { ApiError, send } from "../report/api.js";
import { fileDigests, REPORTER, sealReporterFileMeta } from "../report/signed.js";
import { FileUnreadable } from "../report/submission.js";
import { Retry, sendStream, Upload } from "../report/upload.js";
import { refreshView } from "./access.js";
import { headOf } from "./messages.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./access.js").Head} Head */
/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("../crypto/places.js").FactValue} FactValue */

// A file input without a type is sent by browsers as this; the no-JavaScript path too.
const UNKNOWN_TYPE = "application/octet-stream";
const FILES_SHARE = 0.95; // of the progress bar; the rest is the message itself
// After each refusal the page reads the case again and seals anew: more than this many
// entries arriving while one is being sent is no race but a server that never takes it.
const MAX_SEALS = 4;
const CONVERSATION_CHANGED = "conversation_changed";

/**
 * How sending reports progress (the report page's Reporter, same shape).
 *
 * @typedef {import("../report/submission.js").Reporter} Reporter
 */

/**
 * One transcript entry to send: what it is and says, and the rest of the request.
 *
 * @typedef {object} Entry
 * @property {string} url
 * @property {string} purpose
 * @property {Record<string, unknown>} document - sealed
 * @property {Record<string, FactValue>} [facts] - what its place binds of the plaintext the
 *   server stores (docs/crypto.md §13.3): the request's fields, or the address's id
 * @property {Uint8Array[]} [files] - the FILE_META envelopes it carries
 * @property {Record<string, unknown>} [fields] - the request's fields besides the envelope
 */

/**
 * POST a JSON document; the answer's body, if any, is not needed.
 *
 * @param {string} url
 * @param {unknown} document
 * @returns {Promise<Response>}
 */
export function post(url, document) {
  return send("POST", url, {
    body: JSON.stringify(document),
    headers: { "Content-Type": "application/json", Accept: "application/json" },
  });
}

/**
 * The encrypted file, read a slice at a time; a read failure becomes FileUnreadable.
 *
 * @param {FileEncryptor} encryptor
 * @param {File} file
 * @returns {AsyncGenerator<Uint8Array, void, void>}
 */
async function* encryptedFile(encryptor, file) {
  try {
    yield* encryptBlob(encryptor, file);
  } catch {
    throw new FileUnreadable();
  }
}

/**
 * Encrypt and upload each file, one after another, and seal its description, signed. Each
 * upload is recorded in `uploads` as soon as it exists, so that a failure can discard it.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {File[]} files
 * @param {Reporter} reporter
 * @param {Upload[]} uploads
 * @returns {Promise<{upload: string, meta: string, sealed: Uint8Array}[]>} the request's
 *   "attachments", each with its FILE_META envelope as bytes
 */
async function sendFiles(page, access, files, reporter, uploads) {
  const total = files.reduce((sum, file) => sum + streamLength(file.size), 0);
  let done = 0;
  const attachments = [];
  for (const [index, file] of files.entries()) {
    reporter.stage("progress-file", { number: index + 1, count: files.length });
    reporter.fraction((FILES_SHARE * done) / total);
    const length = streamLength(file.size);
    const retry = new Retry(reporter.retrying);
    const upload = await Upload.create(page.endpoints, length, retry);
    uploads.push(upload);
    const encryptor = await FileEncryptor.create(access.caseKey, access.caseId);
    await sendStream(upload, encryptedFile(encryptor, file), length, retry, (sent) =>
      reporter.fraction((FILES_SHARE * (done + sent)) / total),
    );
    done += length;
    const meta = encryptor.metadata(file.name, file.type || UNKNOWN_TYPE);
    const sealed = await sealReporterFileMeta(access.caseKey, access.caseId, meta, access.signer);
    attachments.push({ upload: upload.id, meta: b64uEncode(sealed), sealed });
  }
  return attachments;
}

/**
 * Seal an entry at `head`: its place says where it goes, and the reporter signs it.
 *
 * @param {CaseAccess} access
 * @param {Head} head
 * @param {Entry} entry
 * @returns {Promise<Uint8Array>}
 */
async function sealEntry(access, head, entry) {
  const place = {
    case: access.caseId,
    purpose: entry.purpose,
    author: REPORTER,
    entry: head.entry,
    prev: head.prev,
    files: await fileDigests(entry.files ?? []),
    facts: entry.facts ?? {},
  };
  return sealBoundJson(access.caseKey, Kind.MESSAGE, place, entry.document, access.signer.privateKey);
}

/**
 * Where the next entry goes, read from the server afresh.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @returns {Promise<Head | null>}
 */
async function readHead(page, access) {
  const head = await headOf(await refreshView(page, access));
  if (!access.forgotten) {
    access.head = head;
  }
  return head;
}

/**
 * Seal the entry over the end of the conversation the page knows, and post it. If
 * something arrived meanwhile, read the case again and seal anew; what the reporter wrote
 * is in `entry`, so nothing of it is lost however often that happens.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {Entry} entry
 * @returns {Promise<Response>}
 * @throws {ApiError | import("../report/api.js").NetworkError |
 *   import("./access.js").CaseUnreadable}
 */
async function sendEntry(page, access, entry) {
  let head = access.head ?? (await readHead(page, access));
  for (let seals = 1; ; seals++) {
    if (head === null) {
      throw new ApiError(0, "no_transcript", ""); // a purged case takes no entries
    }
    const envelope = await sealEntry(access, head, entry);
    try {
      return await post(entry.url, { ...entry.fields, envelope: b64uEncode(envelope) });
    } catch (error) {
      const changed = error instanceof ApiError && error.code === CONVERSATION_CHANGED;
      if (!changed || seals >= MAX_SEALS) {
        throw error;
      }
      head = await readHead(page, access);
    }
  }
}

/**
 * Send a message with files: upload the files, then post the sealed message that claims
 * them. If anything fails, the uploads are dropped and the reporter can send again.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{text: string, files: File[]}} reply
 * @param {Reporter} reporter
 * @throws {import("../report/api.js").ApiError | import("../report/api.js").NetworkError |
 *   FileUnreadable | import("../report/upload.js").UploadLost}
 */
export async function sendReply(page, access, reply, reporter) {
  /** @type {Upload[]} */
  const uploads = [];
  try {
    const sent = await sendFiles(page, access, reply.files, reporter, uploads);
    reporter.stage("progress-message");
    reporter.fraction(reply.files.length > 0 ? FILES_SHARE : null);
    // The server numbers attachments only once the message arrives, so the sealed list
    // cannot name them; the place names their descriptions instead (§13.3 files).
    const attachments = sent.map(({ upload, meta }) => ({ upload, meta }));
    await sendEntry(page, access, {
      url: page.endpoints.messages,
      purpose: "message",
      document: { schema: 1, text: reply.text, attachments: [] },
      files: sent.map((item) => item.sealed),
      fields: { attachments },
    });
    reporter.fraction(1);
  } catch (error) {
    await Promise.all(uploads.map((upload) => upload.discard()));
    throw error;
  }
}

/**
 * Report retaliation: what happened sealed; the kind and the date also in plaintext and in
 * the entry's facts, as the no-JavaScript path records them, so that the unit sees the
 * incident (and its date, for the incident log) before decrypting anything.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{kind: string, text: string, occurredOn: string | null}} report
 */
export async function sendRetaliation(page, access, report) {
  /** @type {Record<string, string>} */
  const facts = { kind: report.kind };
  if (report.occurredOn !== null) {
    facts.occurred_on = report.occurredOn;
  }
  await sendEntry(page, access, {
    url: page.endpoints.retaliation,
    purpose: "retaliation",
    document: { schema: 1, text: report.text, occurred_on: report.occurredOn },
    facts,
    fields: facts,
  });
}

/**
 * Withdraw the whole report, with the reporter's reasons sealed (possibly empty), or part
 * of it (LTC Art. 33): then the sealed words say which part, and the entry's purpose is
 * "partial-withdrawal".
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{scope: "all" | "part", reasons: string}} withdrawal
 */
export async function sendWithdrawal(page, access, withdrawal) {
  // As the no-JavaScript path seals it (views/followup.py): the words only.
  const part = withdrawal.scope === "part";
  await sendEntry(page, access, {
    url: page.endpoints.withdraw,
    purpose: part ? "partial-withdrawal" : "withdrawal",
    document: { schema: 1, text: withdrawal.reasons },
    fields: part ? { scope: "part" } : {},
  });
}

/**
 * Re-denounce a resolution believed unlawful to the head of the directly superior unit
 * (Art. 37), with the reasons sealed here.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {string} text
 */
export async function sendReDenunciation(page, access, text) {
  await sendEntry(page, access, {
    url: page.endpoints.reDenounce,
    purpose: "re-denunciation",
    document: { schema: 1, text },
  });
}

/**
 * Escalate an overdue case to the head of the directly superior unit, with a note sealed
 * here.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {string} text
 */
export async function sendEscalation(page, access, text) {
  await sendEntry(page, access, {
    url: page.endpoints.escalate,
    purpose: "escalation",
    document: { schema: 1, text },
  });
}

/**
 * Ask for protection: who, what and how urgent in plaintext and in the entry's facts, as
 * the no-JavaScript path records them, so that the unit can act on an urgent request
 * before decrypting; the account sealed.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{person: string, category: string, urgent: boolean, text: string}} request
 */
export async function sendProtection(page, access, request) {
  const facts = { person: request.person, category: request.category, urgent: request.urgent };
  await sendEntry(page, access, {
    url: page.endpoints.protection,
    purpose: "protection-request",
    document: { schema: 1, text: request.text },
    facts,
    fields: facts,
  });
}

/**
 * Add to a retaliation report made earlier.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {number} incident - its id from the case view; the address names it too
 * @param {string} text
 */
export async function sendIncidentNote(page, access, incident, text) {
  await sendEntry(page, access, {
    url: page.incidentNoteUrl(incident),
    purpose: "retaliation-note",
    document: { schema: 1, text },
    facts: { incident },
  });
}

/**
 * Ask to change, add to or end the measures of a protection in place.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {number} record - its id from the case view; the address names it too
 * @param {{ask: string, text: string}} request
 */
export async function sendAsk(page, access, record, request) {
  await sendEntry(page, access, {
    url: page.protectionAskUrl(record),
    purpose: "protection-ask",
    document: { schema: 1, text: request.text },
    facts: { protection: record, ask: request.ask },
    fields: { ask: request.ask },
  });
}
