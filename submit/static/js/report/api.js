/**
 * Talking to the JSON API (docs/submission.md §3): the CSRF header on every state change,
 * a time limit on every request, and errors as exceptions that say whether trying again
 * can help. Only ciphertext, public keys and proofs of work pass through here.
 *
 * @module report/api
 */

import { solve } from "./pow.js";

/** @typedef {import("./page.js").Endpoints} Endpoints */

const TIMEOUT_MS = 120_000; // a 4 MiB append over a slow Tor circuit still fits
const JSON_TYPE = "application/json";

/** The request did not complete: no answer, a dropped connection, or too slow. */
export class NetworkError extends Error {
  constructor() {
    super("the request did not complete");
    this.name = "NetworkError";
  }
}

/** The API refused; `message` is the server's own, translated and safe to show. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {number | null} retryAfter - seconds, from a 429's Retry-After
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** @returns {boolean} whether the same request may succeed later */
  get transient() {
    return this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

/** @returns {string} the page's CSRF token (base.html's <meta name="csrf-token">) */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta instanceof HTMLMetaElement ? meta.content : "";
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function errorOf(response) {
  let code = `http_${response.status}`;
  let message = "";
  try {
    const body = await response.json();
    if (typeof body?.error?.code === "string") {
      code = body.error.code;
    }
    if (typeof body?.error?.message === "string") {
      message = body.error.message;
    }
  } catch {
    // Not the API's JSON (a proxy's page, say): the caller shows its own message.
  }
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(response.status, code, message, Number.isNaN(retryAfter) ? null : retryAfter);
}

/**
 * One request; resolves with a successful response, rejects with NetworkError or ApiError.
 *
 * @param {string} method
 * @param {string} url
 * @param {{body?: BodyInit, headers?: Record<string, string>}} [options]
 * @returns {Promise<Response>}
 */
export async function send(method, url, { body, headers = {} } = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, {
      method,
      body,
      headers: { "X-CSRFToken": csrfToken(), ...headers },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
      signal: abort.signal,
    });
  } catch {
    throw new NetworkError();
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    throw await errorOf(response);
  }
  return response;
}

/**
 * @param {string} url
 * @returns {Promise<any>}
 */
export async function getJson(url) {
  return (await send("GET", url, { headers: { Accept: JSON_TYPE } })).json();
}

/**
 * @param {string} url
 * @param {unknown} document
 * @returns {Promise<{response: Response, body: any}>}
 */
export async function postJson(url, document) {
  const response = await send("POST", url, {
    body: JSON.stringify(document),
    headers: { "Content-Type": JSON_TYPE, Accept: JSON_TYPE },
  });
  return { response, body: await response.json() };
}

/**
 * Ask for a challenge and solve it, just before the request it pays for (it expires).
 *
 * @param {Endpoints} endpoints
 * @param {"report" | "upload"} purpose
 * @returns {Promise<string>} the solution for the request's "pow" field
 */
export async function proofOfWork(endpoints, purpose) {
  const { body } = await postJson(endpoints.pow, { purpose });
  if (typeof body?.challenge !== "string" || !Number.isSafeInteger(body?.difficulty)) {
    throw new ApiError(0, "malformed_answer", "");
  }
  return solve(body.challenge, body.difficulty);
}
