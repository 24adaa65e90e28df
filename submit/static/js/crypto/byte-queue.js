/**
 * A first-in first-out queue of bytes, for cutting a stream of arbitrary pieces into
 * fixed-size chunks without re-copying everything buffered on every push.
 *
 * @module crypto/byte-queue
 */

/** Bytes pushed in pieces of any size, taken out in pieces of any other size. */
export class ByteQueue {
  /** @type {Uint8Array[]} */
  #parts = [];
  #length = 0;

  /** @returns {number} the number of bytes queued */
  get length() {
    return this.#length;
  }

  /**
   * Queue a copy of bytes (the caller may reuse its buffer afterwards).
   *
   * @param {Uint8Array} bytes
   */
  push(bytes) {
    if (bytes.length > 0) {
      this.#parts.push(bytes.slice());
      this.#length += bytes.length;
    }
  }

  /**
   * Remove and return the first `count` bytes.
   *
   * @param {number} count - at most `length`
   * @returns {Uint8Array}
   */
  take(count) {
    if (!Number.isInteger(count) || count < 0 || count > this.#length) {
      throw new RangeError("cannot take more bytes than are queued");
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const first = this.#parts[0];
      const used = Math.min(first.length, count - filled);
      out.set(first.subarray(0, used), filled);
      filled += used;
      if (used === first.length) {
        this.#parts.shift();
      } else {
        this.#parts[0] = first.subarray(used);
      }
    }
    this.#length -= count;
    return out;
  }

  /** @returns {Uint8Array} everything queued, leaving the queue empty */
  takeAll() {
    return this.take(this.#length);
  }
}
