/**
 * The page's code form (followup_start.html) and what is shown around it: why a code was
 * refused (a summary that takes the focus, and the message at the field, as the server's
 * page shows them), why the form is back (the reporter left, the session ended), and the
 * text the reporter typed but could not send. The code itself is never written anywhere.
 *
 * @module followup/code-form
 */

import { instantiate } from "../report/page.js";
import { clearErrors, lock, markField, Progress } from "./feedback.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */

export class CodeForm {
  /** @type {HTMLElement | null} the script's notice before the form */
  #notice = null;

  /**
   * @param {FollowupPage} page
   * @param {HTMLFormElement} form - #followup-form
   * @param {HTMLInputElement} input - its code field
   */
  constructor(page, form, input) {
    this.page = page;
    this.form = form;
    this.input = input;
    this.main = /** @type {HTMLElement} */ (form.closest("main") ?? page.doc.body);
    const prefix = `${page.strings.get("error-title")} `;
    // The title without the "Error:" a refused no-JavaScript post may have put before it.
    this.title = page.doc.title.startsWith(prefix)
      ? page.doc.title.slice(prefix.length)
      : page.doc.title;
  }

  /** @param {(text: string) => void} onCode - called with what was typed, on submit */
  attach(onCode) {
    // The script shows its own messages, in the page's language and tied to the field.
    this.form.noValidate = true;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      onCode(this.input.value);
    });
    this.#explain();
  }

  /** Say, before the button, that the code stays on this device. */
  #explain() {
    const note = this.page.doc.createElement("p");
    note.className = "hint";
    note.id = "followup-js-mode";
    note.textContent = this.page.strings.get("encrypted-here");
    const actions = this.form.querySelector(".actions");
    if (actions !== null) {
      actions.before(note);
    } else {
      this.form.append(note);
    }
    const described = this.input.getAttribute("aria-describedby");
    this.input.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
  }

  /**
   * Lock the form and show progress while the code is checked.
   *
   * @returns {() => void} call to unlock it again
   */
  busy() {
    lock(this.form, true);
    const progress = new Progress(this.page, this.form);
    progress.say(this.page.strings.get("code-checking"));
    progress.show(null);
    return () => {
      progress.remove();
      lock(this.form, false);
    };
  }

  /** Remove every message about an earlier try, the server's included. */
  clear() {
    this.#setNotice(null);
    this.removeServerNotices();
    for (const element of this.form.querySelectorAll(".field-error")) {
      element.remove(); // the server's own, if the page was rendered with one
    }
    clearErrors(this.form);
    this.page.doc.title = this.title;
  }

  /** The server's notices (why the form is shown, a refused code): stale from now on. */
  removeServerNotices() {
    for (const element of this.main.querySelectorAll(":scope > div.notice")) {
      element.remove();
    }
  }

  /** Forget what was typed: after it opened a case, or when the case closes. */
  forget() {
    this.input.value = "";
    this.#setNotice(null);
  }

  /**
   * The message at the field, and a summary before the form that takes the focus.
   *
   * @param {string} message
   */
  refuse(message) {
    const { doc, strings } = this.page;
    markField(this.input, message);
    const summary = doc.createElement("div");
    summary.className = "notice notice-error error-summary";
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    const heading = doc.createElement("h2");
    heading.id = "followup-js-code-summary";
    heading.textContent = strings.get("code-summary");
    summary.setAttribute("aria-labelledby", heading.id);
    const link = doc.createElement("a");
    link.href = `#${this.input.id}`;
    link.textContent = message;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      this.input.focus();
    });
    const list = doc.createElement("ul");
    list.append(doc.createElement("li"));
    /** @type {HTMLElement} */ (list.firstElementChild).append(link);
    summary.append(heading, list);
    this.form.before(summary);
    this.#setNotice(summary);
    doc.title = `${strings.get("error-title")} ${this.title}`;
    summary.focus();
  }

  /**
   * Why the form is back, with what could not be sent (for copying), focused.
   *
   * @param {string} message
   * @param {string} unsent - the reporter's unsent text, or ""
   */
  tell(message, unsent) {
    const { doc } = this.page;
    const container = doc.createElement("div");
    const notice = doc.createElement("div");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.tabIndex = -1;
    const text = doc.createElement("p");
    text.textContent = message;
    notice.append(text);
    container.append(notice);
    if (unsent !== "") {
      const section = instantiate(doc, "followup-js-unsent-view");
      /** @type {HTMLTextAreaElement} */ (section.querySelector("textarea")).value = unsent;
      container.append(section);
    }
    this.form.before(container);
    this.#setNotice(container);
    globalThis.scrollTo(0, 0);
    notice.focus();
  }

  /** @param {HTMLElement | null} notice - replaces the script's last notice */
  #setNotice(notice) {
    this.#notice?.remove();
    this.#notice = notice;
  }
}
