/**
 * A case's transcript (docs/crypto.md §13.5): the report and every message, each entry
 * naming in its signed place the link before it.
 *
 * link(-1) = SHA-256("minhbach/2/transcript/" || case id)
 * link(i)  = SHA-256("minhbach/2/link" || link(i-1) || SHA-256(envelope i))
 *
 * An entry deleted, inserted or moved breaks the link of the entry after it. Entries cut off
 * the end leave no trace in the records; the page compares the count with what it last
 * showed. As crypto/transcript.py.
 *
 * @module crypto/transcript
 */

import { concat, fromHex, requireBytes, toHex } from "./bytes.js";
import { checkContext, label2, sha256 } from "./kdf.js";

/** @typedef {import("./places.js").Place} Place */

/**
 * Where an entry stands in the transcript, as check_order reports it.
 *
 * @readonly
 * @enum {string}
 */
export const Position = Object.freeze({
  IN_ORDER: "in_order",
  // Its link names another entry: one before it is missing, or it was moved.
  OUT_OF_ORDER: "out_of_order",
  // A version 1 entry from before the case's upgrade (§13.7): unsigned, not linked.
  CARRIED: "carried",
});

const LINK_LABEL = label2("link");

/**
 * link(-1), the link before the report.
 *
 * @param {string} caseId
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function genesis(caseId) {
  checkContext(caseId);
  return sha256(label2("transcript", caseId));
}

/**
 * The link of an entry, from the link before it and the entry's envelope.
 *
 * @param {Uint8Array} previous - the link before the entry
 * @param {Uint8Array} envelope - the entry's record, byte for byte as stored
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export async function nextLink(previous, envelope) {
  requireBytes(previous, "a link");
  requireBytes(envelope, "an envelope");
  return sha256(concat(LINK_LABEL, previous, await sha256(envelope)));
}

/**
 * How a report or message names a FILE_META record it carries (its place's `files`).
 *
 * @param {Uint8Array} envelope - the FILE_META envelope
 * @returns {Promise<string>} SHA-256, 64 hex digits
 */
export async function fileDigest(envelope) {
  requireBytes(envelope, "an envelope");
  return toHex(await sha256(envelope));
}

/**
 * One entry as the database lists it: its envelope and, for version 2, its place
 * (verified, or read with readPlace); null or left out for a version 1 entry.
 *
 * @typedef {{envelope: Uint8Array, place?: Place | null}} Stored
 */

/**
 * Where each entry stands, in the order the database lists them.
 *
 * Each entry is judged only against the one listed before it: it is in order when its
 * signed link is that entry's link, computed from that entry's own `prev`. So one entry
 * deleted marks only the entry after it, and an entry moved marks where it left and where
 * it arrived. A carried entry's link is computed from the running link before it.
 *
 * @param {string} caseId
 * @param {readonly Stored[]} entries
 * @returns {Promise<string[]>} a Position value per entry
 */
export async function checkOrder(caseId, entries) {
  const positions = [];
  let link = await genesis(caseId);
  for (const { envelope, place } of entries) {
    if (place == null) {
      positions.push(Position.CARRIED);
      link = await nextLink(link, envelope);
      continue;
    }
    positions.push(place.prev === toHex(link) ? Position.IN_ORDER : Position.OUT_OF_ORDER);
    link = await nextLink(fromHex(place.prev ?? ""), envelope);
  }
  return positions;
}
