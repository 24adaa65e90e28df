/**
 * A new case's keys, its sealed documents and its key wraps (docs/crypto.md §3, §9, §13), as
 * casework/sealing.py and casework/recipients.py make them for the no-JavaScript path.
 *
 * Every record is of protocol version 2: bound to its place and signed with the reporter's
 * signing key, derived from the follow-up code. The report is entry 0 of the case's
 * transcript and names the descriptions of its files, so those are sealed first.
 *
 * Who gets which key: the case key goes to every inspector and custodian the reporter
 * did not exclude, the identity key only to the custodians not excluded; both also go to
 * the unit's escrow key (if it has one) and to the reporter's own key.
 *
 * @module report/envelope
 */

import {
  b64uDecode,
  b64uEncode,
  FollowUpCode,
  genesis,
  Kind,
  newCaseId,
  Purpose,
  randomKey,
  sealBoundJson,
  wrap,
} from "../crypto/index.js";
import { fileDigests, REPORTER, toHex } from "./signed.js";

const CASE_READERS = new Set(["inspector", "custodian"]);
const IDENTITY_READERS = new Set(["custodian"]);

/**
 * @typedef {object} Reader - one entry of GET /recipients "readers"
 * @property {number} id
 * @property {string} display_name
 * @property {string} role
 * @property {string} public_key - b64u
 * @property {string} fingerprint
 */

/**
 * @typedef {object} Recipients - GET /recipients
 * @property {string} unit
 * @property {Reader[]} readers
 * @property {{public_key: string, fingerprint: string} | null} escrow
 */

/**
 * @typedef {object} WrapEntry - one item of the envelope's "wraps"
 * @property {"inspector" | "escrow" | "reporter"} recipient
 * @property {number | null} inspector_id
 * @property {"case_key" | "identity_key"} purpose
 * @property {string} envelope - b64u WRAP
 */

/** Everything secret about a new case; lives in this page's memory only. */
export class CaseKeys {
  /**
   * @param {string} caseId
   * @param {Uint8Array} caseKey
   * @param {Uint8Array | null} identityKey
   * @param {FollowUpCode} code
   * @param {Uint8Array} lookupToken
   * @param {Uint8Array} reporterPublicKey
   * @param {import("./signed.js").SigningKey} signer - the reporter's Ed25519 key
   *   (§13.2), its private half not extractable
   */
  constructor(caseId, caseKey, identityKey, code, lookupToken, reporterPublicKey, signer) {
    this.caseId = caseId;
    this.caseKey = caseKey;
    this.identityKey = identityKey;
    this.code = code;
    this.lookupToken = lookupToken;
    this.reporterPublicKey = reporterPublicKey;
    this.signer = signer;
  }

  /**
   * @param {boolean} named - whether an identity key is needed
   * @returns {Promise<CaseKeys>}
   */
  static async generate(named) {
    const code = await FollowUpCode.generate();
    const { publicKey } = await code.reporterKeyPair();
    return new CaseKeys(
      newCaseId(),
      randomKey(),
      named ? randomKey() : null,
      code,
      await code.lookupToken(),
      publicKey,
      await code.reporterSigningKey(),
    );
  }

  /** Overwrite the keys: once the report is sent, only the code on the screen remains. */
  forget() {
    this.caseKey.fill(0);
    this.identityKey?.fill(0);
    this.lookupToken.fill(0);
  }
}

/**
 * The report, entry 0 of the transcript (§13.5), and the identity, each in its place and
 * signed by the reporter. The report's place binds the category the server stores and the
 * file descriptions it carries, so it is sealed once those are.
 *
 * @param {CaseKeys} keys
 * @param {Record<string, unknown>} report
 * @param {Record<string, unknown> | null} identity
 * @param {string} category - the slug sent with the envelope
 * @param {Uint8Array[]} metas - the FILE_META envelopes of the report's files
 * @returns {Promise<{report: string, identity: string | null}>} b64u envelopes
 */
export async function sealDocuments(keys, report, identity, category, metas) {
  const place = {
    case: keys.caseId,
    purpose: "report",
    author: REPORTER,
    entry: 0,
    prev: toHex(await genesis(keys.caseId)),
    files: await fileDigests(metas),
    facts: { category },
  };
  const signer = keys.signer.privateKey;
  const sealedReport = await sealBoundJson(keys.caseKey, Kind.REPORT, place, report, signer);
  if (identity === null || keys.identityKey === null) {
    return { report: b64uEncode(sealedReport), identity: null };
  }
  const where = { case: keys.caseId, purpose: "identity", author: REPORTER };
  const sealedIdentity = await sealBoundJson(
    keys.identityKey,
    Kind.IDENTITY,
    where,
    identity,
    signer,
  );
  return { report: b64uEncode(sealedReport), identity: b64uEncode(sealedIdentity) };
}

/**
 * The wraps of one key, in casework/recipients.py's order.
 *
 * @param {CaseKeys} keys
 * @param {Recipients} recipients
 * @param {Set<number>} excluded
 * @param {"case_key" | "identity_key"} purpose
 * @returns {Promise<WrapEntry[]>}
 */
async function wrapsOf(keys, recipients, excluded, purpose) {
  const caseKey = purpose === "case_key";
  const key = /** @type {Uint8Array} */ (caseKey ? keys.caseKey : keys.identityKey);
  const roles = caseKey ? CASE_READERS : IDENTITY_READERS;
  const cryptoPurpose = caseKey ? Purpose.CASE_KEY : Purpose.IDENTITY_KEY;
  /** @type {{recipient: WrapEntry["recipient"], id: number | null, publicKey: Uint8Array}[]} */
  const targets = recipients.readers
    .filter((reader) => roles.has(reader.role) && !excluded.has(reader.id))
    .map((reader) => ({
      recipient: "inspector",
      id: reader.id,
      publicKey: b64uDecode(reader.public_key),
    }));
  if (recipients.escrow) {
    targets.push({
      recipient: "escrow",
      id: null,
      publicKey: b64uDecode(recipients.escrow.public_key),
    });
  }
  targets.push({ recipient: "reporter", id: null, publicKey: keys.reporterPublicKey });
  return Promise.all(
    targets.map(async (target) => ({
      recipient: target.recipient,
      inspector_id: target.id,
      purpose,
      envelope: b64uEncode(await wrap(key, target.publicKey, cryptoPurpose, keys.caseId)),
    })),
  );
}

/**
 * Every wrap the submission needs: the case key's, and the identity key's if named.
 *
 * @param {CaseKeys} keys
 * @param {Recipients} recipients
 * @param {number[]} excluded
 * @returns {Promise<WrapEntry[]>}
 */
export async function wrapKeys(keys, recipients, excluded) {
  const leftOut = new Set(excluded);
  const wraps = await wrapsOf(keys, recipients, leftOut, "case_key");
  if (keys.identityKey !== null) {
    wraps.push(...(await wrapsOf(keys, recipients, leftOut, "identity_key")));
  }
  return wraps;
}
