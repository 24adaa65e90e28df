/**
 * Refusals, mirroring tests/crypto/test_*.py: each tampering, mix-up or misuse must
 * throw the error class Python throws for it (checked by `name`).
 *
 * The version 2 section at the end (bound records, places, the transcript) also holds the
 * in-page halves of tests/browser/test_crypto_v2.py's checks against Python.
 *
 * @module tests/negative
 */

import * as api from "/static/js/crypto/index.js";
import { PLACE_MAX } from "/static/js/crypto/places.js";
import { keyAndNonce } from "/static/js/crypto/records.js";
import { SIGNATURE_SIZE } from "/static/js/crypto/signing.js";
import { aead, bytes, fileStream, json, kdf, padding, x25519 } from "/static/js/crypto/testing.js";
import { collect, cut, Report } from "./harness.js";

const { concat, fromHex } = bytes;
const CASE = "5b1f0c1e-0000-4000-8000-000000000001";
const OTHER_CASE = "5b1f0c1e-0000-4000-8000-000000000002";
const KEY = new Uint8Array(32).fill(0x11);

/**
 * @param {Uint8Array} data
 * @param {number} position
 * @param {number} [mask]
 * @returns {Uint8Array}
 */
function flip(data, position, mask = 0x01) {
  const copy = data.slice();
  copy[position] ^= mask;
  return copy;
}

export async function wraps() {
  const report = new Report();
  const recipient = api.randomKey(); // any 32 bytes are an X25519 private key
  const recipientPublic = await x25519.publicKeyOf(recipient);
  const key = new Uint8Array(32).fill(0x6b);
  const envelope = await api.wrap(key, recipientPublic, api.Purpose.CASE_KEY, CASE);
  /**
   * @param {Uint8Array} blob
   * @param {string} [purpose]
   * @param {string} [context]
   * @param {Uint8Array} [sk]
   */
  const unwrap = (blob, purpose = api.Purpose.CASE_KEY, context = CASE, sk = recipient) =>
    api.unwrap(blob, sk, purpose, context);

  report.equal("size", envelope.length, 82);
  report.bytes("round trip", await unwrap(envelope), bytes.toHex(key));
  const again = await api.wrap(key, recipientPublic, api.Purpose.CASE_KEY, CASE);
  report.check("fresh ephemeral key each time", bytes.toHex(again) !== bytes.toHex(envelope));
  await report.throws(
    "wrong private key",
    () => unwrap(envelope, undefined, undefined, api.randomKey()),
    "DecryptionFailed",
  );
  await report.throws(
    "wrong purpose",
    () => unwrap(envelope, api.Purpose.IDENTITY_KEY),
    "DecryptionFailed",
  );
  await report.throws(
    "wrong case",
    () => unwrap(envelope, undefined, OTHER_CASE),
    "DecryptionFailed",
  );
  for (let position = 2; position < envelope.length; position++) {
    await report.throws(
      `flipped byte ${position}`,
      () => unwrap(flip(envelope, position)),
      "DecryptionFailed",
    );
  }
  await report.throws(
    "unknown version",
    () => unwrap(concat(new Uint8Array([2]), envelope.subarray(1))),
    "UnsupportedVersion",
  );
  await report.throws("wrong kind", () => unwrap(flip(envelope, 1, 0x03)), "MalformedEnvelope");
  for (const length of [0, 1, 2, 40, 81]) {
    await report.throws(
      `truncated to ${length}`,
      () => unwrap(envelope.subarray(0, length)),
      "MalformedEnvelope",
    );
  }
  await report.throws(
    "extended",
    () => unwrap(concat(envelope, new Uint8Array(1))),
    "MalformedEnvelope",
  );
  /** @type {[string, Uint8Array][]} */
  const lowOrderPoints = [
    ["zero", new Uint8Array(32)],
    ["one", fromHex("01".padEnd(64, "0"))],
  ];
  for (const [name, point] of lowOrderPoints) {
    const lowOrder = concat(envelope.subarray(0, 2), point, envelope.subarray(34));
    await report.throws(
      `low-order ephemeral point (${name})`,
      () => unwrap(lowOrder),
      "DecryptionFailed",
    );
    await report.throws(
      `low-order recipient (${name})`,
      () => api.wrap(key, point, api.Purpose.CASE_KEY, CASE),
      "RangeError",
    );
  }
  for (const context of ["", "a/b", "x".repeat(65), "ca se", "dấu"]) {
    await report.throws(
      `context ${JSON.stringify(context)}`,
      () => api.wrap(key, recipientPublic, api.Purpose.CASE_KEY, context),
      "RangeError",
    );
  }
  await report.throws(
    "unknown purpose",
    () => api.wrap(key, recipientPublic, "case", CASE),
    "RangeError",
  );
  await report.throws(
    "only 32-byte keys",
    () => api.wrap(key.subarray(0, 5), recipientPublic, api.Purpose.CASE_KEY, CASE),
    "RangeError",
  );
  await report.throws(
    "bytes, not strings",
    () =>
      api.wrap(/** @type {any} */ (bytes.toHex(key)), recipientPublic, api.Purpose.CASE_KEY, CASE),
    "TypeError",
  );
  return report.result();
}

/**
 * An authentic REPORT around arbitrary padded bytes, as a buggy sender might make it.
 *
 * @param {Uint8Array} padded
 * @returns {Promise<Uint8Array>}
 */
async function sealRawPadded(padded) {
  const salt = new Uint8Array(32).fill(0x22);
  const okm = await kdf.hkdf(KEY, { salt, info: kdf.label("report", CASE), length: 44 });
  const head = new Uint8Array([1, api.Kind.REPORT]);
  const sealed = await aead.aesGcmSeal(
    await aead.importAesKey(okm.subarray(0, 32)),
    okm.subarray(32),
    padded,
    head,
  );
  return concat(head, salt, sealed);
}

/**
 * @param {string} text
 * @param {number} size
 * @param {number} [fill]
 * @returns {Uint8Array}
 */
function framed(text, size, fill = 0) {
  const out = new Uint8Array(size).fill(fill);
  out.set(bytes.fromHex(text));
  return out;
}

export async function records() {
  const report = new Report();
  const text = bytes.utf8Encode('{"what":"bribe"}');
  const envelope = await api.seal(KEY, api.Kind.REPORT, CASE, text);
  /**
   * @param {Uint8Array} blob
   * @param {number} [kind]
   * @param {string} [context]
   * @param {Uint8Array} [key]
   */
  const open = (blob, kind = api.Kind.REPORT, context = CASE, key = KEY) =>
    api.open(key, kind, context, blob);
  report.bytes("round trip", await open(envelope), bytes.toHex(text));
  const recordKinds = [
    api.Kind.REPORT,
    api.Kind.IDENTITY,
    api.Kind.MESSAGE,
    api.Kind.FILE_META,
    api.Kind.NOTE,
  ];
  for (const kind of recordKinds) {
    const sealed = await api.seal(KEY, kind, CASE, text);
    for (const other of recordKinds.filter((k) => k !== kind)) {
      await report.throws(
        `kind ${kind} opened as ${other}`,
        () => open(sealed, other),
        "MalformedEnvelope",
      );
    }
  }
  const message = await api.seal(KEY, api.Kind.MESSAGE, CASE, text);
  const relabelled = concat(new Uint8Array([1, api.Kind.REPORT]), message.subarray(2));
  await report.throws("relabelled kind", () => open(relabelled), "DecryptionFailed");
  await report.throws(
    "wrong key",
    () => open(envelope, undefined, undefined, new Uint8Array(32).fill(0x12)),
    "DecryptionFailed",
  );
  await report.throws("wrong case", () => open(envelope, undefined, "case-b"), "DecryptionFailed");
  /** @type {[string, number][]} */
  const regions = [
    ["salt", 10],
    ["ciphertext", 40],
    ["tag", envelope.length - 1],
  ];
  for (const [region, position] of regions) {
    await report.throws(
      `tampered ${region}`,
      () => open(flip(envelope, position, 0x80)),
      "DecryptionFailed",
    );
  }
  await report.throws(
    "unknown version",
    () => open(concat(new Uint8Array([9]), envelope.subarray(1))),
    "UnsupportedVersion",
    (e) => (e.message.includes("version 9") ? null : e.message),
  );
  for (const length of [0, 1, 2, 33, 49]) {
    await report.throws(
      `too short (${length})`,
      () => open(envelope.subarray(0, length)),
      "MalformedEnvelope",
    );
  }
  await report.throws(
    "truncated ciphertext",
    () => open(envelope.subarray(0, envelope.length - 16)),
    "DecryptionFailed",
  );
  /** @type {[string, Uint8Array][]} */
  const paddings = [
    ["length beyond the record", framed("000007d0616263", 1024)],
    ["non-zero padding", framed("00000003616263", 1024, 1)],
    ["padded past its bucket", framed("00000003616263", 2048)],
    ["shorter than the length field", new Uint8Array(2)],
  ];
  for (const [name, padded] of paddings) {
    await report.throws(
      `padding: ${name}`,
      async () => open(await sealRawPadded(padded)),
      "MalformedEnvelope",
    );
  }
  report.bytes(
    "canonical raw padding opens",
    await open(await sealRawPadded(framed("00000003616263", 1024))),
    "616263",
  );
  /** @type {[string, Uint8Array][]} */
  const notJson = [
    ["not JSON", bytes.fromHex("ff206e6f74206a736f6e")],
    ["byte-order mark", concat(bytes.fromHex("efbbbf"), bytes.utf8Encode("{}"))],
    ["invalid UTF-8", bytes.fromHex("22c32022")],
    ["NaN (which Python's json.loads would take)", bytes.utf8Encode("NaN")],
  ];
  for (const [name, plaintext] of notJson) {
    const sealed = await api.seal(KEY, api.Kind.NOTE, CASE, plaintext);
    await report.throws(
      `openJson: ${name}`,
      () => api.openJson(KEY, api.Kind.NOTE, CASE, sealed),
      "MalformedEnvelope",
    );
  }
  for (const [length, size] of [
    [0, 1024],
    [1020, 1024],
    [1021, 2048],
    [5000, 8192],
  ]) {
    const sealed = await api.seal(KEY, api.Kind.MESSAGE, CASE, new Uint8Array(length).fill(0x6d));
    report.equal(`bucketed size for ${length}`, sealed.length, 2 + 32 + size + 16);
  }
  await report.throws(
    "not a record kind",
    () => api.seal(KEY, api.Kind.WRAP, CASE, text),
    "RangeError",
  );
  await report.throws(
    "salt of the wrong size",
    () => api.seal(KEY, api.Kind.NOTE, CASE, text, { salt: new Uint8Array(31) }),
    "RangeError",
  );
  return report.result();
}

const FILE_CASE = "case-files";
const FILE_KEY = new Uint8Array(32).fill(0x33);
const SIZE = 3 * 65536 + 1234; // padded to 4 chunks

/**
 * @param {Uint8Array} data
 * @param {Uint8Array} [key]
 * @param {string} [caseId]
 */
async function encrypt(data, key = FILE_KEY, caseId = FILE_CASE) {
  const encryptor = await api.FileEncryptor.create(key, caseId);
  const stream = concat(...(await collect(api.encryptBlob(encryptor, new Blob([data])))));
  return { stream, meta: encryptor.metadata("evidence.jpg", "image/jpeg") };
}

/**
 * @param {Uint8Array} stream
 * @param {import("/static/js/crypto/file-meta.js").FileMeta} meta
 * @param {Uint8Array} [key]
 * @param {string} [caseId]
 */
async function decrypt(stream, meta, key = FILE_KEY, caseId = FILE_CASE) {
  return concat(...(await collect(api.decryptStream(key, caseId, meta, [stream]))));
}

/**
 * @param {Uint8Array} stream
 * @returns {{head: Uint8Array, parts: Uint8Array[]}}
 */
function chunks(stream) {
  const head = stream.subarray(0, fileStream.STREAM_HEADER_SIZE);
  return {
    head,
    parts: cut(stream.subarray(fileStream.STREAM_HEADER_SIZE), [fileStream.CIPHER_CHUNK_SIZE]),
  };
}

/**
 * @param {string} fragment
 * @returns {(error: any) => string | null}
 */
function mentions(fragment) {
  return (error) =>
    error.message.includes(fragment)
      ? null
      : `message ${JSON.stringify(error.message)} lacks ${fragment}`;
}

export async function files() {
  const report = new Report();
  const data = bytes.randomBytes(SIZE);
  // Never zero: a size one short must then cut a byte that is not padding (a random zero
  // there would pass as padding, one run in 256).
  data[SIZE - 1] = 0xff;
  const { stream, meta } = await encrypt(data);
  const { head, parts } = chunks(stream);
  report.equal("round trip", bytes.toHex(await decrypt(stream, meta)), bytes.toHex(data));
  report.equal("four chunks", parts.length, 4);
  const canary = bytes.utf8Encode("CANARY-".repeat(10000));
  const canaryStream = (await encrypt(canary)).stream;
  report.check(
    "no plaintext in the ciphertext",
    !bytes.toHex(canaryStream).includes(bytes.toHex(bytes.utf8Encode("CANARY"))),
  );

  await report.throws(
    "last chunk dropped",
    () => decrypt(concat(head, ...parts.slice(0, -1)), meta),
    "TruncatedStream",
  );
  await report.throws(
    "cut inside a chunk",
    () => decrypt(stream.subarray(0, stream.length - 100), meta),
    "DecryptionFailed",
  );
  for (const length of [0, 1, 2, 34, 44]) {
    await report.throws(
      `cut at ${length}, before the first chunk`,
      () => decrypt(stream.subarray(0, length), meta),
      "TruncatedStream",
    );
  }
  await report.throws(
    "middle chunk dropped",
    () => decrypt(concat(head, parts[0], ...parts.slice(2)), meta),
    "DecryptionFailed",
  );
  await report.throws(
    "chunks reordered",
    () => decrypt(concat(head, parts[1], parts[0], ...parts.slice(2)), meta),
    "DecryptionFailed",
    mentions("chunk 0"),
  );
  await report.throws(
    "chunk duplicated",
    () => decrypt(concat(head, parts[0], parts[0], ...parts.slice(2)), meta),
    "DecryptionFailed",
  );
  const other = chunks((await encrypt(data)).stream);
  await report.throws(
    "chunk from another file of the case",
    () => decrypt(concat(head, parts[0], other.parts[1], ...parts.slice(2)), meta),
    "DecryptionFailed",
    mentions("chunk 1"),
  );
  await report.throws(
    "another file's header",
    () => decrypt(concat(other.head, ...parts), meta),
    "DecryptionFailed",
    mentions("metadata"),
  );
  await report.throws(
    "chunk appended",
    () => decrypt(concat(stream, parts[1]), meta),
    "DecryptionFailed",
  );
  for (const extra of [1, 17, fileStream.CIPHER_CHUNK_SIZE]) {
    await report.throws(
      `${extra} bytes appended`,
      () => decrypt(concat(stream, new Uint8Array(extra).fill(0x78)), meta),
      "DecryptionFailed",
    );
  }
  for (const chunk of [0, 1, 3]) {
    const position = fileStream.STREAM_HEADER_SIZE + chunk * fileStream.CIPHER_CHUNK_SIZE + 5;
    await report.throws(
      `flipped bit in chunk ${chunk}`,
      () => decrypt(flip(stream, position), meta),
      "DecryptionFailed",
      mentions(`chunk ${chunk}`),
    );
  }
  await report.throws(
    "wrong case key",
    () => decrypt(stream, meta, new Uint8Array(32).fill(0x34)),
    "DecryptionFailed",
  );
  await report.throws(
    "wrong case id",
    () => decrypt(stream, meta, FILE_KEY, "another-case"),
    "DecryptionFailed",
  );
  await report.throws(
    "unknown version",
    () => decrypt(concat(new Uint8Array([7]), stream.subarray(1)), meta),
    "UnsupportedVersion",
  );
  await report.throws(
    "wrong kind",
    () => decrypt(concat(stream.subarray(0, 1), new Uint8Array([2]), stream.subarray(2)), meta),
    "MalformedEnvelope",
  );
  await report.throws(
    "wrong kind, cut short",
    () => decrypt(new Uint8Array([1, 2, 0]), meta),
    "MalformedEnvelope",
  );
  for (const size of [meta.size - 1, meta.size + 65536 * 3, 0]) {
    await report.throws(
      `metadata with a false size ${size}`,
      () => decrypt(stream, { ...meta, size }),
      "MalformedEnvelope",
    );
  }
  const small = await encrypt(new Uint8Array(5000).fill(0x61));
  await report.throws(
    "a size inside the padding",
    () => decrypt(small.stream, { ...small.meta, size: 4990 }),
    "MalformedEnvelope",
    mentions("padding"),
  );
  await nonZeroPadding(report);
  await metadata(report, meta);
  await misuse(report);
  return report.result();
}

/** An authentic stream whose padding carries data (a covert channel) is refused. */
async function nonZeroPadding(/** @type {Report} */ report) {
  const salt = bytes.randomBytes(32);
  const head = concat(new Uint8Array([1, 6]), salt);
  const fileKey = await aead.importAesKey(
    await kdf.hkdf(FILE_KEY, { salt, info: kdf.label("file", FILE_CASE) }),
  );
  const chunk = new Uint8Array(4096).fill(0x21);
  chunk.set([0x61, 0x62]);
  const sealed = await aead.aesGcmSeal(fileKey, fileStream.chunkNonce(0, true), chunk, head);
  const meta = { name: "a", type: "b", size: 2, stream: salt };
  await report.throws(
    "non-zero padding",
    () => decrypt(concat(head, sealed), meta),
    "MalformedEnvelope",
    mentions("padding"),
  );
}

/**
 * @param {Report} report
 * @param {import("/static/js/crypto/file-meta.js").FileMeta} meta
 */
async function metadata(report, meta) {
  const sealed = await api.sealFileMeta(FILE_KEY, FILE_CASE, meta);
  const opened = await api.openFileMeta(FILE_KEY, FILE_CASE, sealed);
  report.equal(
    "metadata round trip",
    JSON.stringify({ ...opened, stream: bytes.toHex(opened.stream) }),
    JSON.stringify({ ...meta, stream: bytes.toHex(meta.stream) }),
  );
  await report.throws(
    "metadata in another case",
    () => api.openFileMeta(FILE_KEY, "another-case", sealed),
    "DecryptionFailed",
  );
  const salt43 = "A".repeat(43);
  const documents = [
    {},
    { name: 1, type: "t", size: 1, stream: salt43 },
    { name: "n", type: "t", size: -1, stream: salt43 },
    { name: "n", type: "t", size: true, stream: salt43 },
    { name: "n", type: "t", size: 1.5, stream: salt43 },
    { name: "n", type: "t", size: "1", stream: salt43 },
    { name: "n", type: "t", size: 1, stream: "AAAA" },
    { name: "n", type: "t", size: 1, stream: "not base64!" },
    { name: "n", type: "t", size: 1, stream: `${salt43}=` },
    { name: "n", type: "t", size: 1, stream: "A".repeat(42) + "B" }, // non-zero trailing bits
    { name: "n", type: "t", size: 1, stream: 5 },
    { name: "n", type: "t", stream: salt43 },
    [],
    "text",
    null,
  ];
  for (const document of documents) {
    // Written as raw JSON: some of these (1.5) are refused by sealJson on purpose.
    const raw = bytes.utf8Encode(JSON.stringify(document));
    const envelope = await api.seal(FILE_KEY, api.Kind.FILE_META, FILE_CASE, raw);
    await report.throws(
      `malformed metadata ${JSON.stringify(document)}`,
      () => api.openFileMeta(FILE_KEY, FILE_CASE, envelope),
      "MalformedEnvelope",
    );
  }
}

/** Using an encryptor or decryptor out of order is refused. */
async function misuse(/** @type {Report} */ report) {
  const encryptor = await api.FileEncryptor.create(FILE_KEY, FILE_CASE);
  await report.throws(
    "metadata before finalize",
    () => encryptor.metadata("a", "b"),
    "Error",
    mentions("finalize"),
  );
  const busy = encryptor.update(new Uint8Array(200000));
  await report.throws(
    "concurrent update",
    () => encryptor.update(new Uint8Array(1)),
    "Error",
    mentions("await"),
  );
  await busy;
  await collect(encryptor.finalize());
  await report.throws(
    "update after finalize",
    () => encryptor.update(new Uint8Array(1)),
    "Error",
    mentions("finalized"),
  );
  await report.throws(
    "finalize twice",
    () => collect(encryptor.finalize()),
    "Error",
    mentions("finalized"),
  );
  report.equal("long names are cut", encryptor.metadata("x".repeat(1000), "t").name.length, 255);
  const emoji = encryptor.metadata("🙂".repeat(300), "t").name;
  report.equal("names are cut by code points", Array.from(emoji).length, 255);
  await report.throws(
    "constructor is private",
    () =>
      new api.FileEncryptor(
        /** @type {any} */ (null),
        /** @type {any} */ (null),
        new Uint8Array(32),
      ),
    "TypeError",
  );
  await report.throws(
    "stream salt of the wrong size",
    () => api.FileEncryptor.create(FILE_KEY, FILE_CASE, { salt: new Uint8Array(16) }),
    "RangeError",
  );
  await report.throws(
    "case key of the wrong size",
    () => api.FileEncryptor.create(new Uint8Array(16), FILE_CASE),
    "RangeError",
  );
  const decryptor = new api.FileDecryptor(FILE_KEY, FILE_CASE, {
    name: "a",
    type: "b",
    size: 1,
    stream: new Uint8Array(32),
  });
  await report.throws("finalize with no data", () => decryptor.finalize(), "TruncatedStream");
  await report.throws(
    "no update after a failure",
    () => decryptor.update(new Uint8Array(1)),
    "Error",
    mentions("failed"),
  );
  // A stream that failed once stays failed: no resuming after a refused chunk.
  const { stream, meta } = await encrypt(new Uint8Array(3 * 65536));
  const tampered = flip(stream, fileStream.STREAM_HEADER_SIZE + 5);
  const reader = new api.FileDecryptor(FILE_KEY, FILE_CASE, meta);
  await report.throws("tampered first chunk", () => reader.update(tampered), "DecryptionFailed");
  const rest = stream.subarray(fileStream.STREAM_HEADER_SIZE + fileStream.CIPHER_CHUNK_SIZE);
  await report.throws(
    "no resuming after a refusal",
    () => reader.update(rest),
    "Error",
    mentions("failed"),
  );
  await report.throws(
    "no finalize after a refusal",
    () => reader.finalize(),
    "Error",
    mentions("failed"),
  );
}

export async function codes() {
  const report = new Report();
  for (const [text, reason] of [
    ["", "empty"],
    ["   ", "empty"],
    ["ABC", "length"],
    ["A".repeat(19) + "!", "character"],
  ]) {
    await report.throws(
      `malformed ${JSON.stringify(text)}`,
      () => api.FollowUpCode.parse(text),
      "CodeFormatError",
      (e) => (e.reason === reason ? null : `reason ${e.reason}`),
    );
  }
  const code = await api.FollowUpCode.generate();
  const canonical = code.display().replaceAll("-", "");
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let caught = 0;
  let total = 0;
  const reasons = new Set();
  for (let position = 0; position < canonical.length; position++) {
    for (const replacement of alphabet) {
      if (replacement === canonical[position]) {
        continue;
      }
      total++;
      try {
        await api.FollowUpCode.parse(
          canonical.slice(0, position) + replacement + canonical.slice(position + 1),
        );
      } catch (error) {
        reasons.add(/** @type {any} */ (error).reason);
        caught++;
      }
    }
  }
  report.equal("every typo is a checksum error", [...reasons].join(), "checksum");
  report.check("typos caught", caught / total > 0.99, `${caught} of ${total}`);
  const display = code.display();
  const typo = display.slice(0, -1) + (display.endsWith("0") ? "1" : "0");
  for (const bad of [typo, display + "Z", display.slice(0, 10)]) {
    await report.throws(
      `no echo for ${bad.length} characters`,
      () => api.FollowUpCode.parse(bad),
      "CodeFormatError",
      (e) =>
        e.message.includes(display.slice(0, 4)) || e.message.includes(canonical.slice(5, 9))
          ? "the message echoes the code"
          : null,
    );
  }
  for (const text of [String(code), `${code}`, JSON.stringify({ code }), JSON.stringify([code])]) {
    report.check(
      `hidden in ${text}`,
      !text.includes(display) && !text.includes(canonical) && text.includes("hidden"),
    );
  }
  report.check("equals", code.equals(await api.FollowUpCode.parse(display.toLowerCase())));
  report.check("not equals", !code.equals(await api.FollowUpCode.generate()));
  await report.throws(
    "constructor is private",
    () => new api.FollowUpCode(/** @type {any} */ (null), canonical),
    "TypeError",
  );
  return report.result();
}

/**
 * Buckets past 2^31, which must not go through 32-bit bitwise operators.
 *
 * @param {[number, number, number][]} cases - [length, record bucket, file bucket] from Python
 */
export async function paddingEdges(cases) {
  const report = new Report();
  for (const [length, record, file] of cases) {
    report.equal(`record bucket ${length}`, padding.recordBucket(length), record);
    report.equal(`file bucket ${length}`, padding.fileBucket(length), file);
  }
  await report.throws("negative size", () => padding.fileBucket(-1), "RangeError");
  await report.throws("fractional size", () => padding.recordBucket(1.5), "RangeError");
  return report.result();
}

/** Values that JavaScript and Python would write differently are refused, not guessed. */
export async function jsonRefusals() {
  const report = new Report();
  /** @type {[string, unknown][]} */
  const refused = [
    ["a lone high surrogate", "\ud800"],
    ["a lone low surrogate in a key", { "\udc00": 1 }],
    ["a fraction", 1.5],
    ["NaN", NaN],
    ["Infinity", -Infinity],
    ["an integer beyond 2^53", 2 ** 53],
    ["undefined in an object", { a: undefined }],
    ["a Date", new Date(0)],
    ["a Map", new Map()],
    ["a function", () => 1],
    ["a bigint", 1n],
  ];
  for (const [name, value] of refused) {
    await report.throws(name, () => json.canonicalJson(value), "TypeError");
    await report.throws(
      `${name}, sealed`,
      () => api.sealJson(KEY, api.Kind.NOTE, CASE, [value]),
      "TypeError",
    );
  }
  report.equal("a surrogate pair is fine", json.canonicalJson("😀"), '"😀"');
  report.equal(
    "keys by code point",
    json.canonicalJson({ "\uff01": 1, "😀": 2, a: 3 }),
    '{"a":3,"！":1,"😀":2}',
  );
  report.equal("null prototype", json.canonicalJson(Object.create(null)), "{}");
  return report.result();
}

// --- version 2: bound records, places, the transcript (docs/crypto.md §13) -----------------

/**
 * A bound record around any place bytes, with a valid AEAD and signature, as a buggy or
 * hostile writer could make it: the reader must refuse the place itself.
 *
 * @param {number} kind
 * @param {Uint8Array} placeBytes
 * @param {CryptoKey} signer
 * @param {{salt?: Uint8Array, sealed?: Uint8Array}} [parts] - a salt and ciphertext taken
 *   from another record; by default "{}" sealed under KEY and CASE
 * @returns {Promise<Uint8Array>}
 */
async function sealRawPlace(kind, placeBytes, signer, parts = {}) {
  const prefix = concat(new Uint8Array([2, kind]), bytes.u16(placeBytes.length), placeBytes);
  let { salt, sealed } = parts;
  if (salt === undefined || sealed === undefined) {
    salt = new Uint8Array(32).fill(0x33);
    const { aesKey, nonce } = await keyAndNonce(KEY, kind, CASE, salt, api.VERSION_2);
    sealed = await aead.aesGcmSeal(
      aesKey,
      nonce,
      padding.padRecord(bytes.utf8Encode("{}")),
      prefix,
    );
  }
  const body = concat(prefix, salt, sealed);
  return concat(body, await api.sign(signer, body));
}

/**
 * @param {Uint8Array} envelope - a bound record
 * @returns {{prefixEnd: number, salt: Uint8Array, sealed: Uint8Array}} its parts after the place
 */
function boundParts(envelope) {
  const prefixEnd = 4 + envelope[2] * 256 + envelope[3];
  return {
    prefixEnd,
    salt: envelope.subarray(prefixEnd, prefixEnd + 32),
    sealed: envelope.subarray(prefixEnd + 32, envelope.length - SIGNATURE_SIZE),
  };
}

/**
 * @param {Report} report
 * @param {string} name
 * @param {() => Promise<unknown>} action
 * @param {string[]} names - the error names accepted
 */
async function throwsOneOf(report, name, action, names) {
  try {
    await action();
    report.check(name, false, `did not throw (want ${names.join(" or ")})`);
  } catch (error) {
    const got = /** @type {any} */ (error)?.name;
    report.check(name, names.includes(got), `threw ${got}, want ${names.join(" or ")}`);
  }
}

/** Tampering with a bound record: every byte, the place re-signed, another author's key. */
export async function boundRecords() {
  const report = new Report();
  const reporter = await api.signingKey(api.randomKey());
  const staff = await api.signingKey(api.randomKey());
  const kind = api.Kind.MESSAGE;
  const place = {
    case: CASE,
    purpose: "retaliation",
    author: "reporter",
    entry: 3,
    prev: "ab".repeat(32),
    files: ["cd".repeat(32)],
    facts: { kind: "demotion", occurred_on: "2024-05-01" },
  };
  const document = { text: "Tôi bị điều chuyển công tác" };
  const envelope = await api.sealBoundJson(KEY, kind, place, document, reporter.privateKey);
  /**
   * @param {Uint8Array} blob
   * @param {Uint8Array} [verifyingKey]
   * @param {Uint8Array} [key]
   */
  const open = (blob, verifyingKey = reporter.publicKey, key = KEY) =>
    api.openBoundJson(key, kind, blob, verifyingKey);

  const opened = await open(envelope);
  report.equal("round trip", JSON.stringify(opened.document), JSON.stringify(document));
  report.equal(
    "round trip place",
    json.canonicalJson(api.placeDocument(opened.place)),
    json.canonicalJson(place),
  );
  report.check("the place is frozen", Object.isFrozen(opened.place));
  const placeEnd = boundParts(envelope).prefixEnd;
  report.equal("smallest bucket", envelope.length, placeEnd + 32 + 1024 + 16 + SIGNATURE_SIZE);
  const again = await api.sealBoundJson(KEY, kind, place, document, reporter.privateKey);
  report.check("fresh salt each time", bytes.toHex(again) !== bytes.toHex(envelope));

  // Every byte flipped: the header and place are refused as they are read, anything
  // after them by the signature, before any decryption.
  for (let position = 0; position < envelope.length; position++) {
    /** @type {string[]} */
    let names = ["BadSignature"];
    if (position === 0) {
      names = ["UnsupportedVersion"];
    } else if (position < 4) {
      names = ["MalformedEnvelope"];
    } else if (position < placeEnd) {
      names = ["MalformedEnvelope", "BadSignature"]; // some flips leave a valid place
    }
    await throwsOneOf(
      report,
      `flipped byte ${position}`,
      () => open(flip(envelope, position)),
      names,
    );
  }
  for (const mask of [0x80, 0xff]) {
    await throwsOneOf(
      report,
      `signature flipped with ${mask}`,
      () => api.verifyBound(kind, flip(envelope, envelope.length - 1, mask), reporter.publicKey),
      ["BadSignature"],
    );
  }

  await report.throws(
    "another author's key",
    () => open(envelope, staff.publicKey),
    "BadSignature",
  );
  await report.throws(
    "another author's key, no decryption key",
    () => api.verifyBound(kind, envelope, staff.publicKey),
    "BadSignature",
  );
  await report.throws(
    "signed by another author",
    async () => open(await api.sealBoundJson(KEY, kind, place, document, staff.privateKey)),
    "BadSignature",
  );
  const other = await api.sealBoundJson(KEY, kind, place, { text: "khác" }, reporter.privateKey);
  await report.throws(
    "a signature moved from another record",
    () => open(concat(envelope.subarray(0, -SIGNATURE_SIZE), other.subarray(-SIGNATURE_SIZE))),
    "BadSignature",
  );
  await report.throws(
    "the right signature, the wrong key",
    () => open(envelope, undefined, new Uint8Array(32).fill(0x12)),
    "DecryptionFailed",
  );

  // A key holder changes the place and signs again: the AEAD still refuses.
  const { salt, sealed } = boundParts(envelope);
  /**
   * @param {object} change
   * @param {{privateKey: CryptoKey}} signer
   */
  const resign = (change, signer) =>
    sealRawPlace(kind, api.encodePlace(kind, { ...place, ...change }), signer.privateKey, {
      salt,
      sealed,
    });
  const resigned = await open(await resign({}, reporter));
  report.equal("re-signed, unchanged", JSON.stringify(resigned.document), JSON.stringify(document));
  /** @type {[string, object, {privateKey: CryptoKey, publicKey: Uint8Array}][]} */
  const changes = [
    ["purpose", { purpose: "withdrawal" }, reporter],
    ["entry", { entry: 4 }, reporter],
    ["prev", { prev: "ef".repeat(32) }, reporter],
    ["facts", { facts: { kind: "dismissal" } }, reporter],
    ["files", { files: ["01".repeat(32)] }, reporter],
    ["case", { case: OTHER_CASE }, reporter],
    ["author", { author: "staff/7" }, staff],
  ];
  for (const [name, change, signer] of changes) {
    const forged = await resign(change, signer);
    await report.throws(
      `re-signed with another ${name}`,
      () => open(forged, signer.publicKey),
      "DecryptionFailed",
    );
  }

  // Lengths, versions and kinds, in the reader's order (§13.4).
  const v1 = await api.sealJson(KEY, kind, CASE, document);
  await report.throws("version 1 read as version 2", () => open(v1), "UnsupportedVersion");
  await report.throws(
    "version 2 read as version 1",
    () => api.openJson(KEY, kind, CASE, envelope),
    "UnsupportedVersion",
  );
  await report.throws(
    "another kind",
    () => api.openBound(KEY, api.Kind.NOTE, envelope, reporter.publicKey),
    "MalformedEnvelope",
  );
  await report.throws(
    "a version 1 byte alone",
    () => open(new Uint8Array([1])),
    "UnsupportedVersion",
  );
  for (const length of [0, 1, 2, 3, 4, 117, placeEnd + 32 + 16 + 63]) {
    await report.throws(
      `truncated to ${length}`,
      () => open(envelope.subarray(0, length)),
      "MalformedEnvelope",
    );
  }
  await report.throws("one byte short", () => open(envelope.subarray(0, -1)), "BadSignature");
  await report.throws(
    "one byte more",
    () => open(concat(envelope, new Uint8Array(1))),
    "BadSignature",
  );
  for (const length of [0, 1, PLACE_MAX + 1, 0xffff, envelope.length]) {
    const relength = concat(envelope.subarray(0, 2), bytes.u16(length), envelope.subarray(4));
    await report.throws(`place length ${length}`, () => open(relength), "MalformedEnvelope");
  }
  // Thirty-two facts of 256 characters each: valid one by one, past 8,192 bytes together.
  const manyFacts = Object.fromEntries(
    Array.from({ length: 32 }, (_, i) => [`f${"_".repeat(i)}`, "x".repeat(256)]),
  );
  await report.throws(
    "a place too long to write",
    () =>
      api.sealBound(
        KEY,
        kind,
        { ...place, facts: manyFacts },
        new Uint8Array(0),
        reporter.privateKey,
      ),
    "RangeError",
  );

  // Writers' mistakes are argument errors.
  await report.throws(
    "a place that breaks §13.3",
    () =>
      api.sealBound(
        KEY,
        kind,
        { ...place, purpose: "report" },
        new Uint8Array(0),
        reporter.privateKey,
      ),
    "RangeError",
  );
  await report.throws(
    "a misspelt member",
    () => api.encodePlace(kind, /** @type {any} */ ({ ...place, fact: { kind: "demotion" } })),
    "RangeError",
  );
  await report.throws(
    "not a record kind",
    () => api.sealBound(KEY, api.Kind.WRAP, place, new Uint8Array(0), reporter.privateKey),
    "RangeError",
  );
  await report.throws(
    "a short salt",
    () =>
      api.sealBound(KEY, kind, place, new Uint8Array(0), reporter.privateKey, {
        salt: new Uint8Array(31),
      }),
    "RangeError",
  );
  await report.throws(
    "a short key",
    () => api.sealBound(KEY.subarray(1), kind, place, new Uint8Array(0), reporter.privateKey),
    "RangeError",
  );
  const x25519Key = await x25519.importPrivateKey(api.randomKey());
  await report.throws(
    "an X25519 key as signer",
    () => api.sealBound(KEY, kind, place, new Uint8Array(0), x25519Key),
    "TypeError",
  );
  await report.throws(
    "a verifying key of 31 bytes",
    () => open(envelope, reporter.publicKey.subarray(1)),
    "RangeError",
  );
  await report.throws(
    "signing bytes, not a key",
    () => api.sign(/** @type {any} */ (reporter.publicKey), new Uint8Array(0)),
    "TypeError",
  );
  await report.throws(
    "a signature of the wrong size",
    () => api.verify(reporter.publicKey, new Uint8Array(0), new Uint8Array(63)),
    "BadSignature",
  );
  report.equal("envelopeVersion", api.envelopeVersion(envelope), 2);
  report.equal("envelopeVersion of version 1", api.envelopeVersion(v1), 1);
  await report.throws(
    "envelopeVersion of nothing",
    () => api.envelopeVersion(new Uint8Array(0)),
    "MalformedEnvelope",
  );
  return report.result();
}

/**
 * A record sealed here, signed with the key derived from the author's X25519 key; for
 * Python to open and to compare the verifying key with its own derivation.
 *
 * @param {string} keyHex
 * @param {number} kind
 * @param {object} place
 * @param {unknown} document
 * @param {string} x25519Hex - the author's X25519 private key
 * @returns {Promise<{envelope: string, verifyingKey: string}>}
 */
export async function sealBound(keyHex, kind, place, document, x25519Hex) {
  const signer = await api.signingKey(bytes.fromHex(x25519Hex));
  const envelope = await api.sealBoundJson(
    bytes.fromHex(keyHex),
    kind,
    /** @type {any} */ (place),
    document,
    signer.privateKey,
  );
  return { envelope: bytes.toHex(envelope), verifyingKey: bytes.toHex(signer.publicKey) };
}

/**
 * Open a record Python sealed.
 *
 * @param {string} keyHex
 * @param {number} kind
 * @param {string} envelopeHex
 * @param {string} verifyingKeyHex
 * @returns {Promise<{place: object, document: unknown}>}
 */
export async function openBound(keyHex, kind, envelopeHex, verifyingKeyHex) {
  const { place, document } = await api.openBoundJson(
    bytes.fromHex(keyHex),
    kind,
    bytes.fromHex(envelopeHex),
    bytes.fromHex(verifyingKeyHex),
  );
  return { place: api.placeDocument(place), document };
}

/**
 * The reporter's verifying key, from the code as typed.
 *
 * @param {string} typed
 * @returns {Promise<string>}
 */
export async function reporterVerifyingKey(typed) {
  const code = await api.FollowUpCode.parse(typed);
  return bytes.toHex((await code.reporterSigningKey()).publicKey);
}

/**
 * What decodePlace makes of each place: "ok" and the canonical bytes written back, or the
 * error's name; and the same through readPlace on a record that is otherwise valid.
 *
 * @param {[number, string][]} cases - kind and the place's bytes in hex
 * @returns {Promise<{direct: string, record: string, written: string | null}[]>}
 */
export async function placeVerdicts(cases) {
  const signer = await api.signingKey(api.randomKey());
  const out = [];
  for (const [kind, hex] of cases) {
    const raw = bytes.fromHex(hex);
    /** @type {{direct: string, record: string, written: string | null}} */
    const verdict = { direct: "ok", record: "ok", written: null };
    try {
      verdict.written = bytes.toHex(api.encodePlace(kind, api.decodePlace(kind, raw)));
    } catch (error) {
      verdict.direct = /** @type {any} */ (error).name;
    }
    try {
      if (raw.length <= 0xffff) {
        api.readPlace(kind, await sealRawPlace(kind, raw, signer.privateKey));
      } else {
        verdict.record = "too long to frame";
      }
    } catch (error) {
      verdict.record = /** @type {any} */ (error).name;
    }
    out.push(verdict);
  }
  return out;
}

/**
 * The purposes each kind accepts, to compare with crypto.places.PURPOSES.
 *
 * @returns {Record<string, string[]>}
 */
export function purposes() {
  return Object.fromEntries([...api.PURPOSES].map(([kind, set]) => [kind, [...set].sort()]));
}

/**
 * checkOrder over the entries Python gives, in the order given: a version 2 entry's place
 * is read from its record, a version 1 entry has none.
 *
 * @param {string} caseId
 * @param {[number, string][]} entries - kind and envelope hex
 * @returns {Promise<{positions: string[], genesis: string, links: string[]}>}
 */
export async function transcriptOrder(caseId, entries) {
  const stored = entries.map(([kind, hex]) => {
    const envelope = bytes.fromHex(hex);
    return { envelope, place: envelope[0] === 2 ? api.readPlace(kind, envelope) : null };
  });
  const links = [];
  let link = await api.genesis(caseId);
  for (const { envelope } of stored) {
    link = await api.nextLink(link, envelope);
    links.push(bytes.toHex(link));
  }
  return {
    positions: await api.checkOrder(caseId, stored),
    genesis: bytes.toHex(await api.genesis(caseId)),
    links,
  };
}

/** A transcript sealed here, then an entry deleted, two swapped, one moved, the end cut. */
export async function transcriptTampering() {
  const report = new Report();
  const reporter = await api.signingKey(api.randomKey());
  const caseKey = api.randomKey();
  /** @type {{envelope: Uint8Array, place: any}[]} */
  const entries = [];
  let link = await api.genesis(CASE);
  for (let entry = 0; entry < 5; entry++) {
    const kind = entry === 0 ? api.Kind.REPORT : api.Kind.MESSAGE;
    const purpose = entry === 0 ? "report" : "message";
    const place = { case: CASE, purpose, author: "reporter", entry, prev: bytes.toHex(link) };
    const envelope = await api.sealBoundJson(
      caseKey,
      kind,
      place,
      { text: `${entry}` },
      reporter.privateKey,
    );
    entries.push({ envelope, place: await api.verifyBound(kind, envelope, reporter.publicKey) });
    link = await api.nextLink(link, envelope);
  }
  const [a, b, c, d, e] = entries;
  /** @type {[string, typeof entries, string][]} */
  const cases = [
    ["all in order", entries, "in_order in_order in_order in_order in_order"],
    ["entry 2 deleted", [a, b, d, e], "in_order in_order out_of_order in_order"],
    ["the report deleted", [b, c, d, e], "out_of_order in_order in_order in_order"],
    [
      "2 and 3 swapped",
      [a, b, d, c, e],
      "in_order in_order out_of_order out_of_order out_of_order",
    ],
    [
      "4 moved to the front",
      [e, a, b, c, d],
      "out_of_order out_of_order in_order in_order in_order",
    ],
    [
      "entry 3 twice",
      [a, b, c, d, d, e],
      "in_order in_order in_order in_order out_of_order in_order",
    ],
    ["the end cut (not visible)", [a, b, c], "in_order in_order in_order"],
    [
      "a version 1 entry carried",
      [a, { envelope: b.envelope, place: null }, c],
      "in_order carried in_order",
    ],
    [
      "a carried entry inserted",
      [a, b, { envelope: e.envelope, place: null }, c],
      "in_order in_order carried out_of_order",
    ],
  ];
  for (const [name, list, expected] of cases) {
    report.equal(name, (await api.checkOrder(CASE, list)).join(" "), expected);
  }
  report.equal(
    "another case's genesis",
    (await api.checkOrder(OTHER_CASE, entries)).join(" "),
    "out_of_order in_order in_order in_order in_order",
  );
  report.equal(
    "file digest",
    await api.fileDigest(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  await report.throws("genesis of a bad case id", () => api.genesis("a/b"), "RangeError");
  return report.result();
}

/**
 * supportsEncryption() in a browser whose WebCrypto lacks Ed25519 (X25519 present),
 * simulated by refusing every Ed25519 operation as an unknown algorithm is refused.
 *
 * @returns {Promise<boolean>}
 */
export async function supportedWithoutEd25519() {
  const subtle = /** @type {any} */ (SubtleCrypto.prototype);
  const names = ["importKey", "generateKey", "sign", "verify"];
  const originals = Object.fromEntries(names.map((name) => [name, subtle[name]]));
  /**
   * @param {any} algorithm
   * @returns {boolean}
   */
  const isEd25519 = (algorithm) => (algorithm?.name ?? algorithm) === "Ed25519";
  for (const name of names) {
    // The algorithm is argument 2 of importKey, argument 0 of the others.
    const at = name === "importKey" ? 2 : 0;
    subtle[name] = function (/** @type {any[]} */ ...args) {
      return isEd25519(args[at])
        ? Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"))
        : originals[name].apply(this, args);
    };
  }
  try {
    return await api.supportsEncryption();
  } finally {
    Object.assign(subtle, originals);
  }
}
