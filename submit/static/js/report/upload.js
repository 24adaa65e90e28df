/**
 * Uploading one encrypted file through the resumable upload API (docs/submission.md §3):
 * create with the exact ciphertext size, append at the server's offset, and after a
 * dropped connection or a 409 ask the offset (HEAD) and go on from there.
 *
 * Re-encrypting after a failure would need the same salt and the same chunk boundaries,
 * so the encryptor is never restarted: it keeps going, and the ciphertext it produced that
 * the server has not acknowledged yet stays in a small buffer (at most one request and
 * one chunk). After a failure the bytes the server already has are dropped and the rest is
 * sent again. Requests start small and grow while they succeed, so that a poor connection
 * loses little and a good one sends few requests.
 *
 * @module report/upload
 */

import { ApiError, NetworkError, postJson, proofOfWork, send } from "./api.js";

/** @typedef {import("./page.js").Endpoints} Endpoints */

export const FIRST_BATCH = 256 * 1024;
// Each request costs the server a few milliseconds whatever its size, so batches grow
// while requests stay quick: 16 MiB on a fast link, smaller over a slow Tor circuit.
export const MAX_BATCH = 16 * 1024 * 1024;
const QUICK_APPEND_MS = 10_000; // grow only while an append answers faster than this
const MIN_BATCH = 64 * 1024;
const MAX_FAILURES = 6; // in a row; any success starts the count again
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const MAX_RETRY_AFTER_S = 60;
const OFFSET_STREAM = "application/offset+octet-stream";

/** The server lost bytes it had acknowledged: this upload cannot be resumed. */
export class UploadLost extends Error {
  constructor() {
    super("the upload cannot be resumed");
    this.name = "UploadLost";
  }
}

/**
 * @param {unknown} error
 * @returns {boolean} whether trying again can help
 */
function retryable(error) {
  return error instanceof NetworkError || (error instanceof ApiError && error.transient);
}

/**
 * @param {unknown} error
 * @param {number} failures - 1 for the first
 * @returns {number} milliseconds to wait before trying again
 */
function delay(error, failures) {
  if (error instanceof ApiError && error.status === 409) {
    return 0; // the server is there and said where it is: resume at once
  }
  if (error instanceof ApiError && error.retryAfter !== null) {
    return Math.min(error.retryAfter, MAX_RETRY_AFTER_S) * 1000;
  }
  return Math.min(FIRST_DELAY_MS * 2 ** (failures - 1), MAX_DELAY_MS);
}

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(ms) {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

/** Counts failures in a row and waits between tries; gives up on what cannot succeed. */
export class Retry {
  #failures = 0;

  /**
   * @param {() => void} onRetry - told before each new try, to tell the reporter
   * @param {(ms: number) => Promise<void>} [wait]
   */
  constructor(onRetry, wait = sleep) {
    this.onRetry = onRetry;
    this.wait = wait;
  }

  succeeded() {
    this.#failures = 0;
  }

  /**
   * Wait before the next try, or rethrow `error` when another try cannot help.
   *
   * @param {unknown} error
   * @returns {Promise<void>}
   */
  async after(error) {
    this.#failures++;
    if (!retryable(error) || this.#failures > MAX_FAILURES) {
      throw error;
    }
    this.onRetry();
    await this.wait(delay(error, this.#failures));
  }
}

/** Ciphertext produced but not yet acknowledged by the server, by stream offset. */
export class Pending {
  /** @type {Uint8Array[]} */
  #pieces = [];
  #start = 0; // stream offset of the first byte held
  #end = 0; // stream offset just past the last byte held

  /** @returns {number} */
  get end() {
    return this.#end;
  }

  /** @param {Uint8Array} piece */
  push(piece) {
    this.#pieces.push(piece);
    this.#end += piece.length;
  }

  /**
   * Forget everything before `offset`, which the server now has.
   *
   * @param {number} offset
   * @throws {UploadLost} if the server has less than was already forgotten, or more
   *   than was ever produced
   */
  acknowledge(offset) {
    if (offset < this.#start || offset > this.#end) {
      throw new UploadLost();
    }
    while (this.#pieces.length > 0 && this.#start + this.#pieces[0].length <= offset) {
      this.#start += this.#pieces[0].length;
      this.#pieces.shift();
    }
    if (this.#pieces.length > 0 && offset > this.#start) {
      this.#pieces[0] = this.#pieces[0].subarray(offset - this.#start);
      this.#start = offset;
    }
  }

  /**
   * @param {number} offset - the first byte held
   * @param {number} max
   * @returns {Uint8Array} a copy of up to `max` bytes from `offset`
   */
  take(offset, max) {
    if (offset !== this.#start) {
      throw new RangeError("take from the first byte held");
    }
    const out = new Uint8Array(Math.min(max, this.#end - this.#start));
    let size = 0;
    for (const piece of this.#pieces) {
      if (size === out.length) {
        break;
      }
      const part = piece.subarray(0, out.length - size);
      out.set(part, size);
      size += part.length;
    }
    return out;
  }
}

/** One upload on the server; its id and URL are capabilities, known only to this page. */
export class Upload {
  /**
   * @param {string} id - for the envelope's "attachments"
   * @param {string} url - where to append and ask the offset
   */
  constructor(id, url) {
    this.id = id;
    this.url = url;
  }

  /**
   * Create an upload of `size` ciphertext bytes; pays a proof of work for each try.
   *
   * @param {Endpoints} endpoints
   * @param {number} size
   * @param {Retry} retry
   * @returns {Promise<Upload>}
   */
  static async create(endpoints, size, retry) {
    for (;;) {
      try {
        const pow = await proofOfWork(endpoints, "upload");
        const { response, body } = await postJson(endpoints.uploads, { size, pow });
        retry.succeeded();
        if (typeof body?.id !== "string") {
          throw new ApiError(0, "malformed_answer", "");
        }
        const url = response.headers.get("Location") ?? `${endpoints.uploads}/${body.id}`;
        return new Upload(body.id, new URL(url, document.baseURI).href);
      } catch (error) {
        await retry.after(error);
      }
    }
  }

  /** @returns {Promise<number>} how many bytes the server has */
  async offset() {
    return offsetOf(await send("HEAD", this.url));
  }

  /**
   * @param {number} offset - where the server is
   * @param {Uint8Array} bytes
   * @returns {Promise<number>} where the server is now
   */
  async append(offset, bytes) {
    const response = await send("PATCH", this.url, {
      body: bytes,
      headers: { "Content-Type": OFFSET_STREAM, "Upload-Offset": String(offset) },
    });
    return offsetOf(response);
  }

  /** Ask the server to drop this upload now rather than when it expires; never fails. */
  async discard() {
    try {
      await send("DELETE", this.url);
    } catch {
      // It expires on its own.
    }
  }
}

/**
 * @param {Response} response
 * @returns {number}
 */
function offsetOf(response) {
  const text = response.headers.get("Upload-Offset") ?? "";
  if (!/^\d{1,16}$/.test(text)) {
    throw new ApiError(0, "malformed_answer", "");
  }
  return Number(text);
}

/**
 * Send a stream of `length` bytes, resuming after failures until the server has it all.
 *
 * @param {Upload} upload
 * @param {AsyncIterable<Uint8Array>} source - the encrypted file, piece by piece
 * @param {number} length - the size the upload was created with
 * @param {Retry} retry
 * @param {(sent: number) => void} onProgress - bytes the server has acknowledged
 */
export async function sendStream(upload, source, length, retry, onProgress) {
  const pending = new Pending();
  const pieces = source[Symbol.asyncIterator]();
  let acknowledged = 0;
  let batch = FIRST_BATCH;
  let exhausted = false;
  while (acknowledged < length) {
    while (!exhausted && pending.end - acknowledged < batch) {
      const next = await pieces.next();
      exhausted = next.done === true;
      if (!exhausted) {
        pending.push(/** @type {Uint8Array} */ (next.value));
      }
    }
    if (pending.end === acknowledged) {
      throw new Error("the encrypted file is shorter than its upload");
    }
    try {
      const started = performance.now();
      acknowledged = await upload.append(acknowledged, pending.take(acknowledged, batch));
      retry.succeeded();
      if (performance.now() - started < QUICK_APPEND_MS) {
        batch = Math.min(batch * 2, MAX_BATCH);
      }
    } catch (error) {
      await retry.after(error);
      batch = Math.max(batch / 2, MIN_BATCH);
      acknowledged = await resync(upload, retry);
    }
    pending.acknowledge(acknowledged);
    onProgress(acknowledged);
  }
}

/**
 * @param {Upload} upload
 * @param {Retry} retry
 * @returns {Promise<number>} the server's offset
 */
async function resync(upload, retry) {
  for (;;) {
    try {
      return await upload.offset();
    } catch (error) {
      await retry.after(error);
    }
  }
}
