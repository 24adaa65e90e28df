// Runs the in-page vector runners and the support probe in Firefox ESR (Tor Browser's
// engine), for tests/firefox/test_firefox_vectors.py.
//
//   node tests/firefox/run-in-firefox.mjs BASE_URL RUNNERS_JSON [FIREFOX]
//
// BASE_URL is the static server of tests/browser/conftest.py; RUNNERS_JSON maps a vector
// file to the function of /tests/vectors.js that runs it. One headless Firefox, driven by
// puppeteer-core over WebDriver BiDi (no browser download), one page at BASE_URL/blank.html.
// Prints one JSON object on stdout:
//   {version, support: {secure, supported} | {error}, results: {file: {checks, failures,
//    vectors} | {error}}, errors: [console and page errors]}
// and exits 0 whenever it could report; a failing check is for the Python test to judge.
import puppeteer from "puppeteer-core";

const [baseUrl, runnersJson, executablePath = "/usr/bin/firefox-esr"] = process.argv.slice(2);
if (!baseUrl || !runnersJson) {
  console.error("usage: run-in-firefox.mjs BASE_URL RUNNERS_JSON [FIREFOX]");
  process.exit(2);
}
const runners = JSON.parse(runnersJson);

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true, // puppeteer's throwaway profile already turns off updates and telemetry
  // No favicon request: the static server's CSP (default-src 'none') would log its refusal
  // as an error that no code under test caused.
  extraPrefsFirefox: { "browser.chrome.site_icons": false },
});
try {
  const page = await browser.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message ?? error}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });
  await page.goto(`${baseUrl}/blank.html`, { waitUntil: "load" });

  // Each call catches its own error, so that one throwing runner still lets the others report.
  const call = (module, name) =>
    page.evaluate(
      async (module, name) => {
        try {
          return await (await import(module))[name]();
        } catch (error) {
          return { error: `${error?.name ?? "Error"}: ${error?.message ?? error}` };
        }
      },
      module,
      name,
    );

  const support = await call("/tests/support.js", "probe");
  /** @type {Record<string, unknown>} */
  const results = {};
  for (const [file, runner] of Object.entries(runners)) {
    results[file] = await call("/tests/vectors.js", runner);
  }
  const version = await browser.version();
  const userAgent = await page.evaluate(() => navigator.userAgent);
  process.stdout.write(`${JSON.stringify({ version, userAgent, support, results, errors })}\n`);
} finally {
  await browser.close();
}
