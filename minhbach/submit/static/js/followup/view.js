/**
 * The open case on the page: built once from the <template> views of followup_js.html,
 * then updated in place after each action, so that what the reporter is typing in one
 * form is never lost when another form sends. Everything decrypted is set as text
 * (textContent), never parsed as HTML.
 *
 * @module followup/view
 */

import { instantiate, template } from "../report/page.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("./access.js").CaseView} CaseView */
/** @typedef {import("./messages.js").OpenMessage} OpenMessage */
/** @typedef {import("./messages.js").OpenAttachment} OpenAttachment */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A calendar date in the page's language. Dates are dates (no time, no zone): read and
 * written in UTC so no time zone can move them by a day.
 *
 * @param {string} language
 * @param {string} iso - YYYY-MM-DD
 * @returns {string}
 */
export function formatDate(language, iso) {
  const match = ISO_DATE.exec(iso);
  if (match === null) {
    return iso;
  }
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  try {
    return new Intl.DateTimeFormat(language, { dateStyle: "long", timeZone: "UTC" }).format(date);
  } catch {
    return iso;
  }
}

/**
 * A file size in the page's language, rounded down as the server's labels.file_size.
 *
 * @param {string} language
 * @param {number} size - bytes
 * @returns {string}
 */
export function formatSize(language, size) {
  const units = /** @type {const} */ ([
    ["gigabyte", 1024 ** 3],
    ["megabyte", 1024 ** 2],
    ["kilobyte", 1024],
  ]);
  const [unit, factor] = units.find(([, f]) => size >= f) ?? ["byte", 1];
  const value = Math.floor((size * 10) / factor) / 10;
  try {
    return new Intl.NumberFormat(language, {
      style: "unit",
      unit,
      unitDisplay: "short",
      maximumFractionDigits: 1,
    }).format(value);
  } catch {
    return `${value} ${unit}`;
  }
}

/**
 * @param {ParentNode} root
 * @param {string} name
 * @returns {HTMLElement}
 */
function slot(root, name) {
  const found = root.querySelector(`[data-slot="${name}"]`);
  if (!(found instanceof HTMLElement)) {
    throw new Error(`the case view lacks ${name}`);
  }
  return found;
}

/**
 * @param {ParentNode} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
function part(root, selector) {
  return /** @type {HTMLElement} */ (root.querySelector(selector));
}

/** The case as shown: facts, deadlines, messages, and the forms to act on it. */
export class CaseScreen {
  /**
   * @param {FollowupPage} page
   * @param {(id: number, meta: FileMeta, button: HTMLButtonElement) => void} onDownload
   */
  constructor(page, onDownload) {
    this.page = page;
    this.onDownload = onDownload;
    const { doc } = page;
    this.root = instantiate(doc, "followup-js-case");
    this.heading = slot(this.root, "title");
    this.announcer = slot(this.root, "announce");
    this.error = slot(this.root, "error");
    this.forms = {
      reply: /** @type {HTMLFormElement} */ (slot(this.root, "form-reply")),
      retaliation: /** @type {HTMLFormElement} */ (slot(this.root, "form-retaliation")),
      withdraw: /** @type {HTMLFormElement} */ (slot(this.root, "form-withdraw")),
      leave: /** @type {HTMLFormElement} */ (slot(this.root, "form-leave")),
    };
    const kinds = template(doc, "followup-js-kinds").content.querySelector("select");
    const select = /** @type {HTMLSelectElement} */ (
      this.forms.retaliation.elements.namedItem("kind")
    );
    for (const option of kinds?.options ?? []) {
      select.append(doc.importNode(option, true));
    }
    // The facts the server always sends; deadlines are added after them on each update.
    this.fixedFacts = Array.from(slot(this.root, "facts").children);
  }

  /**
   * Show `view` with its decrypted messages.
   *
   * @param {CaseView} view
   * @param {OpenMessage[]} messages
   */
  update(view, messages) {
    const { strings, language } = this.page;
    this.heading.textContent = strings.get("case-title", { reference: view.reference });
    slot(this.root, "status").textContent = this.#statusLabel(view);
    setDate(slot(this.root, "received"), language, view.received_on);
    slot(this.root, "track").textContent =
      view.track === "named" ? strings.get("track-named") : strings.get("track-anonymous");
    const ended = view.withdrawn || view.status === "closed"; // casework ENDED_STATUSES
    slot(this.root, "withdrawn").hidden = !view.withdrawn;
    slot(this.root, "forwarded").hidden = view.withdrawn || view.forwarded !== true;
    slot(this.root, "ended").hidden = !ended;
    this.forms.withdraw.hidden = ended;
    this.#deadlines(view.deadlines);
    this.#messages(messages);
  }

  /**
   * @param {CaseView} view
   * @returns {string}
   */
  #statusLabel(view) {
    if (typeof view.status_label === "string" && view.status_label !== "") {
      return view.status_label;
    }
    try {
      return this.page.strings.get(`status-${view.status}`);
    } catch {
      return view.status; // a status of a newer profile: shown as itself, as the server does
    }
  }

  /** @param {CaseView["deadlines"]} deadlines */
  #deadlines(deadlines) {
    const { doc, language } = this.page;
    const rows = deadlines.flatMap((deadline) => {
      const row = /** @type {DocumentFragment} */ (
        doc.importNode(template(doc, "followup-js-deadline").content, true)
      );
      part(row, "dt").textContent =
        typeof deadline.label === "string" && deadline.label ? deadline.label : deadline.kind;
      setDate(part(row, "time"), language, deadline.due_on);
      return Array.from(row.children);
    });
    slot(this.root, "facts").replaceChildren(...this.fixedFacts, ...rows);
    slot(this.root, "deadlines-hint").hidden = deadlines.length === 0;
  }

  /** @param {OpenMessage[]} messages */
  #messages(messages) {
    const list = slot(this.root, "messages");
    list.replaceChildren(...messages.map((message) => this.#message(message)));
    list.hidden = messages.length === 0;
    slot(this.root, "no-messages").hidden = messages.length > 0;
    slot(this.root, "own-files").hidden = !messages.some(
      (message) => message.author === "reporter" && message.attachments.length > 0,
    );
  }

  /**
   * @param {OpenMessage} message
   * @returns {HTMLElement}
   */
  #message(message) {
    const { doc, strings, language } = this.page;
    const item = instantiate(doc, "followup-js-message");
    const fromUnit = message.author !== "reporter";
    item.classList.add(fromUnit ? "message-unit" : "message-you");
    const heading = part(item, ".message-meta");
    heading.id = `followup-js-message-${message.id}`;
    part(item, "article").setAttribute("aria-labelledby", heading.id);
    part(item, ".followup-js-author").textContent = strings.get(
      fromUnit ? "author-inspector" : "author-reporter",
    );
    setDate(part(item, "time"), language, message.createdOn);
    const text = part(item, ".message-text");
    if (message.text === null) {
      text.className = "field-error";
      text.textContent = strings.get("unreadable-message");
    } else if (message.text === "") {
      text.remove();
    } else {
      text.textContent = message.text; // as text: line breaks kept by the stylesheet
    }
    const files = part(item, ".files");
    files.replaceChildren(...message.attachments.map((file) => this.#attachment(file)));
    files.hidden = message.attachments.length === 0;
    return item;
  }

  /**
   * @param {OpenAttachment} attachment
   * @returns {HTMLElement}
   */
  #attachment(attachment) {
    const { doc, strings, language } = this.page;
    const item = instantiate(doc, "followup-js-attachment");
    const { meta } = attachment;
    if (meta === null) {
      const note = doc.createElement("span");
      note.className = "field-error";
      note.textContent = strings.get("unreadable-file");
      item.replaceChildren(note);
      return item;
    }
    const size = formatSize(language, meta.size);
    const button = /** @type {HTMLButtonElement} */ (part(item, "button"));
    const hint = part(item, ".hint");
    if (attachment.downloadable) {
      button.textContent = meta.name;
      hint.textContent = ` ${strings.get("file-download", { size })}`;
      hint.id = `followup-js-file-${attachment.id}`;
      button.setAttribute("aria-describedby", hint.id);
      button.addEventListener("click", () => this.onDownload(attachment.id, meta, button));
    } else {
      // The reporter's own file: named, not offered again (the server does not send it).
      const name = doc.createElement("span");
      name.textContent = meta.name;
      button.replaceWith(name);
      hint.textContent = ` ${strings.get("file-own", { size })}`;
    }
    return item;
  }

  /**
   * Say something politely (role="status") at the top of the case; empty to hide it.
   *
   * @param {string} text
   */
  announce(text) {
    this.announcer.textContent = text;
    this.announcer.hidden = text === "";
  }

  /**
   * Show an error (role="alert") at the top of the case; empty to hide it.
   *
   * @param {string} text
   */
  showError(text) {
    this.error.textContent = text;
    this.error.hidden = text === "";
  }
}

/**
 * @param {HTMLElement} element - a <time>
 * @param {string} language
 * @param {string} iso
 */
function setDate(element, language, iso) {
  element.textContent = formatDate(language, iso);
  element.setAttribute("datetime", iso);
}
