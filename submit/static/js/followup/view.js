/**
 * The open case on the page: built once from the <template> views of followup_js.html,
 * then updated in place after each action, so that what the reporter is typing in one
 * form is never lost when another form sends. Everything decrypted is set as text
 * (textContent), never parsed as HTML.
 *
 * @module followup/view
 */

import { instantiate, template } from "../report/page.js";
import { isolatedName } from "./names.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("./access.js").CaseView} CaseView */
/** @typedef {import("./access.js").Deadline} Deadline */
/** @typedef {import("./access.js").Incident} Incident */
/** @typedef {import("./access.js").Protection} Protection */
/** @typedef {import("./messages.js").OpenMessage} OpenMessage */
/** @typedef {import("./messages.js").Thread} Thread */
/** @typedef {import("./messages.js").OpenAttachment} OpenAttachment */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/**
 * The label of each kind of transcript entry (web/labels.py ENTRY_PURPOSES) but a plain
 * message, which needs none.
 */
const PURPOSE_KEYS = new Map([
  ["notice", "purpose-notice"],
  ["withdrawal", "purpose-withdrawal"],
  ["partial-withdrawal", "purpose-partial-withdrawal"],
  ["escalation", "purpose-escalation"],
  ["re-denunciation", "purpose-re-denunciation"],
  ["retaliation", "purpose-retaliation"],
  ["retaliation-note", "purpose-retaliation-note"],
  ["protection-request", "purpose-protection-request"],
  ["protection-ask", "purpose-protection-ask"],
  ["upgrade", "purpose-upgrade"],
]);

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
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // As the server writes a day (web/dates.py): 6/12/2026 in Vietnamese, 6 December 2026
  // in English.
  if (language === "vi") {
    return `${day}/${month}/${year}`;
  }
  const date = new Date(Date.UTC(year, month - 1, day));
  try {
    return new Intl.DateTimeFormat("en-GB", {
      day: "numeric",
      month: "long",
      year: "numeric",
      timeZone: "UTC",
    }).format(date);
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

/**
 * Copy the <option>s of a <select> in a template into `select`.
 *
 * @param {Document} doc
 * @param {Element | null} source
 * @param {HTMLSelectElement} select
 */
function copyOptions(doc, source, select) {
  for (const option of source instanceof HTMLSelectElement ? source.options : []) {
    select.append(doc.importNode(option, true));
  }
}

/** The case as shown: facts, deadlines, messages, and the forms to act on it. */
export class CaseScreen {
  /** @type {Map<number, HTMLElement>} incident id -> its item, kept across updates */
  #incidents = new Map();
  /** @type {Map<number, HTMLElement>} protection record id -> its item, likewise */
  #records = new Map();

  /**
   * @param {FollowupPage} page
   * @param {(id: number, meta: FileMeta, button: HTMLButtonElement) => void} onDownload
   * @param {(kind: "incident" | "ask", id: number, form: HTMLFormElement) => void} onItemForm
   *   - called once for the form of each incident ("add information") and each
   *   protection record (ask to change or end it), when the item first appears
   */
  constructor(page, onDownload, onItemForm) {
    this.page = page;
    this.onDownload = onDownload;
    this.onItemForm = onItemForm;
    const { doc } = page;
    this.root = instantiate(doc, "followup-js-case");
    this.heading = slot(this.root, "title");
    this.announcer = slot(this.root, "announce");
    this.error = slot(this.root, "error");
    this.forms = {
      reply: /** @type {HTMLFormElement} */ (slot(this.root, "form-reply")),
      retaliation: /** @type {HTMLFormElement} */ (slot(this.root, "form-retaliation")),
      withdraw: /** @type {HTMLFormElement} */ (slot(this.root, "form-withdraw")),
      escalate: /** @type {HTMLFormElement} */ (slot(this.root, "form-escalate")),
      redenounce: /** @type {HTMLFormElement} */ (slot(this.root, "form-redenounce")),
      protection: /** @type {HTMLFormElement} */ (slot(this.root, "form-protection")),
      leave: /** @type {HTMLFormElement} */ (slot(this.root, "form-leave")),
    };
    const kinds = template(doc, "followup-js-kinds").content.querySelector("select");
    const select = /** @type {HTMLSelectElement} */ (
      this.forms.retaliation.elements.namedItem("kind")
    );
    copyOptions(doc, kinds, select);
    const choices = template(doc, "followup-js-protection-choices").content;
    for (const name of ["person", "category"]) {
      const target = /** @type {HTMLSelectElement} */ (
        this.forms.protection.elements.namedItem(name)
      );
      copyOptions(doc, choices.querySelector(`[data-choices="${name}"]`), target);
    }
    this.askChoices = choices.querySelector('[data-choices="ask"]');
  }

  /**
   * A named report the unit has yet to verify the reporter of: how to complete it.
   *
   * @param {CaseView} view
   */
  #verification(view) {
    const { strings } = this.page;
    slot(this.root, "verification").hidden = !view.awaits_verification;
    slot(this.root, "verification-text").textContent = strings.get("case-verification", {
      reference: view.reference,
    });
    const schedule = slot(this.root, "verification-schedule");
    schedule.textContent = strings.get("case-verification-schedule", {
      schedule: view.reception_schedule,
    });
    schedule.hidden = view.reception_schedule === "";
  }

  /**
   * Show `view` with its checked and decrypted conversation.
   *
   * @param {CaseView} view
   * @param {Thread} thread
   * @param {boolean} fewer - fewer entries came back than this page showed before
   */
  update(view, thread, fewer) {
    const { strings, language } = this.page;
    this.heading.textContent = strings.get("case-title", { reference: view.reference });
    slot(this.root, "status").textContent = this.#statusLabel(view);
    setDate(slot(this.root, "received"), language, view.received_on);
    slot(this.root, "track").textContent =
      view.track === "named" ? strings.get("track-named") : strings.get("track-anonymous");
    slot(this.root, "withdrawn").hidden = !view.withdrawn;
    const forwarded = slot(this.root, "forwarded");
    forwarded.textContent = view.forwarded_to
      ? strings.get("forwarded-to", { unit: view.forwarded_to })
      : "";
    forwarded.hidden = !view.forwarded_to;
    this.#verification(view);
    slot(this.root, "ended").hidden = view.may_withdraw;
    slot(this.root, "withdraw").hidden = !view.may_withdraw;
    this.#deadlines(view.deadlines);
    this.#nextStep(view.deadlines);
    this.#escalation(view);
    this.#answers(thread.answers);
    this.#messages(thread.messages);
    this.#latest(thread.messages);
    slot(this.root, "report-altered").hidden = !thread.reportAltered;
    slot(this.root, "fewer").hidden = !fewer;
    this.#incidentList(view.incidents);
    this.#protections(view.protections);
    slot(this.root, "protection-urgent-hint").textContent = strings.get(
      "protection-urgent-hint",
      { period: view.protection_confirmation },
    );
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

  /** @param {Deadline[]} deadlines */
  #deadlines(deadlines) {
    const rows = deadlines.map((deadline) => this.#deadline(deadline));
    slot(this.root, "deadlines").replaceChildren(...rows);
    slot(this.root, "deadlines").hidden = deadlines.length === 0;
    slot(this.root, "deadlines-hint").hidden = deadlines.length === 0;
    slot(this.root, "no-deadlines").hidden = deadlines.length > 0;
  }

  /**
   * The summary's "What comes next": what falls due first, or while every clock stands
   * still the first of them, as the server's page (followup.next_deadline).
   *
   * @param {Deadline[]} deadlines
   */
  #nextStep(deadlines) {
    const { strings, language } = this.page;
    const running = deadlines.filter((deadline) => deadline.due_on !== null);
    running.sort((a, b) => String(a.due_on).localeCompare(String(b.due_on)));
    const next = running[0] ?? deadlines[0];
    slot(this.root, "next-step").hidden = next === undefined;
    slot(this.root, "no-next-step").hidden = next !== undefined;
    if (next === undefined) {
      return;
    }
    slot(this.root, "next-label").textContent = next.label || next.key;
    slot(this.root, "next-due").textContent =
      next.due_on === null
        ? strings.get("due-paused", { used: next.used ?? "", period: next.period })
        : strings.get("due-by", { date: formatDate(language, next.due_on) });
    slot(this.root, "next-overdue").hidden = !next.overdue;
  }

  /**
   * The summary's link to the newest message, which is last in the conversation.
   *
   * @param {OpenMessage[]} messages
   */
  #latest(messages) {
    const { strings, language } = this.page;
    const latest = messages[messages.length - 1];
    slot(this.root, "latest-label").hidden = latest === undefined;
    slot(this.root, "latest").hidden = latest === undefined;
    if (latest === undefined) {
      return;
    }
    const author = latest.author === "reporter" ? "author-reporter" : "author-inspector";
    const link = slot(this.root, "latest-link");
    link.textContent = `${strings.get(author)}, ${formatDate(language, latest.createdOn)}`;
    link.setAttribute("href", `#followup-js-message-${latest.id}`);
  }

  /**
   * One clock: what falls due, by when (or how much is used while it stands still),
   * whether the law sets it, and "Overdue" in words, not in colour only.
   *
   * @param {Deadline} deadline
   * @returns {HTMLElement}
   */
  #deadline(deadline) {
    const { doc, strings, language } = this.page;
    const item = instantiate(doc, "followup-js-deadline");
    item.id = `followup-js-deadline-${deadline.key}`;
    part(item, ".deadline-label").textContent = deadline.label || deadline.key;
    const due = part(item, ".deadline-due");
    if (deadline.due_on === null) {
      due.textContent = strings.get("due-paused", {
        used: deadline.used ?? "",
        period: deadline.period,
      });
    } else {
      due.textContent = strings.get("due-by", {
        date: formatDate(language, deadline.due_on),
      });
    }
    part(item, ".overdue").hidden = !deadline.overdue;
    item.classList.toggle("deadline-overdue", deadline.overdue);
    part(item, ".deadline-basis").textContent = strings.get(
      deadline.statutory ? "due-statutory" : "due-target",
      { period: deadline.period },
    );
    return item;
  }

  /**
   * Art. 38: the escalation form while a legal deadline is overdue, and once the reporter
   * escalated or re-denounced, who now answers; Art. 37: the re-denunciation form once
   * the case is concluded or its resolution is overdue.
   *
   * @param {CaseView} view
   */
  #escalation(view) {
    const { strings } = this.page;
    const unit = view.answered_by ?? "";
    const superior = view.answered_by_superior === true;
    const escalated = slot(this.root, "escalated");
    escalated.hidden = !view.escalated;
    slot(this.root, "escalated-heading").textContent = strings.get("escalate-answerer", { unit });
    slot(this.root, "escalated-text").textContent = superior
      ? strings.get("escalate-answered-superior", { unit })
      : strings.get("escalate-answered-own");
    slot(this.root, "escalate").hidden = !view.may_escalate || view.escalated;
    const intro = superior ? "escalate-intro-superior" : "escalate-intro-own";
    slot(this.root, "escalation-intro").textContent = strings.get(intro, {
      unit,
      period: view.escalation_period ?? "",
    });
    slot(this.root, "redenounce").hidden = view.may_re_denounce !== true;
    slot(this.root, "redenounce-intro").textContent = strings.get("escalate-redenounce-intro", { unit });
  }

  /**
   * The heads' answers, opened on this device; an altered one says so.
   *
   * @param {import("./answers.js").OpenAnswer[]} answers
   */
  #answers(answers) {
    const { doc, strings, language } = this.page;
    const items = answers.map((answer) => {
      const article = doc.createElement("article");
      article.className = "message message-unit";
      article.id = `followup-js-answer-${answer.id}`;
      const heading = doc.createElement("h3");
      heading.className = "message-meta";
      heading.id = `${article.id}-heading`;
      heading.textContent = answer.label;
      const when = doc.createElement("span");
      when.className = "message-date";
      const time = doc.createElement("time");
      setDate(time, language, answer.answeredOn);
      when.append(", ", time);
      heading.append(when);
      article.setAttribute("aria-labelledby", heading.id);
      const body = doc.createElement("p");
      if (answer.text === null) {
        body.className = "field-error";
        body.textContent = strings.get("record-altered");
      } else {
        body.className = "message-text";
        body.textContent = answer.text;
      }
      article.append(heading, body);
      return article;
    });
    slot(this.root, "answers").replaceChildren(...items);
    slot(this.root, "answers-section").hidden = answers.length === 0;
  }

  /**
   * The reporter's retaliation reports, each with its form to add information. An item
   * stays in place across updates, so what is typed in one form survives another's send.
   *
   * @param {Incident[]} incidents
   */
  #incidentList(incidents) {
    const items = incidents.map((incident) => {
      let item = this.#incidents.get(incident.id);
      if (item === undefined) {
        item = this.#newIncident(incident.id);
        this.#incidents.set(incident.id, item);
      }
      this.#incidentFacts(item, incident);
      return item;
    });
    slot(this.root, "incidents").replaceChildren(...items);
    slot(this.root, "incidents").hidden = incidents.length === 0;
    slot(this.root, "no-incidents").hidden = incidents.length > 0;
  }

  /**
   * @param {number} id
   * @returns {HTMLElement}
   */
  #newIncident(id) {
    const item = instantiate(this.page.doc, "followup-js-incident");
    const prefix = `followup-js-incident-${id}`;
    item.id = prefix;
    const heading = part(item, ".followup-js-incident-kind");
    heading.id = `${prefix}-heading`;
    const textarea = part(item, "textarea");
    textarea.id = `${prefix}-text`;
    part(item, ".followup-js-incident-label").setAttribute("for", textarea.id);
    const hint = part(item, ".followup-js-incident-hint");
    hint.id = `${prefix}-hint`;
    textarea.setAttribute("aria-describedby", hint.id);
    const alertHeading = part(item, ".followup-js-alert-heading");
    alertHeading.id = `${prefix}-alert`;
    part(item, ".followup-js-alert").setAttribute("aria-labelledby", alertHeading.id);
    const form = /** @type {HTMLFormElement} */ (part(item, "form"));
    form.setAttribute("aria-labelledby", heading.id);
    this.onItemForm("incident", id, form);
    return item;
  }

  /**
   * @param {HTMLElement} item
   * @param {Incident} incident
   */
  #incidentFacts(item, incident) {
    const { strings, language } = this.page;
    part(item, ".followup-js-incident-kind").textContent = incident.kind_label;
    const facts = [];
    if (incident.occurred_on !== null) {
      facts.push(
        strings.get("incident-occurred", { date: formatDate(language, incident.occurred_on) }),
      );
    }
    facts.push(
      strings.get("incident-reported", { date: formatDate(language, incident.reported_on) }),
    );
    if (incident.added_on.length > 0) {
      const dates = incident.added_on.map((day) => formatDate(language, day)).join("; ");
      facts.push(strings.get("incident-added", { dates }));
    }
    part(item, ".followup-js-incident-facts").textContent = facts.join(" ");
  }

  /**
   * The protection records, each with its ask form while measures are in place. Items
   * stay across updates, as incidents do, so that what is typed survives.
   *
   * @param {Protection[]} records
   */
  #protections(records) {
    const items = records.map((record) => {
      let item = this.#records.get(record.id);
      if (item === undefined) {
        item = this.#newRecord(record.id);
        this.#records.set(record.id, item);
      }
      this.#recordFacts(item, record);
      return item;
    });
    slot(this.root, "protections").replaceChildren(...items);
    slot(this.root, "protections").hidden = records.length === 0;
    slot(this.root, "no-protections").hidden = records.length > 0;
  }

  /**
   * @param {number} id
   * @returns {HTMLElement}
   */
  #newRecord(id) {
    const { doc } = this.page;
    const item = instantiate(doc, "followup-js-protection");
    const prefix = `followup-js-protection-${id}`;
    item.id = prefix;
    const form = /** @type {HTMLFormElement} */ (part(item, "form"));
    const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem("ask"));
    select.id = `${prefix}-ask`;
    copyOptions(doc, this.askChoices, select);
    part(item, ".followup-js-ask-kind-label").setAttribute("for", select.id);
    const textarea = part(item, "textarea");
    textarea.id = `${prefix}-text`;
    part(item, ".followup-js-ask-text-label").setAttribute("for", textarea.id);
    const alertHeading = part(item, ".followup-js-alert-heading");
    alertHeading.id = `${prefix}-alert`;
    part(item, ".followup-js-alert").setAttribute("aria-labelledby", alertHeading.id);
    this.onItemForm("ask", id, form);
    return item;
  }

  /**
   * @param {HTMLElement} item
   * @param {Protection} record
   */
  #recordFacts(item, record) {
    const { strings, language } = this.page;
    const date = (/** @type {string} */ iso) => formatDate(language, iso);
    part(item, ".followup-js-protection-what").textContent =
      `${record.person_label}: ${record.category_label}`;
    part(item, ".protection-state").textContent = record.state_label;
    const requested =
      record.requested_by === "reporter" ? "protection-asked" : "protection-recorded";
    const facts = [strings.get(requested, { date: date(record.requested_on) })];
    if (record.urgent) {
      facts.push(strings.get("protection-urgent"));
    }
    if (record.confirmation_due !== null && record.decided_on === null) {
      facts.push(strings.get("protection-confirm", { date: date(record.confirmation_due) }));
    }
    if (record.started_on !== null) {
      facts.push(strings.get("protection-started", { date: date(record.started_on) }));
    } else if (record.decided_on !== null) {
      facts.push(strings.get("protection-decided", { date: date(record.decided_on) }));
    }
    if (record.ended_on !== null) {
      facts.push(strings.get("protection-ended", { date: date(record.ended_on) }));
    }
    if (record.asked_on.length > 0) {
      const dates = record.asked_on.map(date).join("; ");
      facts.push(strings.get("protection-asked-on", { dates }));
    }
    part(item, ".followup-js-protection-dates").textContent = facts.join(" ");
    part(item, ".followup-js-ask-entry").hidden = !record.may_ask;
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
    const kind = part(item, ".followup-js-kind");
    const label = PURPOSE_KEYS.get(message.purpose);
    kind.textContent = label === undefined ? "" : strings.get(label);
    kind.hidden = label === undefined;
    part(item, ".followup-js-out-of-order").hidden = !message.outOfOrder;
    const text = part(item, ".message-text");
    if (message.text === null) {
      text.className = "field-error";
      text.textContent = strings.get("record-altered");
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
      button.replaceChildren(isolatedName(doc, meta.name)); // the download keeps the name
      hint.textContent = ` ${strings.get("file-download", { size })}`;
      hint.id = `followup-js-file-${attachment.id}`;
      button.setAttribute("aria-describedby", hint.id);
      button.addEventListener("click", () => this.onDownload(attachment.id, meta, button));
    } else {
      // The reporter's own file: named, not offered again (the server does not send it).
      const name = doc.createElement("span");
      name.replaceChildren(isolatedName(doc, meta.name));
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
