/**
 * Telling the reporter what went wrong or what is happening, accessibly: a message next
 * to each field it concerns (tied with aria-describedby, marked aria-invalid), an alert
 * (role="alert") at the top of the form that takes the focus, and a progress bar with a
 * polite status line while something is sent. Nothing typed is ever touched.
 *
 * @module followup/feedback
 */

import { instantiate } from "../report/page.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */

const ERROR_SUFFIX = "-error";

/**
 * @param {HTMLElement} element
 * @param {(ids: string[]) => string[]} change
 */
function describedBy(element, change) {
  const ids = (element.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
  const changed = change(ids);
  if (changed.length > 0) {
    element.setAttribute("aria-describedby", changed.join(" "));
  } else {
    element.removeAttribute("aria-describedby");
  }
}

/**
 * Remove every message this module put in `form`.
 *
 * @param {HTMLFormElement} form
 */
export function clearErrors(form) {
  for (const element of form.querySelectorAll(".field-error[data-followup-js]")) {
    element.remove();
  }
  for (const element of form.querySelectorAll("[aria-invalid]")) {
    element.removeAttribute("aria-invalid");
    describedBy(/** @type {HTMLElement} */ (element), (ids) =>
      ids.filter((id) => !id.endsWith(ERROR_SUFFIX)),
    );
  }
  const alert = form.querySelector(".followup-js-alert");
  if (alert instanceof HTMLElement) {
    alert.querySelector(".followup-js-alert-body")?.replaceChildren();
    alert.hidden = true;
  }
}

/**
 * The message for one field, before the field and tied to it.
 *
 * @param {HTMLElement} control
 * @param {string} message
 */
export function markField(control, message) {
  const doc = control.ownerDocument;
  const note = doc.createElement("p");
  note.className = "field-error";
  note.id = control.id + ERROR_SUFFIX;
  note.dataset.followupJs = "";
  note.textContent = message;
  // After the label and hint, right before the control, as the server's forms do.
  const anchor = control.closest(".choice") ?? control;
  anchor.before(note);
  control.setAttribute("aria-invalid", "true");
  describedBy(control, (ids) => [...ids.filter((id) => id !== note.id), note.id]);
}

/**
 * Show the alert of `form` (its heading says the form was not sent) with `lines`, each a
 * paragraph, and links to the fields to correct; move the focus to it, so that a screen
 * reader reads it at once.
 *
 * @param {HTMLFormElement} form
 * @param {string[]} lines
 * @param {Map<HTMLElement, string>} [fields] - controls and their messages, as links
 */
export function showAlert(form, lines, fields = new Map()) {
  const alert = /** @type {HTMLElement} */ (form.querySelector(".followup-js-alert"));
  const doc = form.ownerDocument;
  const parts = lines.map((line) => {
    const paragraph = doc.createElement("p");
    paragraph.textContent = line;
    return paragraph;
  });
  if (fields.size > 0) {
    const list = doc.createElement("ul");
    for (const [control, message] of fields) {
      const item = doc.createElement("li");
      const link = doc.createElement("a");
      link.href = `#${control.id}`;
      link.textContent = message;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        control.focus();
      });
      item.append(link);
      list.append(item);
    }
    parts.push(list);
  }
  /** @type {HTMLElement} */ (alert.querySelector(".followup-js-alert-body")).replaceChildren(
    ...parts,
  );
  alert.hidden = false;
  alert.focus();
}

/**
 * Mark every field of `errors` and list them in the form's alert.
 *
 * @param {HTMLFormElement} form
 * @param {Map<HTMLElement, string>} errors
 */
export function showErrors(form, errors) {
  clearErrors(form);
  for (const [control, message] of errors) {
    markField(control, message);
  }
  showAlert(form, [], errors);
}

/** A progress bar and a status line inside a form while it sends. */
export class Progress {
  /**
   * @param {FollowupPage} page
   * @param {HTMLElement} after - the element the progress view follows
   */
  constructor(page, after) {
    this.page = page;
    this.view = instantiate(page.doc, "followup-js-progress");
    this.bar = /** @type {HTMLProgressElement} */ (this.view.querySelector("progress"));
    this.status = /** @type {HTMLElement} */ (this.view.querySelector(".followup-js-status"));
    this.stageText = "";
    after.after(this.view);
  }

  /** @param {string} text */
  say(text) {
    if (this.status.textContent !== text) {
      this.status.textContent = text;
    }
    this.bar.setAttribute("aria-label", text);
  }

  /** @param {number | null} fraction - 0 to 1, or null while unknown */
  show(fraction) {
    if (fraction === null) {
      this.bar.removeAttribute("value");
    } else {
      this.bar.value = Math.min(1, Math.max(0, fraction));
    }
  }

  /** @returns {import("../report/submission.js").Reporter} for sendReply */
  reporter() {
    return {
      stage: (key, values) => {
        this.stageText = this.page.strings.get(key, values);
        this.say(this.stageText);
      },
      fraction: (value) => {
        this.say(this.stageText); // back from "trying again" once something got through
        this.show(value);
      },
      retrying: () => this.say(this.page.strings.get("progress-retry")),
    };
  }

  remove() {
    this.view.remove();
  }
}

/**
 * While a form sends: no second submission, no edits of what is being sent.
 *
 * @param {HTMLFormElement} form
 * @param {boolean} locked
 */
export function lock(form, locked) {
  form.inert = locked;
  form.toggleAttribute("aria-busy", locked);
  for (const button of form.querySelectorAll("button")) {
    button.disabled = locked;
  }
}
