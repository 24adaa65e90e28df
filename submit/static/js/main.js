/**
 * The one module every page loads (templates/base.html). It looks for the parts of the
 * page that have an enhancement and loads that code only then, with a dynamic import().
 *
 * Pages load the build of this module, static/js/dist/main.js (`make bundle`, see
 * docs/architecture.md): esbuild puts the modules below into that one file, so that a
 * page over Tor fetches one script rather than some thirty in a chain of imports. Each
 * import() below stays lazy there: the code it names is only evaluated when called.
 * The import() specifiers are written out, not computed, so that the bundler can follow
 * them.
 *
 * Every page works without JavaScript, so any failure here leaves the page as the server
 * sent it: a browser that cannot parse the newer modules fails at import() inside the
 * try, and nothing has been changed yet. Nothing is ever logged: on these pages even an
 * error message could hold what a reporter typed.
 *
 * When an enhancement has finished, the element it enhanced gets `data-enhanced`, which
 * the page-load benchmark (benchmarks/page_load.py) waits for.
 *
 * @module main
 */

/** Which module enhances which element, by selector. */
const ENHANCEMENTS = [
  { selector: "#report-form", load: () => import("./report/index.js") },
  { selector: "#followup-form", load: () => import("./followup/index.js") },
];

/** Load and run each enhancement whose element is on this page. */
async function enhancePage() {
  for (const { selector, load } of ENHANCEMENTS) {
    const element = document.querySelector(selector);
    if (element === null) {
      continue;
    }
    try {
      const loaded = await load();
      await loaded.enhance(document);
      element.setAttribute("data-enhanced", "");
    } catch {
      // The page keeps working as it does without JavaScript.
    }
  }
}

enhancePage();
