/**
 * What the reporter sees while the report is encrypted and sent: a <progress> bar and a
 * status line read out politely by screen readers, after the form; and, if sending
 * fails, a message (role="alert") that says nothing typed was lost.
 *
 * @module report/progress
 */

import { instantiate } from "./page.js";

/** @typedef {import("./page.js").Page} Page */

/** The progress view, shown after the form while it works. */
export class Progress {
  /**
   * @param {Page} page
   * @param {HTMLFormElement} form
   */
  constructor(page, form) {
    this.view = instantiate(page.doc, "report-js-progress");
    this.bar = /** @type {HTMLProgressElement} */ (this.view.querySelector("progress"));
    this.status = /** @type {HTMLElement} */ (this.view.querySelector(".report-js-status"));
    form.after(this.view);
    this.view.focus();
  }

  /** @param {string} text - a stage, announced once */
  say(text) {
    if (this.status.textContent !== text) {
      this.status.textContent = text;
    }
  }

  /** @param {number | null} fraction - 0 to 1, or null while the amount is unknown */
  show(fraction) {
    if (fraction === null) {
      this.bar.removeAttribute("value");
    } else {
      this.bar.value = Math.min(1, Math.max(0, fraction));
    }
  }

  remove() {
    this.view.remove();
  }
}

/**
 * Show why sending failed, after the form, and focus it.
 *
 * @param {Page} page
 * @param {HTMLFormElement} form
 * @param {string} reason
 * @param {(() => void) | null} sendToServer - offered as a way out when the browser
 *   itself failed; null when the network or the server did
 * @param {() => void} tryAgain - sends the form as it is once more
 * @returns {HTMLElement}
 */
export function showFailure(page, form, reason, sendToServer, tryAgain) {
  const view = instantiate(page.doc, "report-js-failure");
  /** @type {HTMLElement} */ (view.querySelector(".report-js-reason")).textContent = reason;
  view.querySelector(".report-js-retry button")?.addEventListener("click", tryAgain, {
    once: true,
  });
  if (sendToServer !== null) {
    const fallback = /** @type {HTMLElement} */ (view.querySelector(".report-js-fallback"));
    fallback.hidden = false;
    fallback.querySelector("button")?.addEventListener("click", sendToServer, { once: true });
  }
  form.after(view);
  view.focus();
  return view;
}

/**
 * Remove what an earlier try left after the form.
 *
 * @param {Document} doc
 */
export function clearViews(doc) {
  for (const element of doc.querySelectorAll("[data-report-js]")) {
    element.remove();
  }
}
