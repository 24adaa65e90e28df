/**
 * The report page with JavaScript: the report is encrypted on this device before
 * anything is sent. The page's script, pages/report.js, imports this module when the
 * page has #report-form.
 *
 * Where the browser cannot run the protocol (no secure context, no X25519, a wrong known
 * answer), the form is left alone and posts as it does without JavaScript; the page says
 * that the server will encrypt the report. Otherwise this module takes the form's submit
 * over: it checks the form as the server would, then sends it encrypted, and finally shows
 * the follow-up code in place of the form. The form's steps (steps.js) are enhanced either
 * way: Next checks the step's fields first.
 *
 * @module report
 */

import { supportsEncryption } from "../crypto/index.js";
import { ApiError, NetworkError } from "./api.js";
import { showConfirmation } from "./confirmation.js";
import { clearErrors, firstControl, showErrors } from "./errors.js";
import { readForm, validate } from "./form.js";
import { Page } from "./page.js";
import { clearViews, Progress, showFailure } from "./progress.js";
import { Steps } from "./steps.js";
import { FileUnreadable, submitReport } from "./submission.js";
import { UploadLost } from "./upload.js";

/** @typedef {import("./form.js").ValidReport} ValidReport */

/**
 * Enhance the report form of `doc`, or leave it as it is.
 *
 * @param {Document} doc
 */
export async function enhance(doc) {
  const form = doc.getElementById("report-form");
  const page = Page.read(doc);
  if (!(form instanceof HTMLFormElement) || page === null) {
    return; // rendered without report_js.html: nothing to show messages with
  }
  const steps = new Steps(doc, form);
  steps.attach((step) => checkStep(page, form, steps, step));
  const mode = doc.getElementById("encryption-mode");
  if (!(await supportsEncryption())) {
    if (mode !== null) {
      mode.textContent = page.strings.get("cannot-encrypt");
    }
    return;
  }
  const controller = new ReportForm(page, form, mode, steps);
  if (mode !== null) {
    mode.textContent = page.strings.get("encrypted-here");
  }
  controller.attach();
}

/**
 * The page title without the "Error:" a refused no-JavaScript post may have put before it.
 *
 * @param {Page} page
 * @returns {string}
 */
function plainTitle(page) {
  const prefix = `${page.strings.get("error-title")} `;
  const { title } = page.doc;
  return title.startsWith(prefix) ? title.slice(prefix.length) : title;
}

/**
 * Before Next: check the form as the server would, and show only this step's mistakes,
 * with the focus on the first one to correct.
 *
 * @param {Page} page
 * @param {HTMLFormElement} form
 * @param {Steps} steps
 * @param {HTMLElement} step
 * @returns {boolean} whether the step has nothing to correct
 */
function checkStep(page, form, steps, step) {
  const language = page.doc.documentElement.lang;
  const { errors } = validate(readForm(form), page.limits, page.strings, language);
  const here = new Map(
    [...errors].filter(([name]) => step.querySelector(`[name="${name}"]`) !== null),
  );
  const title = plainTitle(page);
  if (here.size === 0) {
    clearErrors(page.doc, form, title);
    return true;
  }
  showErrors(page, form, here, title, (control) => steps.reveal(control, control));
  firstControl(form, [...here.keys()][0])?.focus();
  return false;
}

/** Why sending failed, in the reporter's words. */
const REASONS = new Map([
  [NetworkError, "failure-network"],
  [UploadLost, "failure-server"],
  [FileUnreadable, "failure-file"],
]);

/** The form while this page encrypts: one submission at a time. */
class ReportForm {
  #busy = false;

  /**
   * @param {Page} page
   * @param {HTMLFormElement} form
   * @param {HTMLElement | null} mode - #encryption-mode
   * @param {Steps} steps
   */
  constructor(page, form, mode, steps) {
    this.page = page;
    this.form = form;
    this.mode = mode;
    this.steps = steps;
    this.main = /** @type {HTMLElement} */ (form.closest("main") ?? page.doc.body);
    this.title = plainTitle(page);
    this.button = form.querySelector('button[type="submit"], button:not([type])');
  }

  attach() {
    // The script shows its own messages, in the page's language and tied to the fields;
    // the browser's own bubbles are in the browser's language (always English in Tor).
    this.form.noValidate = true;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  async submit() {
    if (this.#busy) {
      return;
    }
    const { page, form } = this;
    clearViews(page.doc);
    const language = page.doc.documentElement.lang;
    const { errors, valid } = validate(readForm(form), page.limits, page.strings, language);
    if (valid === null) {
      this.#showErrors(errors);
      return;
    }
    clearErrors(page.doc, form, this.title);
    this.#busy = true;
    this.#lock(true);
    const progress = new Progress(page, form);
    let sent;
    try {
      sent = await submitReport(page, valid, reporter(page, progress));
    } catch (error) {
      progress.remove();
      this.#failed(error);
      return;
    } finally {
      this.#lock(false);
      this.#busy = false;
    }
    // Outside the try: once the report is in, nothing may offer to send it again.
    showConfirmation(page, this.main, {
      ...sent,
      named: valid.identity !== null,
      protection: valid.protection.length > 0,
      files: valid.files.length > 0,
    });
  }

  /**
   * The summary has the focus; the step of the first mistake is opened behind it.
   *
   * @param {Map<string, string>} errors
   */
  #showErrors(errors) {
    const { page, form, steps } = this;
    const reveal = (/** @type {HTMLElement} */ control) => steps.reveal(control, control);
    const summary = showErrors(page, form, errors, this.title, reveal);
    const first = firstControl(form, [...errors.keys()][0]);
    if (first !== null) {
      steps.reveal(first, summary);
    }
  }

  /** @param {boolean} locked - the form cannot change while its contents are sent */
  #lock(locked) {
    this.form.inert = locked;
    if (this.button instanceof HTMLButtonElement) {
      this.button.disabled = locked;
    }
    if (locked) {
      this.form.setAttribute("aria-busy", "true");
      globalThis.addEventListener("beforeunload", warnBeforeLeaving);
    } else {
      this.form.removeAttribute("aria-busy");
      globalThis.removeEventListener("beforeunload", warnBeforeLeaving);
    }
  }

  /** @param {unknown} error */
  #failed(error) {
    const { strings } = this.page;
    const known = [...REASONS.keys()].find((kind) => error instanceof kind);
    let reason = strings.get("failure-unexpected");
    if (error instanceof ApiError) {
      reason = error.message || strings.get("failure-server");
    } else if (known !== undefined) {
      reason = strings.get(REASONS.get(known) ?? "failure-unexpected");
    }
    // Only a failure of this browser leaves the server's path as a way out: where the
    // network or the server failed, that path would fail as well.
    const local = !(error instanceof ApiError) && known === undefined;
    const sendToServer = local ? () => this.#sendToServer() : null;
    showFailure(this.page, this.form, reason, sendToServer, () => this.submit());
  }

  /** Post the form as it is, as without JavaScript: the server encrypts it on arrival. */
  #sendToServer() {
    if (this.mode !== null) {
      this.mode.textContent = this.page.strings.get("cannot-encrypt");
    }
    if (this.button instanceof HTMLButtonElement) {
      this.button.disabled = true; // one post; the page is replaced by the answer
    }
    this.form.submit();
  }
}

/**
 * @param {Page} page
 * @param {Progress} progress
 * @returns {import("./submission.js").Reporter}
 */
function reporter(page, progress) {
  let stage = "";
  return {
    stage(key, values) {
      stage = page.strings.get(key, values);
      progress.say(stage);
    },
    fraction(value) {
      progress.say(stage); // back from "trying again" once something got through
      progress.show(value);
    },
    retrying() {
      progress.say(page.strings.get("progress-retry"));
    },
  };
}

/**
 * Ask before leaving while the report is being sent: leaving loses it.
 *
 * @param {BeforeUnloadEvent} event
 */
function warnBeforeLeaving(event) {
  event.preventDefault();
  event.returnValue = "";
}
