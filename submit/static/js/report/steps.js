/**
 * The report form's steps with JavaScript (templates/report_form.html, docs/submission.md).
 *
 * The steps stay what they are without JavaScript: sections shown by CSS, the one whose
 * element is the URL's fragment (:target), and Next and Back are links to them. Moving
 * between steps is therefore always the browser's own fragment navigation, which records
 * each step in the history (the browser's Back button goes to the step before) and never
 * leaves the page: nothing typed is sent. This module only adds what needs a script:
 * Next checks the step's fields first, the new step's heading takes the focus, and a field
 * to correct is opened in its step.
 *
 * @module report/steps
 */

/**
 * @callback CheckStep - show what to correct in the step; true if nothing is
 * @param {HTMLElement} step
 * @returns {boolean}
 */

/**
 * @param {Element} element
 * @returns {boolean} whether it takes up room on the page (its step is shown)
 */
function isShown(element) {
  return element.getClientRects().length > 0;
}

/** The form's steps, moved between as the links to them do. */
export class Steps {
  /** @type {HTMLElement | null} what to focus once the browser has moved to a step */
  #pending = null;

  /**
   * @param {Document} doc
   * @param {HTMLFormElement} form
   */
  constructor(doc, form) {
    this.doc = doc;
    this.form = form;
  }

  /** @param {CheckStep} check - run before Next; Next goes on only if it says so */
  attach(check) {
    for (const link of this.form.querySelectorAll("a.step-next")) {
      link.addEventListener("click", (event) => {
        const step = link.closest(".step");
        if (step instanceof HTMLElement && !check(step)) {
          event.preventDefault();
        }
      });
    }
    this.doc.defaultView?.addEventListener("hashchange", () => this.#arrived());
  }

  /**
   * The step an element of the form is in, if any.
   *
   * @param {Element} element
   * @returns {HTMLElement | null}
   */
  stepOf(element) {
    const step = element.closest(".step");
    return step instanceof HTMLElement ? step : null;
  }

  /**
   * Show the step holding `element`, as a link to the element would, and focus `focus`.
   * A link that leaves no trace on the page: its navigation is the browser's own.
   *
   * @param {HTMLElement} element - with an id
   * @param {HTMLElement} focus
   */
  reveal(element, focus) {
    if (!isShown(element)) {
      this.#pending = focus; // hashchange comes later, and would focus the step's heading
      const link = this.doc.createElement("a");
      link.href = `#${element.id}`;
      link.click();
    }
    focus.focus();
  }

  /** After any move to a fragment in the form: focus the step's heading, or the field. */
  #arrived() {
    const target = this.doc.querySelector(":target");
    const pending = this.#pending;
    this.#pending = null;
    if (!(target instanceof HTMLElement) || !this.form.contains(target)) {
      return;
    }
    if (pending !== null) {
      pending.focus();
    } else if (target.classList.contains("step")) {
      target.querySelector("h2")?.focus();
    } else if (target.matches("input, select, textarea")) {
      target.focus();
    }
  }
}
