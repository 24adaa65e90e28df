/**
 * The one module every page loads (templates/base.html). It looks for the parts of the
 * page that have an enhancement and loads that code only then, with a dynamic import().
 *
 * Every page works without JavaScript, so any failure here leaves the page as the server
 * sent it: a browser that cannot parse the newer modules fails at import() inside the
 * try, and nothing has been changed yet. Nothing is ever logged: on these pages even an
 * error message could hold what a reporter typed.
 *
 * @module main
 */

/** Which module enhances which element, by selector. */
const ENHANCEMENTS = [
  { selector: "#report-form", module: "./report/index.js" },
  { selector: "#followup-form", module: "./followup/index.js" },
];

/** Load and run each enhancement whose element is on this page. */
async function enhancePage() {
  for (const { selector, module } of ENHANCEMENTS) {
    if (document.querySelector(selector) === null) {
      continue;
    }
    try {
      const loaded = await import(module);
      await loaded.enhance(document);
    } catch {
      // The page keeps working as it does without JavaScript.
    }
  }
}

enhancePage();
