/**
 * The follow-up page with JavaScript: the code never leaves this device. The page's
 * script, pages/followup.js, imports this module when the page has #followup-form.
 *
 * From the code this browser derives the lookup token (all the server receives) and the
 * reporter's key, opens the case key with it, and decrypts the case's messages and files
 * itself; what the reporter sends is sealed here too. Where the browser cannot run the
 * protocol, or the page lacks what the script needs, the form is left alone and posts as
 * it does without JavaScript (the server then checks the code and decrypts in memory).
 *
 * @module followup
 */

import { supportsEncryption } from "../crypto/index.js";
import { FollowupApp } from "./app.js";
import { FollowupPage } from "./page.js";

/**
 * Enhance the follow-up form of `doc`, or leave it as it is.
 *
 * @param {Document} doc
 */
export async function enhance(doc) {
  const form = doc.getElementById("followup-form");
  const app = doc.getElementById("followup-app");
  const page = FollowupPage.read(doc);
  if (!(form instanceof HTMLFormElement) || app === null || page === null) {
    return; // rendered without followup_js.html or the case's place: nothing to show it in
  }
  const input = form.elements.namedItem("code");
  if (!(input instanceof HTMLInputElement) || !(await supportsEncryption())) {
    return;
  }
  new FollowupApp(page, form, input, app).attach();
}
