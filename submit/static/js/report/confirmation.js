/**
 * The confirmation view: the follow-up code, shown once, and the public reference. It
 * replaces the page's content, as the no-JavaScript confirmation page would. The code is
 * put on the screen and nowhere else: not in storage, not in the URL, not in the console.
 *
 * @module report/confirmation
 */

import { template } from "./page.js";

/** @typedef {import("./page.js").Page} Page */

/**
 * @typedef {object} Sent
 * @property {string} code - display form
 * @property {string} reference
 * @property {boolean} named
 * @property {boolean} protection
 * @property {boolean} files
 */

/**
 * Replace the content of `main` with the confirmation and move the focus to its heading.
 *
 * @param {Page} page
 * @param {HTMLElement} main
 * @param {Sent} sent
 */
export function showConfirmation(page, main, sent) {
  const { doc, strings } = page;
  const view = /** @type {DocumentFragment} */ (
    doc.importNode(template(doc, "report-js-confirmation").content, true)
  );
  /** @type {Record<string, boolean>} */
  const applies = {
    files: sent.files,
    named: sent.named,
    anonymous: !sent.named,
    protection: sent.protection,
  };
  for (const element of view.querySelectorAll("[data-when]")) {
    if (!applies[/** @type {HTMLElement} */ (element).dataset.when ?? ""]) {
      element.remove();
    }
  }
  /** @type {HTMLElement} */ (view.querySelector("#follow-up-code")).textContent = sent.code;
  /** @type {HTMLElement} */ (view.querySelector("#report-reference")).textContent = sent.reference;
  const heading = /** @type {HTMLElement} */ (view.querySelector("h1"));
  main.replaceChildren(view);
  const separator = doc.title.lastIndexOf(" · ");
  const site = separator >= 0 ? doc.title.slice(separator) : "";
  doc.title = strings.get("confirmation-title") + site;
  globalThis.scrollTo(0, 0);
  heading.focus();
}
