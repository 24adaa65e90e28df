/**
 * Opening a case with its follow-up code, in this browser (docs/crypto.md §7.3, §13.2): the
 * code gives the lookup token (all the server receives, with the reporter's verifying
 * key), the reporter's key, which opens the case key wrapped to the reporter, and the
 * reporter's signing key, which signs what the page sends and checks what the reporter
 * wrote before. The code, the keys and the case key stay in this page's memory: never in
 * storage, cookies, the URL or the console.
 *
 * @module followup/access
 */

import {
  b64uDecode,
  b64uEncode,
  CryptoError,
  FollowUpCode,
  Purpose,
  unwrap,
} from "../crypto/index.js";
import { getJson, postJson, proofOfWork, send } from "../report/api.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("../crypto/signing.js").SigningKey} SigningKey */

/**
 * The case view (docs/submission.md §3), as the API sends it.
 *
 * @typedef {object} CaseView
 * @property {string} case_id - the case's public id: the context of every envelope
 * @property {string} reference
 * @property {string} status
 * @property {string} [status_label]
 * @property {string} track
 * @property {string} received_on
 * @property {Deadline[]} deadlines
 * @property {{case_key: string, identity_key: string | null}} wraps
 * @property {number} [protocol] - 1 or 2 (docs/crypto.md §13.7)
 * @property {string | null} [report] - b64u REPORT, entry 0 of the transcript; null once purged
 * @property {string[]} [report_files] - b64u FILE_META of the report's own files
 * @property {Record<string, string>} [signing_keys] - "staff/<id>" -> b64u verifying key
 * @property {RawMessage[]} messages
 * @property {boolean} withdrawn
 * @property {boolean} ended - decided or stopped
 * @property {boolean} forwarded
 * @property {string | null} forwarded_to - the unit that handles the case now
 * @property {boolean} may_withdraw
 * @property {boolean} awaits_verification - a named report whose reporter the unit has yet
 *   to verify (LTC Art. 22-23): handled like an unsigned one until then
 * @property {string} reception_schedule - when the unit receives people (may be empty)
 * @property {boolean} may_escalate - a deadline set by law has passed (Art. 38)
 * @property {boolean} escalated - an answer to an escalation or re-denunciation is pending
 * @property {string | null} escalation_period - e.g. "5 working days"
 * @property {boolean} [may_re_denounce] - concluded, or the resolution is overdue (Art. 37)
 * @property {string} [answered_by] - the unit whose head answers
 * @property {boolean} [answered_by_superior] - false: the unit's own head answers
 * @property {RawAnswer[]} [answers] - the heads' answers, sealed to the reporter
 * @property {string} protection_confirmation - e.g. "3 working days"
 * @property {Protection[]} protections
 * @property {Incident[]} incidents
 */

/**
 * A running clock, in the session's language (docs/submission.md §3).
 *
 * @typedef {object} Deadline
 * @property {string} key
 * @property {string} label
 * @property {boolean} statutory - set by law; otherwise the unit's own target
 * @property {string | null} due_on - YYYY-MM-DD; null while paused
 * @property {string} period - the allowance in words
 * @property {string | null} used - while paused, how much is used, in words
 * @property {boolean} overdue
 */

/**
 * A protection record: facts only.
 *
 * @typedef {object} Protection
 * @property {number} id
 * @property {string} person_label
 * @property {string} category_label
 * @property {string} state
 * @property {string} state_label
 * @property {boolean} urgent
 * @property {string} requested_by - "reporter" or "inspector"
 * @property {string} requested_on
 * @property {string | null} confirmation_due
 * @property {string | null} decided_on
 * @property {string | null} started_on
 * @property {string | null} ended_on
 * @property {boolean} may_ask - measures are in place: they may be changed or ended
 * @property {string[]} asked_on - the days of asks the unit has not answered
 */

/**
 * A retaliation incident the reporter reported.
 *
 * @typedef {object} Incident
 * @property {number} id
 * @property {string} kind_label
 * @property {string | null} occurred_on
 * @property {string} reported_on
 * @property {string[]} added_on
 */

/**
 * A transcript entry after the report (docs/crypto.md §13.5).
 *
 * @typedef {object} RawMessage
 * @property {number} id
 * @property {string} author - "reporter" or "inspector"
 * @property {number | null} [inspector] - the staff author's account number
 * @property {number | null} [seq] - its number in the transcript; null: protocol 1, not
 *   numbered yet
 * @property {string} [purpose] - "message", "notice", "withdrawal", ...
 * @property {string} created_on
 * @property {string} envelope - b64u MESSAGE
 * @property {{id: number, meta: string, size: number, downloadable?: boolean}[]} attachments
 */

/** Where the API puts the anti-forgery token that holds after a session starts or ends. */
const CSRF_HEADER = "X-CSRFToken";
/** The case's public id as the API must give it: a lower-case UUID. */
const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The server's answer cannot be used: not a case view, or a wrap that does not open. */
export class CaseUnreadable extends Error {
  constructor() {
    super("the case does not open with this code");
    this.name = "CaseUnreadable";
  }
}

/**
 * Where the next transcript entry goes (docs/crypto.md §13.5): its number and the link it
 * names, computed here from the envelopes the page last read.
 *
 * @typedef {object} Head
 * @property {number} entry
 * @property {string} prev - 64 hex digits
 */

/** The keys of the open case; overwritten by forget(). */
export class CaseAccess {
  /** @type {Uint8Array} */
  #caseKey;
  /** @type {SigningKey | null} */
  #signer;
  /** @type {CryptoKey | null} */
  #reporterKey;
  #forgotten = false;

  /**
   * @param {string} caseId
   * @param {Uint8Array} caseKey - taken over: forget() overwrites it
   * @param {SigningKey} signer - the reporter's, from the code; the private half is not
   *   extractable
   * @param {CryptoKey} reporterKey - the reporter's X25519 key, not extractable: it opens
   *   what a head answered (docs/crypto.md §13.8)
   */
  constructor(caseId, caseKey, signer, reporterKey) {
    this.caseId = caseId;
    this.#caseKey = caseKey;
    this.#signer = signer;
    this.#reporterKey = reporterKey;
    /**
     * Where the reporter's next entry goes, as of the view last read; null before the
     * first read, or when the case takes no entries (its report purged).
     *
     * @type {Head | null}
     */
    this.head = null;
  }

  /** @returns {Uint8Array} the case key; throws once forgotten */
  get caseKey() {
    if (this.#forgotten) {
      throw new Error("the case keys were forgotten");
    }
    return this.#caseKey;
  }

  /** @returns {SigningKey} the reporter's signing key; throws once forgotten */
  get signer() {
    if (this.#forgotten || this.#signer === null) {
      throw new Error("the case keys were forgotten");
    }
    return this.#signer;
  }

  /** @returns {CryptoKey} the reporter's private key; throws once forgotten */
  get reporterKey() {
    if (this.#forgotten || this.#reporterKey === null) {
      throw new Error("the case keys were forgotten");
    }
    return this.#reporterKey;
  }

  /** @returns {boolean} */
  get forgotten() {
    return this.#forgotten;
  }

  /** Overwrite the case key; nothing of this case can be opened any more. */
  forget() {
    this.#caseKey.fill(0);
    this.#signer = null; // not extractable: dropping the only reference is all there is
    this.#reporterKey = null;
    this.#forgotten = true;
    this.caseId = "";
    this.head = null;
  }
}

/**
 * Read what the reporter typed.
 *
 * @param {string} text
 * @returns {Promise<FollowUpCode>}
 * @throws {import("../crypto/index.js").CodeFormatError} with the reason to tell the reporter
 */
export function parseCode(text) {
  return FollowUpCode.parse(text);
}

/**
 * @param {unknown} view
 * @returns {CaseView}
 * @throws {CaseUnreadable}
 */
export function checkView(view) {
  const candidate = /** @type {Partial<CaseView> | null} */ (view);
  const valid =
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.case_id === "string" &&
    CASE_ID.test(candidate.case_id) &&
    typeof candidate.reference === "string" &&
    typeof candidate.status === "string" &&
    typeof candidate.wraps?.case_key === "string" &&
    Array.isArray(candidate.messages) &&
    Array.isArray(candidate.deadlines) &&
    Array.isArray(candidate.protections) &&
    Array.isArray(candidate.incidents);
  if (!valid) {
    throw new CaseUnreadable();
  }
  return /** @type {CaseView} */ (candidate);
}

/**
 * Start a follow-up session and open the case key with the code.
 *
 * @param {FollowupPage} page
 * @param {FollowUpCode} code
 * @returns {Promise<{access: CaseAccess, view: CaseView}>}
 * @throws {import("../report/api.js").ApiError | import("../report/api.js").NetworkError |
 *   CaseUnreadable}
 */
export async function openCase(page, code) {
  const token = await code.lookupToken();
  const { privateKey } = await code.reporterKeyPair(); // a non-extractable CryptoKey
  const signer = await code.reporterSigningKey();
  let answer;
  try {
    const pow = await proofOfWork(page.endpoints, "followup");
    // The verifying key, so that a case of protocol 1 can check the reporter's entries
    // from now on (§13.7); the server never replaces one it has.
    const { response, body } = await postJson(page.endpoints.session, {
      lookup_token: b64uEncode(token),
      signing_key: b64uEncode(signer.publicKey),
      pow,
    });
    adoptCsrfToken(page.doc, response);
    answer = body;
  } finally {
    token.fill(0);
  }
  const view = checkView(answer);
  try {
    const wrapped = b64uDecode(view.wraps.case_key);
    const caseKey = await unwrap(wrapped, privateKey, Purpose.CASE_KEY, view.case_id);
    return { access: new CaseAccess(view.case_id, caseKey, signer, privateKey), view };
  } catch (error) {
    if (error instanceof CryptoError) {
      throw new CaseUnreadable();
    }
    throw error;
  }
}

/**
 * Starting or ending a follow-up session changes the anti-forgery token (a token seen
 * before is of no use after); take the new one from the answer, for every later request
 * (report/api.js reads the <meta>) and for the page's forms.
 *
 * @param {Document} doc
 * @param {Response} response
 */
export function adoptCsrfToken(doc, response) {
  const token = response.headers.get(CSRF_HEADER);
  if (!token) {
    return;
  }
  const meta = doc.querySelector('meta[name="csrf-token"]');
  if (meta instanceof HTMLMetaElement) {
    meta.content = token;
  }
  for (const input of doc.querySelectorAll('input[type="hidden"][name="csrf_token"]')) {
    /** @type {HTMLInputElement} */ (input).value = token;
    /** @type {HTMLInputElement} */ (input).defaultValue = token;
  }
}

/**
 * End the server's session; never fails (the session also expires on its own).
 *
 * @param {FollowupPage} page
 */
export async function endSession(page) {
  try {
    adoptCsrfToken(page.doc, await send("POST", page.endpoints.leave));
  } catch {
    // Forgetting on this device is what matters most.
  }
}

/**
 * The view of the open case, fetched again after each action.
 *
 * @param {FollowupPage} page
 * @param {CaseAccess} access
 * @returns {Promise<CaseView>}
 * @throws {CaseUnreadable} if the session now shows another case
 */
export async function refreshView(page, access) {
  const view = checkView(await getJson(page.endpoints.case));
  if (view.case_id !== access.caseId) {
    throw new CaseUnreadable();
  }
  return view;
}
