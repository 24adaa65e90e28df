/**
 * The conversation of the case, decrypted in this browser: each MESSAGE record
 * ({"schema", "text", "attachments"}, docs/submission.md §1) and each attachment's
 * FILE_META (name, type, size), opened with the case key.
 *
 * One message that does not open is shown as such; it does not hide the others.
 *
 * @module followup/messages
 */

import { b64uDecode, CryptoError, Kind, openFileMeta, openJson } from "../crypto/index.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./access.js").RawMessage} RawMessage */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */

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
 * @property {string | null} text - null when the message does not open
 * @property {OpenAttachment[]} attachments
 */

/**
 * @param {CaseAccess} access
 * @param {string} envelope - b64u
 * @returns {Promise<string | null>}
 */
async function openText(access, envelope) {
  try {
    const document = await openJson(
      access.caseKey,
      Kind.MESSAGE,
      access.caseId,
      b64uDecode(envelope),
    );
    const text = /** @type {{text?: unknown} | null} */ (document)?.text;
    return typeof text === "string" ? text : null;
  } catch (error) {
    if (error instanceof CryptoError) {
      return null;
    }
    throw error;
  }
}

/**
 * @param {CaseAccess} access
 * @param {{id: number, meta: string, downloadable?: boolean}} attachment
 * @param {boolean} fromUnit
 * @returns {Promise<OpenAttachment>}
 */
async function openAttachment(access, attachment, fromUnit) {
  const { id } = attachment;
  const downloadable =
    typeof attachment.downloadable === "boolean" ? attachment.downloadable : fromUnit;
  try {
    const meta = await openFileMeta(access.caseKey, access.caseId, b64uDecode(attachment.meta));
    return { id, meta, downloadable };
  } catch (error) {
    if (error instanceof CryptoError) {
      return { id, meta: null, downloadable: false };
    }
    throw error;
  }
}

/**
 * @param {CaseAccess} access
 * @param {RawMessage} message
 * @returns {Promise<OpenMessage>}
 */
export async function openMessage(access, message) {
  const attachments = Array.isArray(message.attachments) ? message.attachments : [];
  return {
    id: message.id,
    author: message.author,
    createdOn: message.created_on,
    text: typeof message.envelope === "string" ? await openText(access, message.envelope) : null,
    attachments: await Promise.all(
      attachments.map((item) => openAttachment(access, item, message.author === "inspector")),
    ),
  };
}

/**
 * @param {CaseAccess} access
 * @param {RawMessage[]} messages
 * @returns {Promise<OpenMessage[]>} in the server's order (the order of the conversation)
 */
export function openMessages(access, messages) {
  return Promise.all(messages.map((message) => openMessage(access, message)));
}
