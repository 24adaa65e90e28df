/**
 * Reading the case's three forms and checking them as the server does
 * (views/followup.py, api/followup.py), so that both paths accept the same input: text
 * with line breaks normalised and white space trimmed as Python's str.strip, at most
 * 20,000 code points; a message needs text or a file; a retaliation report needs a kind
 * and a date, if any, not in the future; an addition to it needs text; a protection
 * request needs a person and a category; a withdrawal needs its box ticked.
 *
 * @module followup/forms
 */

import { strip } from "../report/form.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * @template T
 * @typedef {object} Checked
 * @property {Map<HTMLElement, string>} errors - control -> message, in the page's order
 * @property {T | null} value - null when there are errors
 */

/**
 * @param {string} text
 * @returns {number} Unicode code points, as Python's len() counts
 */
function codePoints(text) {
  let count = 0;
  for (const _ of text) {
    count++;
  }
  return count;
}

/** @returns {string} today on this device, YYYY-MM-DD */
export function today() {
  const now = new Date();
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement}
 */
export function control(form, name) {
  return /** @type {HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement} */ (
    form.elements.namedItem(name)
  );
}

/**
 * A text field as the server reads it.
 *
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @param {Map<HTMLElement, string>} errors - a too long text is added here
 * @returns {string}
 */
function text(page, form, errors) {
  const textarea = control(form, "text");
  const value = textarea.value.replace(/\r\n?/g, "\n");
  if (codePoints(value) > page.maxChars) {
    const limit = page.maxChars.toLocaleString(page.language);
    errors.set(textarea, page.strings.get("error-too-long", { limit }));
  }
  return strip(value);
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{text: string, files: File[]}>}
 */
export function readReply(page, form) {
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const value = text(page, form, errors);
  const files = Array.from(control(form, "files").files ?? []);
  if (errors.size === 0 && value === "" && files.length === 0) {
    errors.set(control(form, "text"), page.strings.get("reply-empty"));
  }
  return { errors, value: errors.size > 0 ? null : { text: value, files } };
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{kind: string, text: string, occurredOn: string | null}>}
 */
export function readRetaliation(page, form) {
  const { strings } = page;
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const kind = control(form, "kind");
  if (kind.value === "") {
    errors.set(kind, strings.get("retaliation-kind"));
  }
  const date = control(form, "occurred_on");
  const occurredOn = date.value.trim();
  if (date.validity.badInput || (occurredOn !== "" && !DATE.test(occurredOn))) {
    errors.set(date, strings.get("retaliation-date")); // half a date typed
  } else if (occurredOn > today()) {
    errors.set(date, strings.get("retaliation-future"));
  }
  const value = text(page, form, errors);
  const report = { kind: kind.value, text: value, occurredOn: occurredOn || null };
  return { errors, value: errors.size > 0 ? null : report };
}

/**
 * The whole report, or part of it: then the words must say which part.
 *
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{scope: "all" | "part", reasons: string}>}
 */
export function readWithdrawal(page, form) {
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const reasons = text(page, form, errors);
  const choice = /** @type {RadioNodeList} */ (form.elements.namedItem("scope"));
  const scope = choice.value === "part" ? "part" : "all";
  if (scope === "part" && reasons === "" && errors.size === 0) {
    errors.set(control(form, "text"), page.strings.get("withdraw-part-text"));
  }
  const confirm = control(form, "confirm");
  if (!confirm.checked) {
    errors.set(confirm, page.strings.get("withdraw-confirm"));
  }
  return { errors, value: errors.size > 0 ? null : { scope, reasons } };
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{text: string}>}
 */
export function readEscalation(page, form) {
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const value = text(page, form, errors);
  return { errors, value: errors.size > 0 ? null : { text: value } };
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{text: string}>}
 */
export function readIncidentNote(page, form) {
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const value = text(page, form, errors);
  if (errors.size === 0 && value === "") {
    errors.set(control(form, "text"), page.strings.get("incident-empty"));
  }
  return { errors, value: errors.size > 0 ? null : { text: value } };
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{ask: string, text: string}>}
 */
export function readAsk(page, form) {
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const ask = control(form, "ask");
  if (ask.value === "") {
    errors.set(ask, page.strings.get("protection-ask-kind"));
  }
  const value = text(page, form, errors);
  return { errors, value: errors.size > 0 ? null : { ask: ask.value, text: value } };
}

/**
 * @param {FollowupPage} page
 * @param {HTMLFormElement} form
 * @returns {Checked<{person: string, category: string, urgent: boolean, text: string}>}
 */
export function readProtection(page, form) {
  const { strings } = page;
  /** @type {Map<HTMLElement, string>} */
  const errors = new Map();
  const person = control(form, "person");
  if (person.value === "") {
    errors.set(person, strings.get("protection-person"));
  }
  const category = control(form, "category");
  if (category.value === "") {
    errors.set(category, strings.get("protection-category"));
  }
  const value = text(page, form, errors);
  const request = {
    person: person.value,
    category: category.value,
    urgent: control(form, "urgent").checked,
    text: value,
  };
  return { errors, value: errors.size > 0 ? null : request };
}

/**
 * What the reporter typed in the forms, to give back if the case closes before it was
 * sent (files cannot be kept: browsers do not let a page refill a file input).
 *
 * @param {Record<string, HTMLFormElement>} forms
 * @returns {Map<string, string>} "form.field" -> value, only fields with something typed
 */
export function typed(forms) {
  /** @type {Map<string, string>} */
  const found = new Map();
  for (const [name, form] of Object.entries(forms)) {
    for (const element of form.elements) {
      const field = /** @type {HTMLInputElement} */ (element);
      const kept =
        field instanceof HTMLTextAreaElement ||
        field instanceof HTMLSelectElement ||
        field.type === "date";
      if (kept && field.value.trim() !== "") {
        found.set(`${name}.${field.name}`, field.value);
      }
    }
  }
  return found;
}

/**
 * Put typed values back into the forms of a new view.
 *
 * @param {Record<string, HTMLFormElement>} forms
 * @param {Map<string, string>} values - from typed()
 */
export function restore(forms, values) {
  for (const [key, value] of values) {
    const [name, field] = key.split(".");
    const form = forms[name];
    if (form !== undefined) {
      control(form, field).value = value;
      // Its entry under "What you can do" opens, so that the restored words are seen.
      form.closest("details")?.setAttribute("open", "");
    }
  }
}
