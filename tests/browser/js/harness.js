/**
 * A tiny in-page test harness. Python calls one exported function per batch through
 * page.evaluate; the batch records every check and returns {checks, failures}, so that a
 * single round trip covers many vectors and still names each one that failed.
 *
 * @module tests/harness
 */

import { toHex } from "/static/js/crypto/bytes.js";

/** @typedef {{checks: number, failures: string[]}} Result */

export class Report {
  checks = 0;
  /** @type {string[]} */
  failures = [];

  /**
   * @param {string} name
   * @param {boolean} ok
   * @param {string} [detail]
   */
  check(name, ok, detail = "") {
    this.checks++;
    if (!ok) {
      this.failures.push(detail ? `${name}: ${detail}` : name);
    }
  }

  /**
   * @param {string} name
   * @param {unknown} actual
   * @param {unknown} expected
   */
  equal(name, actual, expected) {
    this.check(
      name,
      actual === expected,
      `got ${String(actual).slice(0, 80)}, want ${String(expected).slice(0, 80)}`,
    );
  }

  /**
   * @param {string} name
   * @param {Uint8Array} actual
   * @param {string} expectedHex
   */
  bytes(name, actual, expectedHex) {
    this.equal(name, toHex(actual), expectedHex);
  }

  /**
   * Run one named step; an unexpected exception fails that step, not the batch.
   *
   * @param {string} name
   * @param {() => Promise<void> | void} step
   */
  async step(name, step) {
    try {
      await step();
    } catch (error) {
      this.checks++;
      this.failures.push(`${name}: threw ${describe(error)}`);
    }
  }

  /**
   * Expect `action` to throw an error whose `name` is exactly `errorName`.
   *
   * @param {string} name
   * @param {() => Promise<unknown> | unknown} action
   * @param {string} errorName
   * @param {(error: any) => string | null} [more] - a further check: null if fine
   */
  async throws(name, action, errorName, more) {
    /** @type {any} */
    let error;
    try {
      await action();
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) {
      this.check(name, false, `did not throw (want ${errorName})`);
      return;
    }
    const problem =
      error?.name !== errorName ? `threw ${describe(error)}, want ${errorName}` : more?.(error);
    this.check(name, !problem, problem ?? "");
  }

  /** @returns {Result} */
  result() {
    return { checks: this.checks, failures: this.failures };
  }
}

/**
 * @param {any} error
 * @returns {string}
 */
function describe(error) {
  return `${error?.name}: ${error?.message}`;
}

/**
 * Fetch a JSON document from the test server (vectors live under /vectors/).
 *
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) {
    throw new Error(`GET ${path}: ${response.status}`);
  }
  return response.json();
}

/**
 * The stream vectors' plaintext: byte i is i mod 251.
 *
 * @param {number} size
 * @returns {Uint8Array}
 */
export function pattern(size) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = i % 251;
  }
  return out;
}

/**
 * Cut bytes into pieces of the given sizes, cycling through them.
 *
 * @param {Uint8Array} data
 * @param {number[]} sizes
 * @returns {Uint8Array[]}
 */
export function cut(data, sizes) {
  const pieces = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length];
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

/**
 * @param {AsyncIterable<Uint8Array>} pieces
 * @returns {Promise<Uint8Array[]>}
 */
export async function collect(pieces) {
  const out = [];
  for await (const piece of pieces) {
    out.push(piece);
  }
  return out;
}
