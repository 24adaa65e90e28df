/**
 * The proof of work the API asks of a browser before costly requests (submit/pow.py):
 * find a nonce such that SHA-256(challenge + "." + nonce) starts with `difficulty` zero
 * bits. Digests run on crypto.subtle a batch at a time (fewer round trips than one by
 * one), and the loop gives the event loop a turn every few thousand tries so that the
 * page stays responsive. Difficulty 16 takes about a second on an ordinary computer.
 *
 * @module report/pow
 */

const BATCH = 64; // digests in flight at once
const YIELD_EVERY = 4096; // tries between turns of the event loop
const encoder = new TextEncoder();

/**
 * @param {Uint8Array} digest
 * @returns {number}
 */
export function leadingZeroBits(digest) {
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) {
      return bits + Math.clz32(byte) - 24;
    }
    bits += 8;
  }
  return bits;
}

/** @returns {Promise<void>} resolves after other tasks (input, rendering) had a turn */
function nextTask() {
  return new Promise((resolve) => {
    setTimeout(resolve, 0);
  });
}

/**
 * @param {string} candidate
 * @returns {Promise<ArrayBuffer>}
 */
function digest(candidate) {
  return crypto.subtle.digest("SHA-256", encoder.encode(candidate));
}

/**
 * Find a solution; the nonce is a hexadecimal counter (the server allows 1-32 printable
 * ASCII characters).
 *
 * @param {string} challenge - as the API gave it
 * @param {number} difficulty - leading zero bits
 * @returns {Promise<string>} "<challenge>.<nonce>"
 */
export async function solve(challenge, difficulty) {
  const prefix = `${challenge}.`;
  for (let base = 0; ; base += BATCH) {
    const candidates = Array.from({ length: BATCH }, (_, i) => prefix + (base + i).toString(16));
    const digests = await Promise.all(candidates.map(digest));
    const found = digests.findIndex((d) => leadingZeroBits(new Uint8Array(d)) >= difficulty);
    if (found >= 0) {
      return candidates[found];
    }
    if ((base + BATCH) % YIELD_EVERY === 0) {
      await nextTask();
    }
  }
}
