/**
 * Showing what to correct, as the server's form does: a summary (role="alert") above the
 * form that takes the focus and links to each field, and next to each field its message,
 * tied to it with aria-describedby and marked with aria-invalid. Nothing typed is touched.
 *
 * @module report/errors
 */

import { instantiate } from "./page.js";

/** @typedef {import("./page.js").Page} Page */

const ERROR_SUFFIX = "-error";

/**
 * The controls of a field: one for text and lists, every box of a group of checkboxes.
 *
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLElement[]}
 */
function controlsOf(form, name) {
  return Array.from(form.querySelectorAll(`[name="${name}"]`));
}

/**
 * Where the message goes and what it describes: a group's fieldset, or the control.
 * Checkboxes and radio buttons are a group.
 *
 * @param {HTMLElement} control
 * @returns {{described: HTMLElement, before: Element}}
 */
function placeOf(control) {
  if (control instanceof HTMLInputElement && ["checkbox", "radio"].includes(control.type)) {
    const fieldset = control.closest("fieldset");
    if (fieldset !== null) {
      const first = fieldset.querySelector(".choice-option, .choice") ?? control;
      return { described: fieldset, before: first };
    }
  }
  return { described: control, before: control };
}

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
 * Remove every error shown, the server's included (they no longer apply once the script
 * has checked the form again).
 *
 * @param {Document} doc
 * @param {HTMLFormElement} form
 * @param {string} title - the page title without an error prefix
 */
export function clearErrors(doc, form, title) {
  for (const element of doc.querySelectorAll(".error-summary, .field-error")) {
    element.remove();
  }
  for (const element of form.querySelectorAll("[aria-invalid]")) {
    element.removeAttribute("aria-invalid");
  }
  for (const element of form.querySelectorAll("[aria-describedby]")) {
    describedBy(/** @type {HTMLElement} */ (element), (ids) =>
      ids.filter((id) => !id.endsWith(ERROR_SUFFIX)),
    );
  }
  doc.title = title;
}

/**
 * Show each message next to its field and a summary before the form, and focus it.
 *
 * @param {Page} page
 * @param {HTMLFormElement} form
 * @param {Map<string, string>} errors - field name -> message, in the page's order
 * @param {string} title - the page title without an error prefix
 * @param {(control: HTMLElement) => void} [reveal] - what the summary's link to a
 *   control does: by default, scroll to it and focus it
 * @returns {HTMLElement} the summary
 */
export function showErrors(page, form, errors, title, reveal = scrollToAndFocus) {
  const { doc, strings } = page;
  clearErrors(doc, form, title);
  const summary = instantiate(doc, "report-js-summary");
  const list = /** @type {HTMLUListElement} */ (summary.querySelector("ul"));
  for (const [name, message] of errors) {
    const controls = controlsOf(form, name);
    if (controls.length === 0) {
      continue;
    }
    const id = name + ERROR_SUFFIX;
    const { described, before } = placeOf(controls[0]);
    const note = doc.createElement("p");
    note.className = "field-error";
    note.id = id;
    note.textContent = message;
    before.before(note);
    describedBy(described, (ids) => [...ids, id]);
    for (const control of controls) {
      control.setAttribute("aria-invalid", "true");
    }
    list.append(summaryItem(doc, message, controls[0], reveal));
  }
  form.before(summary);
  doc.title = `${strings.get("error-title")} ${title}`;
  summary.focus();
  return summary;
}

/** @param {HTMLElement} control */
function scrollToAndFocus(control) {
  control.scrollIntoView({ block: "center" });
  control.focus();
}

/**
 * The controls of a field, in the order of the page.
 *
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLElement | null} the first
 */
export function firstControl(form, name) {
  return controlsOf(form, name)[0] ?? null;
}

/**
 * A link to the field that also moves the keyboard focus there.
 *
 * @param {Document} doc
 * @param {string} message
 * @param {HTMLElement} control
 * @param {(control: HTMLElement) => void} reveal
 * @returns {HTMLLIElement}
 */
function summaryItem(doc, message, control, reveal) {
  const item = doc.createElement("li");
  const link = doc.createElement("a");
  link.href = `#${control.id}`;
  link.textContent = message;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    reveal(control);
  });
  item.append(link);
  return item;
}
