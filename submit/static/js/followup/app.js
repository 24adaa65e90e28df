/**
 * The follow-up page once the code form is taken over: open the case with the code, show
 * it, act on it, and forget it. The case key lives here (in CaseAccess) and nowhere else;
 * it is overwritten when the reporter leaves, when the session ends (the server's answer,
 * or 30 minutes without a request, as the server counts), and when the page goes away.
 *
 * @module followup/app
 */

import { CodeFormatError } from "../crypto/index.js";
import { ApiError, NetworkError } from "../report/api.js";
import { FileUnreadable } from "../report/submission.js";
import { UploadLost } from "../report/upload.js";
import { CaseUnreadable, endSession, openCase, parseCode, refreshView } from "./access.js";
import { CodeForm } from "./code-form.js";
import {
  sendAsk,
  sendEscalation,
  sendIncidentNote,
  sendProtection,
  sendReDenunciation,
  sendReply,
  sendRetaliation,
  sendWithdrawal,
} from "./compose.js";
import { Downloads } from "./download.js";
import { clearErrors, lock, Progress, showAlert, showErrors } from "./feedback.js";
import {
  control,
  readAsk,
  readEscalation,
  readIncidentNote,
  readProtection,
  readReply,
  readRetaliation,
  readWithdrawal,
  restore,
  today,
  typed,
} from "./forms.js";
import { openThread } from "./messages.js";
import { CaseScreen } from "./view.js";

/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./access.js").CaseView} CaseView */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */

/** The strings that say why a code was refused, by CodeFormatError reason. */
const CODE_REASONS = new Map([
  ["empty", "code-empty"],
  ["length", "code-length"],
  ["character", "code-character"],
  ["checksum", "code-checksum"],
]);
/** The strings that say why sending failed, by error class. */
const REASONS = new Map([
  [NetworkError, "failure-network"],
  [UploadLost, "failure-server"],
  [FileUnreadable, "failure-file"],
]);
/** The answer when the server no longer keeps a follow-up session for this page. */
const NO_SESSION = 401;

/**
 * @param {unknown} error
 * @returns {boolean}
 */
function sessionEnded(error) {
  return error instanceof ApiError && error.status === NO_SESSION;
}

/** Calls `onExpiry` once `seconds` pass without restart(), as the server's session. */
class Idle {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;

  /**
   * @param {number} seconds
   * @param {() => void} onExpiry
   */
  constructor(seconds, onExpiry) {
    this.seconds = seconds;
    this.onExpiry = onExpiry;
  }

  restart() {
    this.stop();
    this.#timer = setTimeout(this.onExpiry, this.seconds * 1000);
  }

  stop() {
    clearTimeout(this.#timer);
  }
}

export class FollowupApp {
  /** @type {CaseAccess | null} */
  #access = null;
  /** @type {CaseScreen | null} */
  #screen = null;
  #busy = false;
  /** @type {HTMLElement[]} what the case hides of the page, to show again after */
  #covered = [];
  /** @type {Map<string, string>} what was typed but not sent when the case closed */
  #unsent = new Map();
  /**
   * The most transcript entries this page has shown of the open case, in its memory
   * only: entries cut off the end leave no trace in the records (docs/crypto.md §13.5),
   * so fewer coming back is said, and keeps being said.
   */
  #entries = 0;

  /**
   * @param {FollowupPage} page
   * @param {HTMLFormElement} form - #followup-form
   * @param {HTMLInputElement} input - its code field
   * @param {HTMLElement} app - #followup-app, where the case is shown
   */
  constructor(page, form, input, app) {
    this.page = page;
    this.codeForm = new CodeForm(page, form, input);
    this.app = app;
    this.downloads = new Downloads(page.doc);
    this.idle = new Idle(page.sessionSeconds, () => this.#end(page.strings.get("session-ended")));
  }

  attach() {
    this.codeForm.attach((text) => this.open(text));
    // Nothing decrypted may outlive the page, not even in the back-forward cache.
    globalThis.addEventListener("pagehide", () => this.#forget());
  }

  // --- opening ---------------------------------------------------------------------------

  /** @param {string} text - what the reporter typed as the code */
  async open(text) {
    if (this.#busy) {
      return;
    }
    const { strings } = this.page;
    this.codeForm.clear();
    let code;
    try {
      code = await parseCode(text);
    } catch (error) {
      if (!(error instanceof CodeFormatError)) {
        throw error;
      }
      this.codeForm.refuse(strings.get(CODE_REASONS.get(error.reason) ?? "code-unknown"));
      return;
    }
    this.#busy = true;
    const unlock = this.codeForm.busy();
    try {
      const { access, view } = await openCase(this.page, code);
      this.#access = access;
      await this.#show(view);
      this.codeForm.forget(); // the code leaves the page; the case key stays in memory
    } catch (error) {
      this.#access?.forget();
      this.#access = null;
      this.codeForm.refuse(this.#openFailure(error));
    } finally {
      unlock();
      this.#busy = false;
    }
  }

  /**
   * @param {unknown} error
   * @returns {string}
   */
  #openFailure(error) {
    const { strings } = this.page;
    if (error instanceof ApiError) {
      // The server's own message: the same whether the code is unknown or wrong.
      return error.message || strings.get(error.transient ? "failure-server" : "code-unknown");
    }
    if (error instanceof NetworkError) {
      return strings.get("failure-network");
    }
    if (error instanceof CaseUnreadable) {
      return strings.get("code-unknown");
    }
    return strings.get("failure-unexpected");
  }

  /**
   * Show the case in place of the page's content, as the no-JavaScript case page would.
   *
   * @param {CaseView} view
   */
  async #show(view) {
    const access = /** @type {CaseAccess} */ (this.#access);
    const thread = await this.#thread(access, view);
    const screen = new CaseScreen(
      this.page,
      (id, meta, button) => this.#download(id, meta, button),
      (kind, id, form) => this.#bindItem(kind, id, form),
    );
    this.#bind(screen);
    screen.update(view, thread, false);
    restore(screen.forms, this.#unsent); // what could not be sent last time
    this.#unsent = new Map();
    this.#screen = screen;
    this.codeForm.clear();
    const main = this.codeForm.main;
    this.#covered = Array.from(main.children).filter(
      (element) => element instanceof HTMLElement && element !== this.app && !element.hidden,
    );
    for (const element of this.#covered) {
      element.hidden = true;
    }
    this.app.replaceChildren(screen.root);
    this.app.hidden = false;
    this.#retitle();
    this.idle.restart();
    globalThis.scrollTo(0, 0);
    screen.heading.focus();
  }

  /** The page's title: the case's heading and the site's name, as base.html writes it. */
  #retitle() {
    const site = this.codeForm.title;
    const separator = site.lastIndexOf(" · ");
    const heading = this.#screen?.heading.textContent ?? "";
    this.page.doc.title = heading + (separator >= 0 ? site.slice(separator) : "");
  }

  /** Fetch the case again and show it. */
  async #refresh() {
    const access = this.#access;
    const screen = this.#screen;
    if (access === null || screen === null) {
      return;
    }
    const view = await refreshView(this.page, access);
    this.idle.restart();
    const thread = await this.#thread(access, view);
    if (this.#access !== access) {
      return; // the reporter left meanwhile
    }
    screen.update(view, thread, thread.entries < this.#entries);
    this.#retitle();
  }

  /**
   * Check and open the conversation; remember where the next entry goes and the most
   * entries seen.
   *
   * @param {CaseAccess} access
   * @param {CaseView} view
   * @returns {Promise<import("./messages.js").Thread>}
   */
  async #thread(access, view) {
    const thread = await openThread(access, view);
    if (!access.forgotten) {
      access.head = thread.head;
      this.#entries = Math.max(this.#entries, thread.entries);
    }
    return thread;
  }

  // --- acting on the case ----------------------------------------------------------------

  /** @param {CaseScreen} screen */
  #bind(screen) {
    const { forms } = screen;
    const page = this.page;
    this.#onSubmit(forms.reply, readReply, (value, progress) => {
      const access = /** @type {CaseAccess} */ (this.#access);
      return sendReply(page, access, value, progress.reporter());
    }, "sent-reply");
    this.#onSubmit(forms.retaliation, readRetaliation, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendRetaliation(page, /** @type {CaseAccess} */ (this.#access), value);
    }, "sent-retaliation");
    this.#onSubmit(forms.withdraw, readWithdrawal, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendWithdrawal(page, /** @type {CaseAccess} */ (this.#access), value);
    }, (value) => (value.scope === "part" ? "sent-withdrawal-part" : "sent-withdrawal"));
    this.#onSubmit(forms.escalate, readEscalation, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendEscalation(page, /** @type {CaseAccess} */ (this.#access), value.text);
    }, "sent-escalation");
    // The same shape as an escalation: an optional text, sealed and signed here.
    this.#onSubmit(forms.redenounce, readEscalation, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendReDenunciation(page, /** @type {CaseAccess} */ (this.#access), value.text);
    }, "sent-re-denunciation");
    this.#onSubmit(forms.protection, readProtection, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendProtection(page, /** @type {CaseAccess} */ (this.#access), value);
    }, "sent-protection");
    // Leaving always works, even while something is being sent: someone may walk in.
    forms.leave.addEventListener("submit", (event) => {
      event.preventDefault();
      this.leave();
    });
    control(forms.retaliation, "occurred_on").max = today();
  }

  /**
   * The form of one item: "add information" to a retaliation report ("incident"), or an
   * ask about a protection in place ("ask").
   *
   * @param {"incident" | "ask"} kind
   * @param {number} id - the incident's or the protection record's id
   * @param {HTMLFormElement} form
   */
  #bindItem(kind, id, form) {
    const page = this.page;
    if (kind === "incident") {
      this.#onSubmit(form, readIncidentNote, (value, progress) => {
        progress.say(page.strings.get("progress-note"));
        return sendIncidentNote(page, /** @type {CaseAccess} */ (this.#access), id, value.text);
      }, "sent-incident");
      return;
    }
    this.#onSubmit(form, readAsk, (value, progress) => {
      progress.say(page.strings.get("progress-note"));
      return sendAsk(page, /** @type {CaseAccess} */ (this.#access), id, value);
    }, "sent-ask");
  }

  /**
   * Check the form on submit, then send it with the form locked and a progress bar.
   *
   * @template T
   * @param {HTMLFormElement} form
   * @param {(page: FollowupPage, form: HTMLFormElement) => {errors: Map<HTMLElement, string>,
   *   value: T | null}} read
   * @param {(value: T, progress: Progress) => Promise<void>} send
   * @param {string | ((value: T) => string)} done - the string to announce once sent, or
   *   how to pick it from what was sent
   */
  #onSubmit(form, read, send, done) {
    form.addEventListener("submit", (event) => {
      event.preventDefault(); // first: these forms must never post as HTML forms
      if (this.#busy) {
        return;
      }
      const { errors, value } = read(this.page, form);
      if (value === null) {
        showErrors(form, errors);
        return;
      }
      clearErrors(form);
      const key = typeof done === "function" ? done(value) : done;
      this.#act(form, (progress) => send(value, progress), key);
    });
  }

  /**
   * @param {HTMLFormElement} form
   * @param {(progress: Progress) => Promise<void>} task
   * @param {string} done
   */
  async #act(form, task, done) {
    const screen = /** @type {CaseScreen} */ (this.#screen);
    this.#busy = true;
    screen.announce("");
    screen.showError("");
    lock(form, true);
    const progress = new Progress(this.page, form);
    progress.show(null);
    let failure = null;
    try {
      await task(progress);
    } catch (error) {
      failure = { error };
    }
    progress.remove();
    lock(form, false); // before any message: focus cannot go into an inert form
    this.#busy = false;
    if (failure !== null) {
      this.#failed(form, failure.error);
      return;
    }
    if (this.#screen !== screen) {
      return; // the reporter left meanwhile
    }
    this.idle.restart();
    form.reset();
    // Closed again, as the server's page comes back after a post: what was done is said at
    // the top, where the focus goes.
    form.closest("details")?.removeAttribute("open");
    screen.announce(this.page.strings.get(done));
    screen.announcer.focus();
    try {
      await this.#refresh();
    } catch (error) {
      this.#refreshFailed(error);
    }
  }

  /**
   * @param {HTMLFormElement} form
   * @param {unknown} error
   */
  #failed(form, error) {
    if (this.#screen === null) {
      return; // the reporter left meanwhile: nothing to tell
    }
    if (sessionEnded(error)) {
      this.#end(/** @type {ApiError} */ (error).message || this.page.strings.get("session-ended"));
      return;
    }
    const { strings } = this.page;
    const known = [...REASONS.keys()].find((kind) => error instanceof kind);
    let reason = strings.get("failure-unexpected");
    if (error instanceof ApiError) {
      reason = error.message || strings.get("failure-server");
    } else if (known !== undefined) {
      reason = strings.get(REASONS.get(known) ?? "failure-unexpected");
    }
    showAlert(form, [reason, strings.get("failure-kept")]);
  }

  /**
   * What was sent arrived, but the case could not be shown again.
   *
   * @param {unknown} error
   */
  #refreshFailed(error) {
    if (sessionEnded(error)) {
      this.#end(/** @type {ApiError} */ (error).message || this.page.strings.get("session-ended"));
      return;
    }
    const reason = error instanceof NetworkError ? "failure-network" : "failure-server";
    this.#screen?.showError(this.page.strings.get(reason));
  }

  /**
   * @param {number} id
   * @param {FileMeta} meta
   * @param {HTMLButtonElement} button
   */
  async #download(id, meta, button) {
    const screen = this.#screen;
    const access = this.#access;
    if (access === null || screen === null || button.disabled) {
      return;
    }
    const { strings } = this.page;
    screen.showError("");
    screen.announce(strings.get("download-started"));
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await this.downloads.fetch(this.page, access, id, meta);
      this.idle.restart();
      screen.announce(strings.get("download-done"));
    } catch (error) {
      if (sessionEnded(error)) {
        this.#end(/** @type {ApiError} */ (error).message || strings.get("session-ended"));
        return;
      }
      screen.announce("");
      screen.showError(strings.get("download-failed"));
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // --- leaving -------------------------------------------------------------------------------

  /** Forget everything here at once, then end the server's session. */
  async leave() {
    this.#forget();
    await endSession(this.page);
    this.codeForm.tell(this.page.strings.get("session-left"), "");
  }

  /**
   * The session ended: forget, and show the code form again with `message` and whatever
   * the reporter had typed, to copy now or to find in the forms after opening again.
   *
   * @param {string} message
   */
  #end(message) {
    const screen = this.#screen;
    this.#unsent = screen === null ? new Map() : typed(screen.forms);
    this.#forget();
    const texts = [...this.#unsent].filter(([key]) => key.endsWith(".text"));
    this.codeForm.tell(message, texts.map(([, value]) => value).join("\n\n"));
  }

  /** Overwrite the case key, revoke downloads and remove everything decrypted. */
  #forget() {
    this.idle.stop();
    this.#access?.forget();
    this.#access = null;
    this.#entries = 0;
    this.#screen = null;
    this.#busy = false;
    this.downloads.revokeAll();
    this.app.replaceChildren();
    this.app.hidden = true;
    for (const element of this.#covered) {
      element.hidden = false;
    }
    this.#covered = [];
    this.codeForm.forget();
    this.page.doc.title = this.codeForm.title;
  }
}
