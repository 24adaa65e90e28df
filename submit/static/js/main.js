/**
 * What every page's script shares: it enhances one form, loading that form's code only
 * when the form is there, with a dynamic import().
 *
 * Each page that has something to enhance loads its own script (submit/page_scripts.py):
 * pages/report.js or pages/followup.js, each a call of enhanceForm(). The pages load the
 * build of that script, static/js/dist/<page>.js (`make bundle`, see docs/architecture.md):
 * esbuild puts it, this module and everything the import() names into one file, so that
 * a page over Tor fetches one script rather than some thirty in a chain of imports. The
 * import() stays lazy there: the code it names is only evaluated when called, inside the
 * try below.
 *
 * Every page works without JavaScript, so any failure here leaves the page as the server
 * sent it: a browser that cannot parse the newer modules fails at import() inside the
 * try, and nothing has been changed yet. Nothing is ever logged: on these pages even an
 * error message could hold what a reporter typed.
 *
 * When the enhancement has finished, the form gets `data-enhanced`, which the page-load
 * benchmark (benchmarks/page_load.py) and the tests wait for.
 *
 * @module main
 */

/**
 * Load and run the enhancement of the element `selector` names, if this page has one.
 *
 * @param {string} selector
 * @param {() => Promise<{enhance: (doc: Document) => Promise<void>}>} load - the import()
 *   of the element's module, written out so that the bundler can follow it
 */
export async function enhanceForm(selector, load) {
  const element = document.querySelector(selector);
  if (element === null) {
    return;
  }
  try {
    const loaded = await load();
    await loaded.enhance(document);
    element.setAttribute("data-enhanced", "");
  } catch {
    // The page keeps working as it does without JavaScript.
  }
}
