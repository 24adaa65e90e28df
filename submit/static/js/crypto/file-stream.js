/**
 * Attachment contents (docs/crypto.md §6): a chunked streaming AEAD (STREAM, as in age).
 *
 * stream   = 0x01 || 0x06 || salt (32) || chunk_0 || … || chunk_n
 * file_key = HKDF(case key, salt, "minhbach/1/file/<case id>", 32)
 * chunk_i  = AES-GCM(file_key, i as 11 bytes || last flag, p_i, aad = the 34-byte header)
 *
 * The counter stops reordering, the last-chunk flag stops truncation, the per-file key
 * stops splicing chunks between files. Plaintext is the file then zeros up to its Padmé
 * bucket, cut into 64 KiB pieces. Memory is about two chunks, whatever the file size.
 *
 * @module crypto/file-stream
 */

import { aesGcmOpen, aesGcmSeal, importAesKey, KEY_SIZE, NONCE_SIZE, TAG_SIZE } from "./aead.js";
import { ByteQueue } from "./byte-queue.js";
import { concat, equal, isZero, randomBytes, requireBytes } from "./bytes.js";
import { checkHeader, header, HEADER_SIZE, Kind } from "./envelope.js";
import { DecryptionFailed, MalformedEnvelope, TruncatedStream } from "./errors.js";
import { STREAM_SALT_SIZE, truncateName } from "./file-meta.js";
import { checkContext, hkdf, label } from "./kdf.js";
import { fileBucket } from "./padding.js";

/** @typedef {import("./file-meta.js").FileMeta} FileMeta */

export const CHUNK_SIZE = 64 * 1024;
export const CIPHER_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const STREAM_HEADER_SIZE = HEADER_SIZE + STREAM_SALT_SIZE;
const ZEROS = new Uint8Array(CHUNK_SIZE);
// Only FileEncryptor.create may construct: it is the one that derives the key properly.
const CREATE = Symbol("FileEncryptor.create");

/**
 * The exact length of the stream for a file of `size` bytes, known before encrypting
 * (for a resumable upload that must announce its length).
 *
 * @param {number} size
 * @returns {number}
 */
export function streamLength(size) {
  const padded = fileBucket(size);
  return STREAM_HEADER_SIZE + padded + TAG_SIZE * Math.ceil(padded / CHUNK_SIZE);
}

/**
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {Uint8Array} salt
 * @returns {Promise<CryptoKey>}
 */
async function fileKey(caseKey, caseId, salt) {
  const raw = await hkdf(caseKey, { salt, info: label("file", caseId) });
  try {
    return await importAesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * nonce_i = i as 11-byte big-endian || (0x01 if last else 0x00).
 *
 * @param {number} counter
 * @param {boolean} last
 * @returns {Uint8Array}
 */
export function chunkNonce(counter, last) {
  const nonce = new Uint8Array(NONCE_SIZE);
  for (let i = NONCE_SIZE - 2, rest = counter; rest > 0; i--, rest = Math.floor(rest / 256)) {
    nonce[i] = rest % 256;
  }
  nonce[NONCE_SIZE - 1] = last ? 1 : 0;
  return nonce;
}

/**
 * Validate the case key and id early, so a bad argument fails before any data is read.
 *
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 */
function checkCase(caseKey, caseId) {
  requireBytes(caseKey, "a case key", KEY_SIZE);
  checkContext(caseId);
}

/**
 * One call at a time, and none after a failure. Two interleaved calls would share the
 * chunk counter; a call after a refusal would resume from a half-consumed state, so a
 * stream that failed once stays failed (fail closed).
 */
class Serial {
  #busy = false;
  #failed = false;

  /** Throw unless a new call may start now. */
  check() {
    if (this.#failed) {
      throw new Error("an earlier call failed: this stream cannot go on");
    }
    if (this.#busy) {
      throw new Error("await the previous call before making another");
    }
  }

  /**
   * @template T
   * @param {() => Promise<T>} task
   * @returns {Promise<T>}
   */
  async run(task) {
    this.check();
    this.#busy = true;
    try {
      return await task();
    } catch (error) {
      this.#failed = true;
      throw error;
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * Encrypts a file pushed in pieces of any size. Every returned piece must be written in
 * order; the first is the 34-byte header, each later one a sealed chunk.
 */
export class FileEncryptor {
  /** @type {CryptoKey} */
  #key;
  /** @type {Uint8Array} */
  #salt;
  /** @type {Uint8Array} */
  #header;
  #buffer = new ByteQueue(); // plaintext not yet sealed: a full chunk may be the last
  #counter = 0;
  #size = 0;
  #headerSent = false;
  #finished = false;
  #serial = new Serial();

  /**
   * Use FileEncryptor.create.
   *
   * @param {symbol} token
   * @param {CryptoKey} key
   * @param {Uint8Array} salt
   */
  constructor(token, key, salt) {
    if (token !== CREATE) {
      throw new TypeError("use FileEncryptor.create");
    }
    this.#key = key;
    this.#salt = salt;
    this.#header = concat(header(Kind.FILE_STREAM), salt);
  }

  /**
   * @param {Uint8Array} caseKey - 32 bytes
   * @param {string} caseId
   * @param {{salt?: Uint8Array}} [options] - a fixed salt is for test vectors only
   * @returns {Promise<FileEncryptor>}
   */
  static async create(caseKey, caseId, { salt = randomBytes(STREAM_SALT_SIZE) } = {}) {
    checkCase(caseKey, caseId);
    requireBytes(salt, "a stream salt", STREAM_SALT_SIZE);
    return new FileEncryptor(CREATE, await fileKey(caseKey, caseId, salt), salt.slice());
  }

  /** @returns {Uint8Array} a copy of the stream's salt (FILE_META's "stream") */
  get salt() {
    return this.#salt.slice();
  }

  /** @returns {number} the plaintext bytes pushed so far */
  get size() {
    return this.#size;
  }

  /**
   * @param {Uint8Array} plaintext
   * @param {boolean} last
   * @returns {Promise<Uint8Array>}
   */
  async #seal(plaintext, last) {
    const sealed = await aesGcmSeal(
      this.#key,
      chunkNonce(this.#counter, last),
      plaintext,
      this.#header,
    );
    this.#counter++;
    return sealed;
  }

  /** @returns {Uint8Array[]} the header if it has not gone out yet */
  #takeHeader() {
    if (this.#headerSent) {
      return [];
    }
    this.#headerSent = true;
    return [this.#header.slice()];
  }

  /**
   * Push plaintext; returns the pieces that are now complete.
   *
   * @param {Uint8Array} data
   * @returns {Promise<Uint8Array[]>}
   */
  async update(data) {
    requireBytes(data, "plaintext");
    return this.#serial.run(async () => {
      if (this.#finished) {
        throw new Error("the stream is already finalized");
      }
      this.#size += data.length;
      this.#buffer.push(data);
      const out = this.#takeHeader();
      // Seal a chunk only once a byte follows it: until then it may be the last one.
      while (this.#buffer.length > CHUNK_SIZE) {
        out.push(await this.#seal(this.#buffer.take(CHUNK_SIZE), false));
      }
      return out;
    });
  }

  /**
   * Pad to the file's bucket and seal the rest; the final chunk carries the last flag.
   * Yields one piece at a time, so padding a large file never needs more than a chunk.
   *
   * @returns {AsyncGenerator<Uint8Array, void, void>}
   */
  async *finalize() {
    if (this.#finished) {
      throw new Error("the stream is already finalized");
    }
    this.#serial.check();
    this.#finished = true;
    yield* this.#takeHeader();
    let remaining = fileBucket(this.#size) - this.#size + this.#buffer.length;
    let chunk = this.#buffer.takeAll();
    chunk = concat(chunk, ZEROS.subarray(0, Math.min(remaining, CHUNK_SIZE) - chunk.length));
    remaining -= chunk.length;
    while (remaining > 0) {
      yield await this.#seal(chunk, false);
      chunk = ZEROS.subarray(0, Math.min(remaining, CHUNK_SIZE));
      remaining -= chunk.length;
    }
    yield await this.#seal(chunk, true);
  }

  /**
   * The FILE_META contents for this stream; only meaningful once finalized.
   *
   * @param {string} name - cut to 255 code points
   * @param {string} type - the MIME type as given
   * @returns {FileMeta}
   */
  metadata(name, type) {
    if (!this.#finished) {
      throw new Error("finalize the stream before taking its metadata");
    }
    if (typeof name !== "string" || typeof type !== "string") {
      throw new TypeError("a file's name and type are strings");
    }
    return { name: truncateName(name), type, size: this.#size, stream: this.salt };
  }
}

/**
 * Decrypts a stream pushed in pieces of any size; outputs exactly `meta.size` bytes.
 *
 * Each chunk is authenticated before its plaintext is returned, but truncation is only
 * known at finalize: a consumer must treat output as unconfirmed until it returns.
 */
export class FileDecryptor {
  /** @type {Uint8Array} */
  #caseKey;
  /** @type {string} */
  #caseId;
  /** @type {FileMeta} */
  #meta;
  /** @type {CryptoKey | null} */
  #key = null;
  #header = new Uint8Array(0);
  #buffer = new ByteQueue();
  #counter = 0;
  #position = 0; // plaintext bytes decrypted so far, padding included
  #paddedSize;
  #finished = false;
  #serial = new Serial();

  /**
   * @param {Uint8Array} caseKey
   * @param {string} caseId
   * @param {FileMeta} meta - from openFileMeta
   */
  constructor(caseKey, caseId, meta) {
    checkCase(caseKey, caseId);
    requireBytes(meta.stream, "the metadata's stream salt", STREAM_SALT_SIZE);
    this.#caseKey = caseKey.slice();
    this.#caseId = caseId;
    this.#meta = meta;
    this.#paddedSize = fileBucket(meta.size);
  }

  /** Read the header: refuse another format or another file's stream. */
  async #start() {
    this.#header = this.#buffer.take(STREAM_HEADER_SIZE);
    checkHeader(this.#header, Kind.FILE_STREAM, STREAM_HEADER_SIZE);
    const salt = this.#header.subarray(HEADER_SIZE);
    if (!equal(salt, this.#meta.stream)) {
      throw new DecryptionFailed("this file stream does not belong to this metadata");
    }
    this.#key = await fileKey(this.#caseKey, this.#caseId, salt);
    this.#caseKey.fill(0); // the file key is all that is needed from now on
  }

  /**
   * @param {Uint8Array} sealed
   * @param {boolean} last
   * @returns {Promise<Uint8Array | null>} null if the chunk does not open as that
   */
  async #tryOpen(sealed, last) {
    const key = /** @type {CryptoKey} */ (this.#key);
    return aesGcmOpen(key, chunkNonce(this.#counter, last), sealed, this.#header);
  }

  /**
   * @param {Uint8Array} sealed
   * @param {boolean} last
   * @returns {Promise<Uint8Array>}
   */
  async #open(sealed, last) {
    const chunk = await this.#tryOpen(sealed, last);
    if (chunk === null) {
      throw new DecryptionFailed(`file chunk ${this.#counter} failed authentication`);
    }
    this.#counter++;
    return this.#emit(chunk);
  }

  /**
   * Cut the padding off; the padding itself must be zeros and end at the bucket.
   *
   * @param {Uint8Array} chunk
   * @returns {Uint8Array}
   */
  #emit(chunk) {
    const start = this.#position;
    this.#position += chunk.length;
    if (this.#position > this.#paddedSize) {
      throw new MalformedEnvelope("file stream is longer than its metadata allows");
    }
    const keep = Math.max(0, Math.min(chunk.length, this.#meta.size - start));
    if (!isZero(chunk.subarray(keep))) {
      throw new MalformedEnvelope("file padding is not zeros");
    }
    return chunk.subarray(0, keep);
  }

  /**
   * Push ciphertext; returns the plaintext of every chunk now known not to be the last.
   *
   * @param {Uint8Array} data
   * @returns {Promise<Uint8Array>}
   */
  async update(data) {
    requireBytes(data, "ciphertext");
    return this.#serial.run(async () => {
      if (this.#finished) {
        throw new Error("the stream is already finalized");
      }
      this.#buffer.push(data);
      if (this.#key === null) {
        if (this.#buffer.length < STREAM_HEADER_SIZE) {
          return new Uint8Array(0);
        }
        await this.#start();
      }
      const out = [];
      // A full chunk followed by more data cannot be the last one.
      while (this.#buffer.length > CIPHER_CHUNK_SIZE) {
        out.push(await this.#open(this.#buffer.take(CIPHER_CHUNK_SIZE), false));
      }
      return concat(...out);
    });
  }

  /**
   * Open the final chunk and check the stream's length.
   *
   * @returns {Promise<Uint8Array>} the last plaintext
   * @throws {TruncatedStream} when the stream lost its end
   * @throws {DecryptionFailed | MalformedEnvelope | UnsupportedVersion}
   */
  async finalize() {
    return this.#serial.run(async () => {
      if (this.#finished) {
        throw new Error("the stream is already finalized");
      }
      this.#finished = true;
      if (this.#key === null) {
        const head = this.#buffer.takeAll();
        if (head.length >= HEADER_SIZE) {
          checkHeader(head, Kind.FILE_STREAM); // a foreign envelope is not "truncated"
        }
        throw new TruncatedStream("the file stream ends before its first chunk");
      }
      const sealed = this.#buffer.takeAll();
      if (sealed.length < TAG_SIZE) {
        throw new TruncatedStream("the file stream ends inside a chunk");
      }
      const out = await this.#openLast(sealed);
      if (this.#position !== this.#paddedSize) {
        throw new MalformedEnvelope("file stream length does not match its metadata");
      }
      return out;
    });
  }

  /**
   * A final chunk that opens only as a middle chunk means the stream was cut short.
   *
   * @param {Uint8Array} sealed
   * @returns {Promise<Uint8Array>}
   */
  async #openLast(sealed) {
    try {
      return await this.#open(sealed, true);
    } catch (error) {
      if (error instanceof DecryptionFailed && (await this.#tryOpen(sealed, false)) !== null) {
        throw new TruncatedStream("the file stream was cut short before its last chunk");
      }
      throw error;
    }
  }
}

/**
 * Read a Blob (a File) in slices of `size` bytes, so only one slice is in memory.
 *
 * @param {Blob} blob
 * @param {number} [size]
 * @returns {AsyncGenerator<Uint8Array, void, void>}
 */
export async function* blobPieces(blob, size = CHUNK_SIZE) {
  for (let offset = 0; offset < blob.size; offset += size) {
    yield new Uint8Array(await blob.slice(offset, offset + size).arrayBuffer());
  }
}

/**
 * Encrypt a Blob (a File) slice by slice: yields the stream's pieces in order, each
 * ready to upload, with memory bounded by a couple of chunks.
 *
 * @param {FileEncryptor} encryptor - a fresh encryptor
 * @param {Blob} blob
 * @returns {AsyncGenerator<Uint8Array, void, void>}
 */
export async function* encryptBlob(encryptor, blob) {
  for await (const piece of blobPieces(blob)) {
    yield* await encryptor.update(piece);
  }
  if (encryptor.size !== blob.size) {
    throw new Error("the file changed while it was being read");
  }
  yield* encryptor.finalize();
}

/**
 * Decrypt a stream given as pieces of any size. Yields plaintext pieces as chunks
 * authenticate and raises (after possibly yielding) if the stream is not intact: a
 * consumer must treat output as unconfirmed until the generator has finished.
 *
 * @param {Uint8Array} caseKey
 * @param {string} caseId
 * @param {FileMeta} meta
 * @param {AsyncIterable<Uint8Array> | Iterable<Uint8Array>} source
 * @returns {AsyncGenerator<Uint8Array, void, void>}
 */
export async function* decryptStream(caseKey, caseId, meta, source) {
  const decryptor = new FileDecryptor(caseKey, caseId, meta);
  for await (const piece of source) {
    const out = await decryptor.update(piece);
    if (out.length > 0) {
      yield out;
    }
  }
  const last = await decryptor.finalize();
  if (last.length > 0) {
    yield last;
  }
}
