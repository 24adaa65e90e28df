/**
 * Refusals, mirroring tests/crypto/test_*.py: each tampering, mix-up or misuse must
 * throw the error class Python throws for it (checked by `name`).
 *
 * @module tests/negative
 */

import * as api from "/static/js/crypto/index.js";
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
