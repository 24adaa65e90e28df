"""The committed vectors are exactly what the code produces, and open through the public API."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import crypto
from crypto import bound, files, keyring, padding, signing, transcript, wrapping
from crypto.kdf import Argon2Params
from tests.hpke_reference import derive_key_pair, setup_base_sender, single_shot_seal
from tests.vectors import generate

VECTORS = Path(generate.__file__).parent
h = bytes.fromhex


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(generate.build()))
def test_committed_vectors_match_the_generator(name: str) -> None:
    assert (VECTORS / name).read_text(encoding="utf-8") == generate.dump(generate.build()[name])


class TestRfc9180:
    vector = load("hpke-rfc9180.json")["vector"]

    def test_entry_is_the_suite_we_use(self) -> None:
        v = self.vector
        assert (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 0x20, 1, 2)

    def test_cryptography_opens_the_official_ciphertext(self) -> None:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        v = self.vector
        suite = wrapping.SUITE
        recipient = X25519PrivateKey.from_private_bytes(h(v["skRm"]))
        first = v["encryptions"][0]
        # The single-shot API has no AAD; the official vector does, so use the AAD variant.
        opened = rust_openssl.hpke._decrypt_with_aad(
            suite, h(v["enc"]) + h(first["ct"]), recipient, info=h(v["info"]), aad=h(first["aad"])
        )
        assert opened == h(first["pt"])

    def test_reference_sender_reproduces_every_field(self) -> None:
        v = self.vector
        recipient = derive_key_pair(h(v["ikmR"]))
        ephemeral = derive_key_pair(h(v["ikmE"]))
        assert recipient.private_bytes_raw() == h(v["skRm"])
        assert ephemeral.private_bytes_raw() == h(v["skEm"])
        context = setup_base_sender(recipient.public_key(), h(v["info"]), ephemeral)
        assert context.enc == h(v["enc"])
        assert context.shared_secret == h(v["shared_secret"])
        assert context.key == h(v["key"])
        assert context.base_nonce == h(v["base_nonce"])
        for sequence, encryption in enumerate(v["encryptions"]):
            sealed = context.seal(sequence, h(encryption["pt"]), h(encryption["aad"]))
            assert sealed == h(encryption["ct"])

    def test_reference_and_cryptography_agree_without_aad(self) -> None:
        v = self.vector
        recipient = X25519PrivateKey.from_private_bytes(h(v["skRm"]))
        sealed = single_shot_seal(
            recipient.public_key(), b"info", b"plaintext", derive_key_pair(h(v["ikmE"]))
        )
        suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
        assert suite.decrypt(sealed, recipient, info=b"info") == b"plaintext"


@pytest.mark.parametrize("vector", load("wrap.json")["vectors"], ids=lambda v: v["purpose"])
def test_wrap_vector_opens(vector: dict[str, Any]) -> None:
    recipient = crypto.load_private_key(h(vector["recipient_private_key"]))
    assert crypto.public_bytes(recipient) == h(vector["recipient_public_key"])
    purpose = crypto.Purpose(vector["purpose"])
    assert wrapping.wrap_info(purpose, vector["context"]) == h(vector["info"])
    opened = crypto.unwrap(h(vector["envelope"]), recipient, purpose, vector["context"])
    assert opened == h(vector["key"])


@pytest.mark.parametrize(
    "vector", load("records.json")["vectors"], ids=lambda v: f"{v['kind']}-{v['padded_size']}"
)
def test_record_vector_opens(vector: dict[str, Any]) -> None:
    kind = crypto.Kind(vector["kind_byte"])
    envelope = h(vector["envelope"])
    assert len(envelope) == 2 + 32 + vector["padded_size"] + 16
    assert crypto.open_(h(vector["key"]), kind, vector["case_id"], envelope) == h(
        vector["plaintext"]
    )


@pytest.mark.parametrize("vector", load("files.json")["vectors"], ids=lambda v: str(v["size"]))
def test_stream_vector_opens(vector: dict[str, Any]) -> None:
    case_key, case_id = h(vector["case_key"]), vector["case_id"]
    meta = crypto.open_file_meta(case_key, case_id, h(vector["meta_envelope"]))
    assert meta.to_json() == vector["meta"]
    assert meta.size == vector["size"]
    encryptor = crypto.FileEncryptor(case_key, case_id, salt=h(vector["salt"]))
    stream = b"".join(crypto.encrypt_stream(encryptor, [generate.pattern(vector["size"])]))
    assert hashlib.sha256(stream).hexdigest() == vector["stream_sha256"]
    assert len(stream) == vector["stream_length"]
    if "stream" in vector:
        assert stream == h(vector["stream"])
    opened = b"".join(crypto.decrypt_stream(case_key, case_id, meta, [stream]))
    assert opened == generate.pattern(vector["size"])
    chunks = -(-vector["padded_size"] // files.CHUNK_SIZE) or 1
    assert len(stream) == files.STREAM_HEADER_SIZE + vector["padded_size"] + 16 * chunks


@pytest.mark.parametrize("vector", load("codes.json")["valid"], ids=lambda v: v["display"])
def test_code_vector_derivations(vector: dict[str, Any]) -> None:
    for text in vector["accepted_inputs"]:
        code = crypto.FollowUpCode.parse(text)
        assert code.display() == vector["display"]
        assert code.lookup_token() == h(vector["lookup_token"])
        assert crypto.lookup_index(code.lookup_token()) == h(vector["lookup_index"])
        key = code.reporter_private_key()
        assert key.private_bytes_raw() == h(vector["reporter_private_key"])
        assert crypto.public_bytes(key) == h(vector["reporter_public_key"])


@pytest.mark.parametrize("vector", load("codes.json")["invalid"], ids=lambda v: v["reason"])
def test_code_vector_refusals(vector: dict[str, Any]) -> None:
    with pytest.raises(crypto.CodeFormatError) as caught:
        crypto.FollowUpCode.parse(vector["input"])
    assert caught.value.reason == vector["reason"]


def test_keyring_vector_opens() -> None:
    v = load("keyring.json")
    params = Argon2Params(**v["argon2id"])
    sealed = keyring.seal_with_passphrase(
        crypto.load_private_key(h(v["private_key"])),
        v["passphrase"],
        params,
        salt=h(v["salt"]),
        nonce=h(v["nonce"]),
    )
    assert sealed == h(v["by_passphrase"])
    ring = crypto.SealedKeyring(
        public_key=h(v["public_key"]), by_passphrase=sealed, by_recovery=h(v["by_recovery"])
    )
    assert ring.fingerprint == v["fingerprint"]
    assert ring.unlock(v["passphrase"]).private_bytes_raw() == h(v["private_key"])
    recovered = ring.recover(crypto.RecoveryCode.parse(v["recovery_code"]))
    assert recovered.private_bytes_raw() == h(v["private_key"])


@pytest.mark.parametrize("vector", load("padding.json")["vectors"], ids=lambda v: str(v["length"]))
def test_padding_vector(vector: dict[str, int]) -> None:
    assert padding.record_bucket(vector["length"]) == vector["record_bucket"]
    assert padding.file_bucket(vector["length"]) == vector["file_bucket"]


BOUND = load("bound.json")


@pytest.mark.parametrize("vector", BOUND["signing_keys"], ids=lambda v: v["author"])
def test_signing_key_vector(vector: dict[str, Any]) -> None:
    private = X25519PrivateKey.from_private_bytes(h(vector["x25519_private_key"]))
    key = signing.signing_key(private)
    assert key.private_bytes_raw() == h(vector["ed25519_seed"])
    assert signing.verifying_bytes(key) == h(vector["ed25519_public_key"])


@pytest.mark.parametrize("vector", BOUND["vectors"], ids=lambda v: v["place"]["purpose"])
def test_bound_vector_opens(vector: dict[str, Any]) -> None:
    public = {k["author"]: h(k["ed25519_public_key"]) for k in BOUND["signing_keys"]}
    kind = crypto.Kind(vector["kind_byte"])
    envelope = h(vector["envelope"])
    place, plaintext = bound.open_bound(h(vector["key"]), kind, envelope, public[vector["signer"]])
    assert place.document() == vector["place"]
    assert envelope[4 : 4 + len(h(vector["place_bytes"]))] == h(vector["place_bytes"])
    assert plaintext == h(vector["plaintext"])
    if "link_before" in vector:
        assert place.prev == vector["link_before"]
        assert (
            transcript.next_link(h(vector["link_before"]), envelope).hex() == vector["link_after"]
        )


def test_bound_vectors_chain_from_the_genesis_link() -> None:
    links = [v for v in BOUND["vectors"] if "link_before" in v]
    assert links[0]["link_before"] == BOUND["genesis"] == transcript.genesis(BOUND["case_id"]).hex()
    assert all(a["link_after"] == b["link_before"] for a, b in itertools.pairwise(links))
