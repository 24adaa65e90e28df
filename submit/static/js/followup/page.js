/**
 * What the server put in the follow-up page for this script (templates/followup_js.html):
 * API addresses, the text limit, translated strings and the <template> views.
 *
 * @module followup/page
 */

import { Strings, template } from "../report/page.js";

/** The <template> views the script clones; checked when the page is read. */
const VIEWS = [
  "followup-js-progress",
  "followup-js-case",
  "followup-js-message",
  "followup-js-attachment",
  "followup-js-deadline",
  "followup-js-incident",
  "followup-js-protection",
  "followup-js-protection-choices",
  "followup-js-kinds",
  "followup-js-unsent-view",
];

/**
 * @typedef {object} Endpoints
 * @property {string} pow
 * @property {string} uploads
 * @property {string} session
 * @property {string} case
 * @property {string} messages
 * @property {string} retaliation
 * @property {string} withdraw
 * @property {string} escalate
 * @property {string} reDenounce
 * @property {string} protection
 * @property {string} protectionAsk - the address for record 0; others are its siblings
 * @property {string} incidentNote - the address for incident 0; others are its siblings
 * @property {string} leave
 * @property {string} file - the address of attachment 0; others are its siblings
 */

/**
 * @param {DOMStringMap} data
 * @param {string} name
 * @returns {string}
 */
function required(data, name) {
  const value = data[name];
  if (!value) {
    throw new Error(`the page lacks data-${name}`);
  }
  return value;
}

/** Everything the page provides, read once; throws if the page lacks a part. */
export class FollowupPage {
  /**
   * @param {Document} doc
   * @param {HTMLElement} root - #followup-js
   */
  constructor(doc, root) {
    const data = root.dataset;
    this.doc = doc;
    this.strings = new Strings(template(doc, "followup-js-strings"));
    const maxChars = Number(data.maxChars);
    this.maxChars = Number.isSafeInteger(maxChars) && maxChars > 0 ? maxChars : 20_000;
    const seconds = Number(data.sessionSeconds);
    /** How long the server keeps a follow-up session without a request. */
    this.sessionSeconds = Number.isSafeInteger(seconds) && seconds > 0 ? seconds : 30 * 60;
    /** @type {Endpoints} */
    this.endpoints = {
      pow: required(data, "apiPow"),
      uploads: required(data, "apiUploads"),
      session: required(data, "apiSession"),
      case: required(data, "apiCase"),
      messages: required(data, "apiMessages"),
      retaliation: required(data, "apiRetaliation"),
      withdraw: required(data, "apiWithdraw"),
      escalate: required(data, "apiEscalate"),
      reDenounce: required(data, "apiReDenounce"),
      protection: required(data, "apiProtection"),
      protectionAsk: required(data, "apiProtectionAsk"),
      incidentNote: required(data, "apiIncidentNote"),
      leave: required(data, "apiLeave"),
      file: required(data, "apiFile"),
    };
    for (const id of VIEWS) {
      template(doc, id); // fail now, not once a case is open
    }
  }

  /**
   * @param {number} id - an attachment id from the case view
   * @returns {string}
   */
  fileUrl(id) {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new RangeError("an attachment id is a whole number");
    }
    // ".../files/0" and "7" resolve to ".../files/7": no placeholder, no string surgery.
    return new URL(String(id), new URL(this.endpoints.file, this.doc.baseURI)).href;
  }

  /**
   * @param {number} id - a retaliation incident's id from the case view
   * @returns {string} where to post an addition to it
   */
  incidentNoteUrl(id) {
    return this.#sibling(this.endpoints.incidentNote, id, "notes");
  }

  /**
   * @param {number} id - a protection record's id from the case view
   * @returns {string} where to post an ask about it
   */
  protectionAskUrl(id) {
    return this.#sibling(this.endpoints.protectionAsk, id, "asks");
  }

  /**
   * ".../x/0/notes" with "../7/notes" resolves to ".../x/7/notes": no string surgery.
   *
   * @param {string} address - the address for id 0
   * @param {number} id
   * @param {string} last - the address's last segment
   * @returns {string}
   */
  #sibling(address, id, last) {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new RangeError("an id is a whole number");
    }
    const base = new URL(address, this.doc.baseURI);
    return new URL(`../${id}/${last}`, base).href;
  }

  /** @returns {string} the page's language, for dates and sizes */
  get language() {
    return this.doc.documentElement.lang || "en";
  }

  /**
   * @param {Document} doc
   * @returns {FollowupPage | null} null when the page was rendered without followup_js.html
   */
  static read(doc) {
    const root = doc.getElementById("followup-js");
    return root === null ? null : new FollowupPage(doc, root);
  }
}
