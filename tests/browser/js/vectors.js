/**
 * Every vector of tests/vectors/*.json through the browser implementation: each
 * envelope and stream reproduced byte for byte from its fixed inputs, then opened.
 *
 * Each export runs one vector file and returns {checks, failures, vectors}.
 *
 * @module tests/vectors
 */

import * as api from "/static/js/crypto/index.js";
import {
  bytes,
  code,
  fileMeta,
  fileStream,
  hpke,
  json,
  padding,
  records,
  wrapping,
  x25519,
} from "/static/js/crypto/testing.js";
import * as bound from "/static/js/crypto/bound.js";
import * as places from "/static/js/crypto/places.js";
import * as signing from "/static/js/crypto/signing.js";
import * as transcript from "/static/js/crypto/transcript.js";
import { collect, cut, fetchJson, pattern, Report } from "./harness.js";

const { fromHex, toHex, concat } = bytes;

/**
 * @param {Report} report
 * @param {number} vectors
 */
function finish(report, vectors) {
  return { ...report.result(), vectors };
}

export async function wrapVectors() {
  const report = new Report();
  const { vectors } = await fetchJson("/vectors/wrap.json");
  for (const v of vectors) {
    const id = `wrap ${v.purpose}`;
    await report.step(id, async () => {
      report.bytes(`${id} info`, wrapping.wrapInfo(v.purpose, v.context), v.info);
      report.bytes(
        `${id} recipient public key`,
        await x25519.publicKeyOf(fromHex(v.recipient_private_key)),
        v.recipient_public_key,
      );
      const envelope = await api.wrap(
        fromHex(v.key),
        fromHex(v.recipient_public_key),
        v.purpose,
        v.context,
        {
          ephemeralPrivateKey: fromHex(v.ephemeral_private_key),
        },
      );
      report.bytes(`${id} envelope`, envelope, v.envelope);
      report.equal(`${id} size`, envelope.length, wrapping.WRAP_SIZE);
      const opened = await api.unwrap(
        fromHex(v.envelope),
        fromHex(v.recipient_private_key),
        v.purpose,
        v.context,
      );
      report.bytes(`${id} unwrap`, opened, v.key);
      const asCryptoKey = await x25519.importPrivateKey(fromHex(v.recipient_private_key));
      report.bytes(
        `${id} unwrap with a CryptoKey`,
        await api.unwrap(fromHex(v.envelope), asCryptoKey, v.purpose, v.context),
        v.key,
      );
    });
  }
  return finish(report, vectors.length);
}

export async function hpkeVector() {
  const report = new Report();
  const { vector: v } = await fetchJson("/vectors/hpke-rfc9180.json");
  await report.step("rfc9180", async () => {
    report.check("suite", v.mode === 0 && v.kem_id === 0x20 && v.kdf_id === 1 && v.aead_id === 2);
    const skR = await hpke.deriveKeyPair(fromHex(v.ikmR));
    const skE = await hpke.deriveKeyPair(fromHex(v.ikmE));
    report.bytes("skRm", skR, v.skRm);
    report.bytes("skEm", skE, v.skEm);
    report.bytes("pkRm", await x25519.publicKeyOf(skR), v.pkRm);
    report.bytes("pkEm", await x25519.publicKeyOf(skE), v.pkEm);
    const info = fromHex(v.info);
    const sender = await hpke.setupBaseSender(fromHex(v.pkRm), info, { ephemeralPrivateKey: skE });
    report.bytes("enc", sender.enc, v.enc);
    report.bytes("shared_secret", sender.sharedSecret, v.shared_secret);
    report.bytes("key_schedule_context", sender.keyScheduleContext, v.key_schedule_context);
    report.bytes("secret", sender.secret, v.secret);
    report.bytes("key", sender.key, v.key);
    report.bytes("base_nonce", sender.baseNonce, v.base_nonce);
    const receiver = await hpke.setupBaseReceiver(fromHex(v.enc), fromHex(v.skRm), info);
    for (const [sequence, e] of v.encryptions.entries()) {
      const sealed = await sender.seal(sequence, fromHex(e.pt), fromHex(e.aad));
      report.bytes(`encryption ${sequence} ct`, sealed, e.ct);
      report.bytes(
        `encryption ${sequence} open`,
        await receiver.open(sequence, fromHex(e.ct), fromHex(e.aad)),
        e.pt,
      );
    }
    const first = v.encryptions[0];
    const single = await hpke.sealBase(fromHex(v.pkRm), info, fromHex(first.pt), {
      ephemeralPrivateKey: skE,
      aad: fromHex(first.aad),
    });
    report.bytes("single-shot seal", single, v.enc + first.ct);
    const opened = await hpke.openBase(fromHex(v.enc + first.ct), skR, info, {
      aad: fromHex(first.aad),
    });
    report.bytes("single-shot open", opened, first.pt);
  });
  return finish(report, 1);
}

export async function recordVectors() {
  const report = new Report();
  const { vectors } = await fetchJson("/vectors/records.json");
  const byKind = new Map(
    Object.entries(api.Kind).map(([name, byte]) => [name.toLowerCase().replace("_", "-"), byte]),
  );
  for (const [index, v] of vectors.entries()) {
    const id = `record ${index} (${v.kind}, ${v.plaintext.length / 2} bytes)`;
    await report.step(id, async () => {
      report.equal(`${id} kind byte`, byKind.get(v.kind), v.kind_byte);
      report.equal(`${id} label`, records.RECORD_LABELS.get(v.kind_byte), v.label);
      const key = fromHex(v.key);
      const envelope = await api.seal(key, v.kind_byte, v.case_id, fromHex(v.plaintext), {
        salt: fromHex(v.salt),
      });
      report.bytes(`${id} envelope`, envelope, v.envelope);
      report.equal(`${id} padded size`, envelope.length - 2 - 32 - 16, v.padded_size);
      report.bytes(
        `${id} open`,
        await api.open(key, v.kind_byte, v.case_id, fromHex(v.envelope)),
        v.plaintext,
      );
      const text = bytes.utf8Decode(fromHex(v.plaintext));
      if (text.startsWith("{")) {
        // JSON plaintexts are canonical: parsing and re-sealing gives the same bytes.
        const document = JSON.parse(text);
        const again = await api.sealJson(key, v.kind_byte, v.case_id, document, {
          salt: fromHex(v.salt),
        });
        report.bytes(`${id} sealJson`, again, v.envelope);
        const opened = await api.openJson(key, v.kind_byte, v.case_id, fromHex(v.envelope));
        report.equal(`${id} openJson`, JSON.stringify(opened), JSON.stringify(document));
      }
    });
  }
  return finish(report, vectors.length);
}

/**
 * @param {Uint8Array[]} pieces
 */
async function sha256Hex(pieces) {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...pieces))));
}

export async function fileVectors() {
  const report = new Report();
  const doc = await fetchJson("/vectors/files.json");
  report.equal("chunk size", doc.chunk_size, api.CHUNK_SIZE);
  for (const v of doc.vectors) {
    const id = `file ${v.size}`;
    await report.step(id, async () => {
      const caseKey = fromHex(v.case_key);
      const plaintext = pattern(v.size);
      report.equal(`${id} padded size`, padding.fileBucket(v.size), v.padded_size);
      report.equal(`${id} predicted length`, api.streamLength(v.size), v.stream_length);

      const encryptor = await api.FileEncryptor.create(caseKey, v.case_id, {
        salt: fromHex(v.salt),
      });
      const pieces = await collect(api.encryptBlob(encryptor, new Blob([plaintext])));
      const stream = concat(...pieces);
      report.equal(`${id} stream length`, stream.length, v.stream_length);
      report.equal(`${id} stream sha256`, await sha256Hex(pieces), v.stream_sha256);
      if (v.stream !== undefined) {
        report.bytes(`${id} stream`, stream, v.stream);
      }
      report.check(
        `${id} pieces bounded`,
        pieces.every((p) => p.length <= fileStream.CIPHER_CHUNK_SIZE),
      );

      const meta = encryptor.metadata(v.meta.name, v.meta.type);
      report.equal(
        `${id} metadata`,
        JSON.stringify(fileMeta.fileMetaToJson(meta)),
        JSON.stringify(v.meta),
      );
      const metaEnvelope = await api.sealFileMeta(caseKey, v.case_id, meta, {
        salt: fromHex(v.meta_salt),
      });
      report.bytes(`${id} metadata envelope`, metaEnvelope, v.meta_envelope);

      const opened = await api.openFileMeta(caseKey, v.case_id, fromHex(v.meta_envelope));
      report.equal(
        `${id} opened metadata`,
        JSON.stringify(fileMeta.fileMetaToJson(opened)),
        JSON.stringify(v.meta),
      );
      // Odd piece sizes exercise every buffering path of the decryptor.
      for (const sizes of [[stream.length], [1, 33, 1000], [fileStream.CIPHER_CHUNK_SIZE + 1]]) {
        const output = await collect(
          api.decryptStream(caseKey, v.case_id, opened, cut(stream, sizes)),
        );
        report.equal(
          `${id} decrypt in pieces of ${sizes}`,
          toHex(concat(...output)),
          toHex(plaintext),
        );
      }
    });
  }
  return finish(report, doc.vectors.length);
}

export async function codeVectors() {
  const report = new Report();
  const { valid, invalid } = await fetchJson("/vectors/codes.json");
  for (const v of valid) {
    const id = `code ${v.display}`;
    await report.step(id, async () => {
      report.equal(
        `${id} check`,
        v.canonical.slice(18),
        await code.checkChars(v.canonical.slice(0, 18)),
      );
      for (const input of v.accepted_inputs) {
        const parsed = await api.FollowUpCode.parse(input);
        report.equal(`${id} parses ${JSON.stringify(input)}`, parsed.display(), v.display);
      }
      const parsed = await api.FollowUpCode.parse(v.canonical);
      const token = await parsed.lookupToken();
      report.bytes(`${id} lookup token`, token, v.lookup_token);
      report.bytes(`${id} lookup index`, await api.lookupIndex(token), v.lookup_index);
      report.bytes(
        `${id} reporter private key`,
        await parsed.reporterPrivateKey(),
        v.reporter_private_key,
      );
      report.bytes(
        `${id} reporter public key`,
        (await parsed.reporterKeyPair()).publicKey,
        v.reporter_public_key,
      );
    });
  }
  for (const v of invalid) {
    const id = `refuses ${JSON.stringify(v.input)}`;
    await report.throws(
      id,
      () => api.FollowUpCode.parse(v.input),
      "CodeFormatError",
      (error) => {
        if (error.reason !== v.reason) {
          return `reason ${error.reason}, want ${v.reason}`;
        }
        return v.input.trim() && error.message.includes(v.input.trim())
          ? "the message echoes the input"
          : null;
      },
    );
  }
  return finish(report, valid.length + invalid.length);
}

export async function paddingVectors() {
  const report = new Report();
  const { vectors } = await fetchJson("/vectors/padding.json");
  for (const v of vectors) {
    report.equal(`record bucket ${v.length}`, padding.recordBucket(v.length), v.record_bucket);
    report.equal(`file bucket ${v.length}`, padding.fileBucket(v.length), v.file_bucket);
  }
  return finish(report, vectors.length);
}

/** The keyring file's public parts: key pair and fingerprint (the rest is Argon2id). */
export async function keyringPublicParts() {
  const report = new Report();
  const v = await fetchJson("/vectors/keyring.json");
  await report.step("keyring", async () => {
    report.bytes("public key", await x25519.publicKeyOf(fromHex(v.private_key)), v.public_key);
    report.equal("fingerprint", await api.fingerprint(fromHex(v.public_key)), v.fingerprint);
  });
  return finish(report, 1);
}

/**
 * bound.json: each author's signing key from their X25519 key, then each record sealed
 * again byte for byte (Ed25519 is deterministic, so the signature too), opened, and
 * chained into the transcript from the genesis link.
 */
export async function boundVectors() {
  const report = new Report();
  const doc = await fetchJson("/vectors/bound.json");
  report.bytes("genesis", await api.genesis(doc.case_id), doc.genesis);

  /** @type {Map<string, signing.SigningKey>} */
  const signers = new Map();
  for (const k of doc.signing_keys) {
    const id = `signing key ${k.author}`;
    await report.step(id, async () => {
      const x25519Key = fromHex(k.x25519_private_key);
      report.bytes(`${id} seed`, await signing.signingSeed(x25519Key), k.ed25519_seed);
      const signer = await api.signingKey(x25519Key);
      report.bytes(`${id} public key`, signer.publicKey, k.ed25519_public_key);
      report.bytes(
        `${id} from the seed`,
        (await signing.importSigningSeed(fromHex(k.ed25519_seed))).publicKey,
        k.ed25519_public_key,
      );
      signers.set(k.author, signer);
    });
  }
  await report.step("reporter key from the follow-up code", async () => {
    // The reporter's X25519 key is a follow-up code's (codes.json): derive it from the code.
    const reporter = doc.signing_keys.find((/** @type {any} */ k) => k.author === "reporter");
    const { valid } = await fetchJson("/vectors/codes.json");
    const v = valid.find(
      (/** @type {any} */ c) => c.reporter_private_key === reporter.x25519_private_key,
    );
    const fromCode = await (await api.FollowUpCode.parse(v.canonical)).reporterSigningKey();
    report.bytes("reporterSigningKey", fromCode.publicKey, reporter.ed25519_public_key);
  });

  let link = await api.genesis(doc.case_id);
  /** @type {{envelope: Uint8Array, place: any}[]} */
  const entries = [];
  /** @type {Map<string, string>} */
  const digests = new Map(); // FILE_META envelope digests, for the places that list them
  for (const [index, v] of doc.vectors.entries()) {
    const id = `bound ${index} (${v.kind}, ${v.place.purpose})`;
    await report.step(id, async () => {
      const signer = /** @type {signing.SigningKey} */ (signers.get(v.signer));
      const key = fromHex(v.key);
      const options = { salt: fromHex(v.salt) };
      report.equal(`${id} kind byte`, records.RECORD_LABELS.get(v.kind_byte), v.kind);
      report.bytes(`${id} place bytes`, places.encodePlace(v.kind_byte, v.place), v.place_bytes);
      const plaintext = fromHex(v.plaintext);
      const envelope = await api.sealBound(
        key,
        v.kind_byte,
        v.place,
        plaintext,
        signer.privateKey,
        options,
      );
      report.bytes(`${id} envelope`, envelope, v.envelope);
      const document = JSON.parse(bytes.utf8Decode(plaintext));
      report.bytes(
        `${id} sealBoundJson`,
        await api.sealBoundJson(key, v.kind_byte, v.place, document, signer.privateKey, options),
        v.envelope,
      );

      const stored = fromHex(v.envelope);
      const claimed = api.readPlace(v.kind_byte, stored);
      report.equal(`${id} readPlace`, placeJson(claimed), json.canonicalJson(v.place));
      const verified = await api.verifyBound(v.kind_byte, stored, signer.publicKey);
      report.equal(`${id} verifyBound`, placeJson(verified), json.canonicalJson(v.place));
      const opened = await api.openBound(key, v.kind_byte, stored, signer.publicKey);
      report.equal(`${id} open place`, placeJson(opened.place), json.canonicalJson(v.place));
      report.bytes(`${id} open plaintext`, opened.plaintext, v.plaintext);
      const openedJson = await api.openBoundJson(key, v.kind_byte, stored, signer.publicKey);
      report.equal(
        `${id} openBoundJson`,
        json.canonicalJson(openedJson.document),
        json.canonicalJson(document),
      );

      if (v.kind === "file-meta") {
        digests.set(await api.fileDigest(stored), id);
      }
      for (const digest of opened.place.files) {
        report.check(`${id} carries ${digest}`, digests.has(digest));
      }
      if (v.link_before !== undefined) {
        report.bytes(`${id} link before`, link, v.link_before);
        report.equal(`${id} prev`, opened.place.prev, v.link_before);
        link = await api.nextLink(fromHex(v.link_before), stored);
        report.bytes(`${id} link after`, link, v.link_after);
        entries.push({ envelope: stored, place: opened.place });
      }
    });
  }
  const positions = await api.checkOrder(doc.case_id, entries);
  report.equal("transcript in order", positions.join(), entries.map(() => "in_order").join());
  return finish(report, doc.signing_keys.length + doc.vectors.length);
}

/**
 * @param {places.Place} place
 * @returns {string} its canonical JSON, to compare with a vector's document
 */
function placeJson(place) {
  return json.canonicalJson(places.placeDocument(place));
}
