/**
 * Sending a checked report, encrypted on this device (docs/crypto.md §9, §13): new keys and
 * a follow-up code, each file encrypted while it uploads and its description sealed, then
 * the report (which names those descriptions) and the identity, the key wraps, and the
 * envelope (POST /reports). Every record is signed with the reporter's key from the code;
 * the server checks the signatures with the verifying key sent along. The server sees
 * ciphertext, public keys and the lookup token only; the code stays in this page's memory.
 *
 * @module report/submission
 */

import { b64uEncode, encryptBlob, FileEncryptor, streamLength } from "../crypto/index.js";
import { ApiError, getJson, postJson, proofOfWork } from "./api.js";
import { CaseKeys, sealDocuments, wrapKeys } from "./envelope.js";
import { sealReporterFileMeta } from "./signed.js";
import { Retry, sendStream, Upload } from "./upload.js";

/** @typedef {import("./page.js").Page} Page */
/** @typedef {import("./form.js").ValidReport} ValidReport */
/** @typedef {import("./form.js").AttachedFile} AttachedFile */
/** @typedef {import("./envelope.js").Recipients} Recipients */

const MAX_REWRAPS = 3; // the unit's readers changed while this report was being sent
const FILES_SHARE = 0.95; // of the progress bar; the rest is the envelope
// The API's answers when the readers changed since they were fetched.
const RECIPIENTS_CHANGED = new Set(["recipients_changed", "unknown_exclusion"]);

/**
 * How the submission reports progress.
 *
 * @typedef {object} Reporter
 * @property {(key: string, values?: Record<string, string | number>) => void} stage
 * @property {(fraction: number | null) => void} fraction
 * @property {() => void} retrying - a request failed and is being tried again
 */

/** A file could not be read: moved, deleted or changed since it was chosen. */
export class FileUnreadable extends Error {
  constructor() {
    super("a file could not be read");
    this.name = "FileUnreadable";
  }
}

/**
 * @typedef {object} Sent
 * @property {string} code - the follow-up code, display form
 * @property {string} reference - the case's public reference
 */

/**
 * @param {Page} page
 * @param {ValidReport} valid
 * @param {Reporter} reporter
 * @returns {Promise<Sent>}
 * @throws {import("./api.js").ApiError | import("./api.js").NetworkError | FileUnreadable}
 */
export async function submitReport(page, valid, reporter) {
  reporter.stage("progress-preparing");
  reporter.fraction(null);
  const retry = new Retry(reporter.retrying);
  const recipients = await fetchRecipients(page, retry);
  const keys = await CaseKeys.generate(valid.identity !== null);
  /** @type {Upload[]} */
  const uploads = [];
  try {
    const files = await sendFiles(page, keys, valid.files, reporter, uploads);
    reporter.stage("progress-sending");
    const metas = files.map((file) => file.sealed);
    const sealed = await sealDocuments(keys, valid.report, valid.identity, valid.category, metas);
    const attachments = files.map(({ upload, meta }) => ({ upload, meta }));
    const state = { recipients, retry };
    const reference = await sendEnvelope(page, keys, valid, { ...sealed, attachments }, state);
    reporter.fraction(1);
    return { code: keys.code.display(), reference };
  } catch (error) {
    // Not awaited: with the network gone these would delay the message by minutes.
    for (const upload of uploads) {
      upload.discard();
    }
    throw error;
  } finally {
    keys.forget();
  }
}

/**
 * @param {Page} page
 * @param {Retry} retry
 * @returns {Promise<Recipients>}
 */
async function fetchRecipients(page, retry) {
  for (;;) {
    try {
      const recipients = await getJson(page.endpoints.recipients);
      retry.succeeded();
      return recipients;
    } catch (error) {
      await retry.after(error);
    }
  }
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
 * Upload every file, one after another; each upload is recorded in `uploads` as soon as
 * it exists, so that a failure can discard it.
 *
 * @param {Page} page
 * @param {CaseKeys} keys
 * @param {AttachedFile[]} files
 * @param {Reporter} reporter
 * @param {Upload[]} uploads
 * @returns {Promise<{upload: string, meta: string, sealed: Uint8Array}[]>} the envelope's
 *   "attachments", each with its FILE_META envelope as bytes
 */
async function sendFiles(page, keys, files, reporter, uploads) {
  const total = files.reduce((sum, item) => sum + streamLength(item.file.size), 0);
  let done = 0;
  const attachments = [];
  for (const [index, item] of files.entries()) {
    reporter.stage("progress-file", { number: index + 1, count: files.length });
    reporter.fraction((FILES_SHARE * done) / total);
    const length = streamLength(item.file.size);
    const retry = new Retry(reporter.retrying);
    const upload = await Upload.create(page.endpoints, length, retry);
    uploads.push(upload);
    const encryptor = await FileEncryptor.create(keys.caseKey, keys.caseId);
    await sendStream(upload, encryptedFile(encryptor, item.file), length, retry, (sent) =>
      reporter.fraction((FILES_SHARE * (done + sent)) / total),
    );
    done += length;
    const meta = encryptor.metadata(item.name, item.type);
    const sealed = await sealReporterFileMeta(keys.caseKey, keys.caseId, meta, keys.signer);
    attachments.push({ upload: upload.id, meta: b64uEncode(sealed), sealed });
  }
  return attachments;
}

/**
 * The envelope without wraps and proof of work: what stays the same on every try.
 *
 * @typedef {object} Sealed
 * @property {string} report
 * @property {string | null} identity
 * @property {{upload: string, meta: string}[]} attachments
 */

/**
 * POST the envelope. When the unit's readers changed meanwhile, fetch them again and
 * wrap the keys anew (the uploads stay). When the connection drops, send it again: if
 * the first one did arrive, the server says so (duplicate_case) and that is success.
 *
 * @param {Page} page
 * @param {CaseKeys} keys
 * @param {ValidReport} valid
 * @param {Sealed} sealed
 * @param {{recipients: Recipients, retry: Retry}} state
 * @returns {Promise<string>} the public reference
 */
async function sendEnvelope(page, keys, valid, sealed, { recipients, retry }) {
  let rewraps = 0;
  let posted = 0;
  for (;;) {
    const readers = new Set(recipients.readers.map((reader) => reader.id));
    // Someone who no longer reads reports needs no exclusion: they get nothing anyway.
    const excluded = valid.excluded.filter((id) => readers.has(id));
    const envelope = {
      case_id: keys.caseId,
      category: valid.category,
      report: sealed.report,
      identity: sealed.identity,
      reporter_public_key: b64uEncode(keys.reporterPublicKey),
      reporter_signing_key: b64uEncode(keys.signer.publicKey),
      lookup_token: b64uEncode(keys.lookupToken),
      wraps: await wrapKeys(keys, recipients, excluded),
      attachments: sealed.attachments,
      excluded,
      protection: valid.protection,
      pow: "",
    };
    try {
      envelope.pow = await proofOfWork(page.endpoints, "report");
      posted++;
      const { body } = await postJson(page.endpoints.reports, envelope);
      if (typeof body?.reference !== "string") {
        throw new ApiError(0, "malformed_answer", "");
      }
      return body.reference;
    } catch (error) {
      // Case ids are random: only an earlier try of this very report can be a duplicate.
      if (error instanceof ApiError && error.code === "duplicate_case" && posted > 1) {
        return publicReference(keys.caseId);
      }
      if (error instanceof ApiError && RECIPIENTS_CHANGED.has(error.code)) {
        if (++rewraps > MAX_REWRAPS) {
          throw error;
        }
        recipients = await fetchRecipients(page, retry);
        continue;
      }
      await retry.after(error);
    }
  }
}

/**
 * casework/intake.py public_reference(), for the one case where the server's answer was
 * lost: an earlier try of this same report was received.
 *
 * @param {string} caseId
 * @returns {string}
 */
function publicReference(caseId) {
  return `MB-${caseId.slice(0, 8).toUpperCase()}`;
}
