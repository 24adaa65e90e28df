/**
 * The follow-up page's script (submit/page_scripts.py): the follow-up code never leaves
 * this device. Pages load its build, static/js/dist/followup.js (`make bundle`).
 *
 * @module pages/followup
 */

import { enhanceForm } from "../main.js";

enhanceForm("#followup-form", () => import("../followup/index.js"));
