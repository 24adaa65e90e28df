/**
 * What the server put in the page for this script (templates/report_js.html): limits,
 * API addresses, translated strings and the <template> views.
 *
 * @module report/page
 */

/**
 * The most files one report may carry: casework/intake.py MAX_ATTACHMENTS (a test keeps
 * the two equal).
 */
export const MAX_FILES = 100;

/** The <template> views the script clones. */
const VIEWS = [
  "report-js-summary",
  "report-js-progress",
  "report-js-failure",
  "report-js-confirmation",
];

/**
 * @typedef {object} Limits
 * @property {number} maxChars - per text field, in code points
 * @property {number | null} maxFileSize - bytes per file; null when the page gives none
 * @property {number | null} maxReportSize - bytes of all files together; null likewise
 * @property {number} maxFiles
 */

/**
 * @typedef {object} Endpoints
 * @property {string} recipients
 * @property {string} pow
 * @property {string} uploads
 * @property {string} reports
 */

/** Translated strings, with "%(name)s" placeholders filled on use. */
export class Strings {
  /** @type {Map<string, string>} */
  #text = new Map();

  /** @param {HTMLTemplateElement} template - holds one element per string, by data-key */
  constructor(template) {
    for (const element of template.content.querySelectorAll("[data-key]")) {
      this.#text.set(
        /** @type {HTMLElement} */ (element).dataset.key ?? "",
        element.textContent ?? "",
      );
    }
  }

  /**
   * @param {string} key
   * @param {Record<string, string | number>} [values]
   * @returns {string}
   */
  get(key, values = {}) {
    const text = this.#text.get(key);
    if (text === undefined) {
      throw new Error(`the page lacks the string ${key}`);
    }
    return text
      .trim()
      .replace(/%\((\w+)\)s/g, (whole, name) =>
        Object.hasOwn(values, name) ? String(values[name]) : whole,
      );
  }
}

/**
 * @param {DOMStringMap} data
 * @param {string} name
 * @returns {number | null} a positive whole number, or null if absent or not one
 */
function positive(data, name) {
  const value = Number(data[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * @param {Document} doc
 * @param {string} id
 * @returns {HTMLTemplateElement}
 */
export function template(doc, id) {
  const found = doc.getElementById(id);
  if (!(found instanceof HTMLTemplateElement)) {
    throw new Error(`the page lacks the template ${id}`);
  }
  return found;
}

/**
 * A fresh copy of a template's first element.
 *
 * @param {Document} doc
 * @param {string} id
 * @returns {HTMLElement}
 */
export function instantiate(doc, id) {
  const element = template(doc, id).content.firstElementChild;
  if (!(element instanceof HTMLElement)) {
    throw new Error(`the template ${id} is empty`);
  }
  return /** @type {HTMLElement} */ (doc.importNode(element, true));
}

/** Everything the page provides, read once; throws if the page lacks a part. */
export class Page {
  /**
   * @param {Document} doc
   * @param {HTMLElement} root - #report-js
   */
  constructor(doc, root) {
    const data = root.dataset;
    this.doc = doc;
    this.strings = new Strings(template(doc, "report-js-strings"));
    /** @type {Limits} */
    this.limits = {
      maxChars: positive(data, "maxChars") ?? 20_000,
      maxFileSize: positive(data, "maxFileSize"),
      maxReportSize: positive(data, "maxReportSize"),
      maxFiles: MAX_FILES,
    };
    /** @type {Endpoints} */
    this.endpoints = {
      recipients: required(data, "apiRecipients"),
      pow: required(data, "apiPow"),
      uploads: required(data, "apiUploads"),
      reports: required(data, "apiReports"),
    };
    for (const id of VIEWS) {
      template(doc, id); // fail now, not halfway through a submission
    }
  }

  /**
   * @param {Document} doc
   * @returns {Page | null} null when the page was rendered without report_js.html
   */
  static read(doc) {
    const root = doc.getElementById("report-js");
    return root === null ? null : new Page(doc, root);
  }
}

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
