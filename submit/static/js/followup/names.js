/**
 * File names as the follow-up page shows them: the rule of web/filenames.py. A name is
 * the sender's own text, and a bidirectional control in it (U+202E RIGHT-TO-LEFT OVERRIDE
 * makes "invoice\u202Efdp.exe" read "invoiceexe.pdf") would disguise it and run on into
 * the words after it. Each bidirectional formatting character (UAX #9) and each control
 * character is shown as a visible replacement mark, and the name sits in a <bdi>. The real
 * name is kept for the download only.
 *
 * @module followup/names
 */

export const MARKER = "\uFFFD"; // visible, and of neutral direction itself
// C0 and C1 controls; ALM; LRM, RLM; LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI.
const NEUTRALISED = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/**
 * @param {string} name
 * @returns {string} the name with every bidirectional and control character replaced
 */
export function shownName(name) {
  return name.replace(NEUTRALISED, MARKER);
}

/**
 * @param {Document} doc
 * @param {string} name
 * @returns {HTMLElement} a <bdi> holding the shown name, as text
 */
export function isolatedName(doc, name) {
  const isolate = doc.createElement("bdi");
  isolate.textContent = shownName(name);
  return isolate;
}
