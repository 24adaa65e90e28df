/**
 * Reading the report form and checking it as the server does (views/report.py), so that
 * both paths accept the same input and build the same documents (docs/submission.md §1):
 * every report text field is present, trimmed, possibly empty; "protection" only when
 * asked for; an identity only when the reporter chose to give their name (or, on a page
 * that did not ask, when any of its fields is filled in).
 *
 * @module report/form
 */

import { streamLength } from "../crypto/index.js";

/** @typedef {import("./page.js").Limits} Limits */
/** @typedef {import("./page.js").Strings} Strings */

export const REPORT_FIELDS = ["what", "who", "where", "when", "how_known", "evidence"];
/** Form field name -> key in the IDENTITY document. */
export const IDENTITY_FIELDS = {
  identity_name: "name",
  identity_contact: "contact",
  identity_address: "address",
  identity_position: "position",
  identity_notes: "notes",
};
const TEXT_FIELDS = [...REPORT_FIELDS, ...Object.keys(IDENTITY_FIELDS), "protection_details"];
/** The answer to "Do you want to give your name?": views/report.py CHOICE_FIELD. */
const CHOICE_FIELD = "identity_choice";
const ANONYMOUS = "anonymous";
const NAMED = "named";
/** The order of the fields on the page, so errors are listed in the order they are met. */
export const FIELD_ORDER = [
  CHOICE_FIELD,
  ...Object.keys(IDENTITY_FIELDS),
  "category",
  ...REPORT_FIELDS,
  "protection_people",
  "protection_kinds",
  "protection_details",
  "excluded",
  "files",
];
// Python's str.strip(): its white space differs from String.prototype.trim's.
const PY_SPACE =
  "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
// A file input without a type is sent by browsers as this; the no-JavaScript path stores it.
const UNKNOWN_TYPE = "application/octet-stream";

/**
 * @typedef {object} Entered - what the form holds, unchecked
 * @property {string} category
 * @property {boolean} asked - the page asks whether the report is named
 * @property {string} choice - "anonymous", "named", or "" when none is chosen
 * @property {string[]} categories - the values the category list offers
 * @property {Record<string, string>} text - text fields, line breaks normalised to "\n"
 * @property {string[]} people - ticked, in the page's order
 * @property {string[]} kinds - ticked, in the page's order
 * @property {number[]} excluded - ticked inspector ids
 * @property {number} readers - how many people the reporter could exclude
 * @property {File[]} files
 */

/**
 * @typedef {object} AttachedFile
 * @property {File} file
 * @property {string} name
 * @property {string} type
 */

/**
 * @typedef {object} ValidReport - what the server's _validate returns, for the API
 * @property {string} category
 * @property {Record<string, unknown>} report - the REPORT document
 * @property {Record<string, unknown> | null} identity - the IDENTITY document, if named
 * @property {[string, string][]} protection - (person, kind) pairs
 * @property {number[]} excluded
 * @property {AttachedFile[]} files
 */

/**
 * @param {string} text
 * @returns {string}
 */
export function strip(text) {
  return text.replace(PY_STRIP, "");
}

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

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLInputElement[]}
 */
function boxes(form, name) {
  return Array.from(form.querySelectorAll(`input[type="checkbox"][name="${name}"]`));
}

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {string[]}
 */
function ticked(form, name) {
  return boxes(form, name)
    .filter((box) => box.checked)
    .map((box) => box.value);
}

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {string}
 */
function valueOf(form, name) {
  const control = form.elements.namedItem(name);
  const value =
    control instanceof HTMLInputElement ||
    control instanceof HTMLTextAreaElement ||
    control instanceof HTMLSelectElement
      ? control.value
      : "";
  return value.replace(/\r\n?/g, "\n"); // as the server normalises line breaks
}

/**
 * @param {HTMLFormElement} form
 * @returns {Entered}
 */
export function readForm(form) {
  const select = form.elements.namedItem("category");
  const files = form.elements.namedItem("files");
  const chosen = form.querySelector(`input[name="${CHOICE_FIELD}"]:checked`);
  return {
    category: valueOf(form, "category"),
    asked: form.querySelector(`input[name="${CHOICE_FIELD}"]`) !== null,
    choice: chosen instanceof HTMLInputElement ? chosen.value : "",
    categories:
      select instanceof HTMLSelectElement
        ? Array.from(select.options, (option) => option.value).filter(Boolean)
        : [],
    text: Object.fromEntries(TEXT_FIELDS.map((name) => [name, valueOf(form, name)])),
    people: ticked(form, "protection_people"),
    kinds: ticked(form, "protection_kinds"),
    excluded: ticked(form, "excluded").map(Number),
    readers: boxes(form, "excluded").length,
    files: files instanceof HTMLInputElement && files.files ? Array.from(files.files) : [],
  };
}

/**
 * Check the form as the server would, and build the documents.
 *
 * @param {Entered} entered
 * @param {Limits} limits
 * @param {Strings} strings
 * @param {string} language - the page's language, as the server's current_language()
 * @returns {{errors: Map<string, string>, valid: ValidReport | null}}
 */
export function validate(entered, limits, strings, language) {
  /** @type {Map<string, string>} */
  const errors = new Map();
  // An anonymous report's identity fields are never sent, whatever they hold.
  const dropped = entered.asked && entered.choice === ANONYMOUS ? Object.keys(IDENTITY_FIELDS) : [];
  for (const name of TEXT_FIELDS) {
    if (!dropped.includes(name) && codePoints(entered.text[name]) > limits.maxChars) {
      errors.set(name, strings.get("error-too-long"));
    }
  }
  const category = strip(entered.category);
  if (!entered.categories.includes(category)) {
    errors.set("category", strings.get("error-category"));
  }
  const text = (/** @type {string} */ name) => strip(entered.text[name]);
  if (!text("what") && !errors.has("what")) {
    errors.set("what", strings.get("error-what"));
  }
  checkIdentity(entered, text, strings, errors);
  checkProtection(entered, text("protection_details"), strings, errors);
  if (entered.readers > 0 && new Set(entered.excluded).size >= entered.readers) {
    errors.set("excluded", strings.get("error-excluded-all"));
  }
  const fileError = checkFiles(entered.files, limits, strings);
  if (fileError !== null) {
    errors.set("files", fileError);
  }
  if (errors.size > 0) {
    return { errors: ordered(errors), valid: null };
  }
  return { errors, valid: documents(entered, category, text, language) };
}

/**
 * @param {Entered} entered
 * @param {string} category
 * @param {(name: string) => string} text
 * @param {string} language
 * @returns {ValidReport}
 */
function documents(entered, category, text, language) {
  /** @type {Record<string, unknown>} */
  const report = { schema: 1, language, category };
  for (const name of REPORT_FIELDS) {
    report[name] = text(name);
  }
  /** @type {[string, string][]} */
  const protection = entered.people.flatMap((person) =>
    entered.kinds.map((kind) => /** @type {[string, string]} */ ([person, kind])),
  );
  if (protection.length > 0) {
    report.protection = {
      people: entered.people,
      kinds: entered.kinds,
      details: text("protection_details"),
    };
  }
  const identity = Object.fromEntries(
    Object.entries(IDENTITY_FIELDS).map(([name, key]) => [key, text(name)]),
  );
  return {
    category,
    report,
    identity: named(entered) ? { schema: 1, ...identity } : null,
    protection,
    excluded: [...new Set(entered.excluded)],
    files: entered.files.map((file) => ({
      file,
      name: file.name,
      type: file.type || UNKNOWN_TYPE,
    })),
  };
}

/**
 * Whether the report is named: as chosen, or on a page that did not ask, as the server's
 * rule for such a page says (any identity field filled in).
 *
 * @param {Entered} entered
 * @returns {boolean}
 */
function named(entered) {
  if (entered.asked) {
    return entered.choice === NAMED;
  }
  return Object.keys(IDENTITY_FIELDS).some((name) => strip(entered.text[name]) !== "");
}

/**
 * The choice is required; a named report needs a name and a way to reach its author.
 *
 * @param {Entered} entered
 * @param {(name: string) => string} text
 * @param {Strings} strings
 * @param {Map<string, string>} errors
 */
function checkIdentity(entered, text, strings, errors) {
  if (!entered.asked || entered.choice === ANONYMOUS) {
    return;
  }
  if (entered.choice !== NAMED) {
    errors.set(CHOICE_FIELD, strings.get("error-identity-choice"));
    return;
  }
  if (!text("identity_name") && !errors.has("identity_name")) {
    errors.set("identity_name", strings.get("error-identity-name"));
  }
  if (!text("identity_contact") && !errors.has("identity_contact")) {
    errors.set("identity_contact", strings.get("error-identity-contact"));
  }
}

/**
 * Who and what need protection go together; details alone ask for nothing.
 *
 * @param {Entered} entered
 * @param {string} details
 * @param {Strings} strings
 * @param {Map<string, string>} errors
 */
function checkProtection(entered, details, strings, errors) {
  const people = entered.people.length > 0;
  const kinds = entered.kinds.length > 0;
  if (people && !kinds) {
    errors.set("protection_kinds", strings.get("error-protection-kinds"));
  } else if (kinds && !people) {
    errors.set("protection_people", strings.get("error-protection-people"));
  } else if (details && !people) {
    errors.set("protection_people", strings.get("error-protection-details"));
  }
}

/**
 * The limits of both paths, and the API's own: it adds up the files' encrypted sizes,
 * which with padding can exceed the encrypted size of the total.
 *
 * @param {File[]} files
 * @param {Limits} limits
 * @param {Strings} strings
 * @returns {string | null} the message, if the files are refused
 */
function checkFiles(files, limits, strings) {
  if (files.length > limits.maxFiles) {
    return strings.get("error-too-many-files", { count: limits.maxFiles });
  }
  const { maxFileSize, maxReportSize } = limits;
  if (maxFileSize !== null && files.some((file) => file.size > maxFileSize)) {
    return strings.get("error-file-too-large");
  }
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const sealed = files.reduce((sum, file) => sum + streamLength(file.size), 0);
  if (maxReportSize !== null && (total > maxReportSize || sealed > streamLength(maxReportSize))) {
    return strings.get("error-files-too-large");
  }
  return null;
}

/**
 * @param {Map<string, string>} errors
 * @returns {Map<string, string>} the same, in the order of the page
 */
function ordered(errors) {
  return new Map(
    FIELD_ORDER.filter((name) => errors.has(name)).map((name) => [name, errors.get(name) ?? ""]),
  );
}
