// The tipster's JavaScript path in Firefox ESR (Tor Browser's engine), for
// tests/firefox/test_firefox_report.py: a report with a file, encrypted in the page, then
// the follow-up page opened with the code and a reply with a file sent from it. The report
// form is in steps: Next is tried first with nothing chosen (the page must refuse), then the
// report is made anonymous and each step is reached with Next.
//
//   node tests/firefox/report-in-firefox.mjs BASE_URL INPUT_JSON [FIREFOX]
//
// BASE_URL is the live submit app; INPUT_JSON is {fields: {id: text}, file: {name, type,
// path}, reply: {text, file: {name, type, path}}}. One headless Firefox, driven by
// puppeteer-core over WebDriver BiDi (no browser download). Prints one JSON object:
//   {version, mode, refused, steps, code, reference, codeOnPhone, opened, replied, errors}
// where refused is the message Next showed with nothing chosen, and steps the element that
// had the focus after each Next that went on, and codeOnPhone how the code sits on a
// 320-pixel screen.
// and exits 0 whenever it could report; what it means is for the Python test to judge.
import puppeteer from "puppeteer-core";

const [baseUrl, inputJson, executablePath = "/usr/bin/firefox-esr"] = process.argv.slice(2);
if (!baseUrl || !inputJson) {
  console.error("usage: report-in-firefox.mjs BASE_URL INPUT_JSON [FIREFOX]");
  process.exit(2);
}
const input = JSON.parse(inputJson);
const WAIT = { timeout: 60_000 };

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true,
  extraPrefsFirefox: { "browser.chrome.site_icons": false },
});
/** @type {string[]} */
const errors = [];
const report = { version: await browser.version(), errors };
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => errors.push(`page error: ${error.message ?? error}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });

  // The report: the page says it encrypts here, then sends and shows the code.
  await page.goto(`${baseUrl}/report`, { waitUntil: "load" });
  await page.waitForFunction(
    () => document.getElementById("encryption-mode")?.textContent?.includes("on this device"),
    WAIT,
  );
  report.mode = await page.$eval("#encryption-mode", (node) => node.textContent.trim());
  await page.click("#step-you .step-next");
  await page.waitForSelector("#identity_choice-error", { visible: true, ...WAIT });
  report.refused = await page.$eval("#identity_choice-error", (node) => node.textContent.trim());
  await page.click("#identity_choice-anonymous");
  report.steps = [];
  const next = async (/** @type {string} */ step, /** @type {string} */ to) => {
    await page.click(`#step-${step} .step-next`);
    await page.waitForSelector(`#step-${to}`, { visible: true, ...WAIT });
    await page.waitForFunction((id) => document.activeElement?.id === id, WAIT, `step-${to}-title`);
    report.steps.push(await page.evaluate(() => document.activeElement.id));
  };
  await next("you", "what");
  await page.select("#category", "land");
  for (const [id, text] of Object.entries(input.fields)) {
    await page.type(`#${id}`, text);
  }
  await next("what", "protection");
  await next("protection", "send");
  const files = await page.$("#files");
  await files.uploadFile(input.file.path);
  await page.click("#report-form button[type=submit]");
  await page.waitForSelector("#follow-up-code", { visible: true, ...WAIT });
  report.code = await page.$eval("#follow-up-code", (node) => node.textContent.trim());
  report.reference = await page.$eval("#report-reference", (node) => node.textContent.trim());
  // The code on the smallest phones: one line, inside the screen (as test_code_card.py in
  // Chromium).
  await page.setViewport({ width: 320, height: 640 });
  report.codeOnPhone = await page.$eval("#follow-up-code", (code) => {
    const rect = code.getBoundingClientRect();
    const style = getComputedStyle(code);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return {
      lines: (rect.height - padding) / parseFloat(style.lineHeight),
      right: rect.right,
      width: document.documentElement.clientWidth,
      scroll: code.scrollWidth - code.clientWidth,
    };
  });
  await page.setViewport({ width: 1280, height: 900 });

  // The follow-up page with the code, then a reply with a file.
  await page.goto(`${baseUrl}/followup`, { waitUntil: "load" });
  await page.waitForSelector("#followup-js-mode", { visible: true, ...WAIT });
  await page.type("#code", report.code.toLowerCase().replaceAll("-", " "));
  await page.keyboard.press("Enter");
  await page.waitForSelector("#followup-app h1", { visible: true, ...WAIT });
  report.opened = await page.$eval("#followup-app h1", (node) => node.textContent.trim());
  // Status and messages come first; the reply is behind its entry under "What you can
  // do", a <details> opened from the keyboard as in Tor Browser without a mouse.
  report.order = await page.$$eval(
    "#followup-app h2",
    (headings) => headings.map((heading) => heading.id),
  );
  await page.focus("#followup-js-reply-heading");
  await page.keyboard.press("Enter");
  report.entryOpened = await page.$eval("#followup-js-reply-entry", (node) => node.open);
  await page.type("#followup-js-reply-text", input.reply.text);
  const replyFiles = await page.$("#followup-js-reply-files");
  await replyFiles.uploadFile(input.reply.file.path);
  await page.click('#followup-app [data-slot="form-reply"] button[type=submit]');
  await page.waitForSelector("#followup-app li.message-you", { visible: true, ...WAIT });
  report.replied = await page.$eval("#followup-app li.message-you", (node) =>
    node.textContent.trim(),
  );
  report.entryClosedAfter = await page.$eval("#followup-js-reply-entry", (node) => !node.open);
} catch (error) {
  errors.push(`driver: ${error?.message ?? error}`);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(report)}\n`);
