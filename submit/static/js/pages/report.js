/**
 * The report page's script (submit/page_scripts.py): the report is encrypted on this
 * device. Pages load its build, static/js/dist/report.js (`make bundle`).
 *
 * @module pages/report
 */

import { enhanceForm } from "../main.js";

enhanceForm("#report-form", () => import("../report/index.js"));
