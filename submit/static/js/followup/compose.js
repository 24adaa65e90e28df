/**
 * What the reporter sends to the unit, sealed in this browser with the case key
 * (docs/submission.md §1, §3): a message with files (MESSAGE, each file's stream through
 * the resumable upload client and its FILE_META), a retaliation report (NOTE, its kind in
 * plaintext so the unit can act before decrypting) and additions to it, a protection
 * request (NOTE; person, category and urgency in plaintext), an escalation and a
 * withdrawal (NOTE). The server receives ciphertext only.
 *
 * @module followup/compose
 */

import {
  b64uEncode,
  encryptBlob,
  FileEncryptor,
  Kind,
  sealFileMeta,
  sealJson,
  streamLength,
} from "../crypto/index.js";
import { send } from "../report/api.js";
import { FileUnreadable } from "../report/submission.js";
import { Retry, sendStream, Upload } from "../report/upload.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./page.js").FollowupPage} FollowupPage */

// A file input without a type is sent by browsers as this; the no-JavaScript path too.
const UNKNOWN_TYPE = "application/octet-stream";
const FILES_SHARE = 0.95; // of the progress bar; the rest is the message itself

/**
 * How sending reports progress (the report page's Reporter, same shape).
 *
 * @typedef {import("../report/submission.js").Reporter} Reporter
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
 * Encrypt and upload each file, one after another. Each upload is recorded in `uploads`
 * as soon as it exists, so that a failure can discard it.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {File[]} files
 * @param {Reporter} reporter
 * @param {Upload[]} uploads
 * @returns {Promise<{upload: string, meta: string}[]>} the request's "attachments"
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
    const sealedMeta = await sealFileMeta(access.caseKey, access.caseId, meta);
    attachments.push({ upload: upload.id, meta: b64uEncode(sealedMeta) });
  }
  return attachments;
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
    const attachments = await sendFiles(page, access, reply.files, reporter, uploads);
    reporter.stage("progress-message");
    reporter.fraction(reply.files.length > 0 ? FILES_SHARE : null);
    // The server numbers attachments only once the message arrives, so the sealed list
    // cannot name them; the server links the files to the message it posts them with.
    const envelope = await sealJson(access.caseKey, Kind.MESSAGE, access.caseId, {
      schema: 1,
      text: reply.text,
      attachments: [],
    });
    await post(page.endpoints.messages, { envelope: b64uEncode(envelope), attachments });
    reporter.fraction(1);
  } catch (error) {
    await Promise.all(uploads.map((upload) => upload.discard()));
    throw error;
  }
}

/**
 * A NOTE record.
 *
 * @param {CaseAccess} access
 * @param {Record<string, unknown>} document
 * @returns {Promise<string>} b64u
 */
async function sealNote(access, document) {
  return b64uEncode(await sealJson(access.caseKey, Kind.NOTE, access.caseId, document));
}

/**
 * Report retaliation: what happened sealed; the kind and the date also in plaintext, as
 * the no-JavaScript path records them, so that the unit sees the incident (and its date,
 * for the incident log) before decrypting anything.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{kind: string, text: string, occurredOn: string | null}} report
 */
export async function sendRetaliation(page, access, report) {
  const note = await sealNote(access, {
    schema: 1,
    text: report.text,
    occurred_on: report.occurredOn,
  });
  /** @type {Record<string, string>} */
  const request = { kind: report.kind, note };
  if (report.occurredOn !== null) {
    request.occurred_on = report.occurredOn;
  }
  await post(page.endpoints.retaliation, request);
}

/**
 * Withdraw the report, with the reporter's reasons sealed (possibly empty).
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {string} reasons
 */
export async function sendWithdrawal(page, access, reasons) {
  // As the no-JavaScript path seals it (views/followup.py): the reasons only.
  const note = await sealNote(access, { schema: 1, text: reasons });
  await post(page.endpoints.withdraw, { note });
}

/**
 * Escalate an overdue case to the head of the unit, with a note sealed here.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {string} text
 */
export async function sendEscalation(page, access, text) {
  const note = await sealNote(access, { schema: 1, text });
  await post(page.endpoints.escalate, { note });
}

/**
 * Ask for protection: who and what in plaintext, as the no-JavaScript path records them,
 * so that the unit can act on an urgent request before decrypting; the account sealed.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {{person: string, category: string, urgent: boolean, text: string}} request
 */
export async function sendProtection(page, access, request) {
  const note = await sealNote(access, { schema: 1, text: request.text });
  await post(page.endpoints.protection, {
    person: request.person,
    category: request.category,
    urgent: request.urgent,
    note,
  });
}

/**
 * Add to a retaliation report made earlier.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {number} incident - its id from the case view
 * @param {string} text
 */
export async function sendIncidentNote(page, access, incident, text) {
  const note = await sealNote(access, { schema: 1, text });
  await post(page.incidentNoteUrl(incident), { note });
}

/**
 * Ask to change, add to or end the measures of a protection in place.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @param {number} record - its id from the case view
 * @param {{ask: string, text: string}} request
 */
export async function sendAsk(page, access, record, request) {
  const note = await sealNote(access, { schema: 1, text: request.text });
  await post(page.protectionAskUrl(record), { ask: request.ask, note });
}
