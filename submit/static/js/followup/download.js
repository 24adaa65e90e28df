/**
 * Downloading a file the unit sent: the ciphertext comes from the API, is decrypted here
 * chunk by chunk, and is handed to the browser as a download through a Blob URL. The
 * plaintext is released only once the whole stream has authenticated (docs/crypto.md §6),
 * and the Blob URL is revoked soon after, and at the latest when the reporter leaves.
 *
 * @module followup/download
 */

import { decryptStream } from "../crypto/index.js";
import { send } from "../report/api.js";

/** @typedef {import("./access.js").CaseAccess} CaseAccess */
/** @typedef {import("./page.js").FollowupPage} FollowupPage */
/** @typedef {import("../crypto/file-meta.js").FileMeta} FileMeta */

// Long enough for any browser to have started the download from the URL (some read the
// Blob only after the click's task), short enough not to keep the plaintext around.
const REVOKE_AFTER_MS = 30_000;
// The file as an opaque download: never shown in the page, whatever its stated type.
const DOWNLOAD_TYPE = "application/octet-stream";

/**
 * @param {Response} response
 * @returns {AsyncGenerator<Uint8Array, void, void>}
 */
async function* bodyPieces(response) {
  if (response.body === null) {
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        return;
      }
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The Blob URLs this page made; revoke them all when the reporter leaves. */
export class Downloads {
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  #urls = new Map();

  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
  }

  /**
   * Fetch, decrypt and save one attachment.
   *
   * @param {FollowupPage} page
   * @param {CaseAccess} access
   * @param {number} id
   * @param {FileMeta} meta
   * @throws {import("../report/api.js").ApiError | import("../report/api.js").NetworkError |
   *   import("../crypto/index.js").CryptoError}
   */
  async fetch(page, access, id, meta) {
    const response = await send("GET", page.fileUrl(id), {
      headers: { Accept: DOWNLOAD_TYPE },
    });
    /** @type {Uint8Array[]} */
    const parts = [];
    for await (const piece of decryptStream(
      access.caseKey,
      access.caseId,
      meta,
      bodyPieces(response),
    )) {
      parts.push(piece.slice()); // the decryptor may reuse its buffers
    }
    this.save(new Blob(parts, { type: DOWNLOAD_TYPE }), meta.name);
  }

  /**
   * Offer `blob` as a download named `name`.
   *
   * @param {Blob} blob
   * @param {string} name
   */
  save(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = this.doc.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    this.doc.body.append(link);
    link.click();
    link.remove();
    this.#urls.set(
      url,
      setTimeout(() => this.#revoke(url), REVOKE_AFTER_MS),
    );
  }

  /** @param {string} url */
  #revoke(url) {
    const timer = this.#urls.get(url);
    if (timer !== undefined) {
      clearTimeout(timer);
    }
    URL.revokeObjectURL(url);
    this.#urls.delete(url);
  }

  /** Revoke every Blob URL now: the decrypted files can no longer be reached. */
  revokeAll() {
    for (const url of [...this.#urls.keys()]) {
      this.#revoke(url);
    }
  }
}
