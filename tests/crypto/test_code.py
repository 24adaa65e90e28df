"""Follow-up codes: entropy, tolerant parsing, derivations, and lookups that leak nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crypto
from crypto.code import CODE_LENGTH, RANDOM_CHARS, _check_chars
from crypto.encoding import CROCKFORD
from crypto.kdf import Argon2Params

# What a phone keyboard in full-width mode types for 0-9 and A-F.
FULLWIDTH_FROM = "0123456789ABCDEF"
FULLWIDTH_TO = "".join(chr(ord(c) + 0xFEE0) for c in FULLWIDTH_FROM)


def test_entropy_is_at_least_80_bits() -> None:
    assert RANDOM_CHARS * 5 >= 80


def test_generated_codes_are_distinct_and_well_formed() -> None:
    codes = [crypto.FollowUpCode.generate() for _ in range(200)]
    displays = {c.display() for c in codes}
    assert len(displays) == 200
    for display in displays:
        groups = display.split("-")
        assert [len(g) for g in groups] == [4] * 5
        assert set("".join(groups)) <= set(CROCKFORD)


def test_generated_codes_use_the_whole_alphabet() -> None:
    seen = set("".join(crypto.FollowUpCode.generate().display() for _ in range(300)))
    assert set(CROCKFORD) <= seen


def test_display_parses_back() -> None:
    code = crypto.FollowUpCode.generate()
    assert crypto.FollowUpCode.parse(code.display()) == code


@pytest.mark.parametrize(
    "transform",
    [
        str.lower,
        lambda s: s.replace("-", " "),
        lambda s: s.replace("-", ""),
        lambda s: s.replace("-", "\u2013"),  # en dash, as phones "correct" it
        lambda s: s.replace("-", ". "),
        lambda s: "\t" + s + "\n",
        lambda s: s.translate(str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)),
    ],
)
def test_tolerant_parsing(transform: object) -> None:
    code = crypto.FollowUpCode.generate()
    assert callable(transform)
    assert crypto.FollowUpCode.parse(transform(code.display())) == code


def test_look_alike_letters() -> None:
    body = "01" * 9
    canonical = body + _check_chars(body)
    typed = canonical.replace("0", "o").replace("1", "l", 4).replace("1", "I")
    assert "0" not in typed
    assert "1" not in typed
    assert crypto.FollowUpCode.parse(typed).display().replace("-", "") == canonical


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("   ", "empty"), ("ABC", "length"), ("A" * 19 + "!", "character")],
)
def test_malformed_input_says_why(text: str, reason: str) -> None:
    with pytest.raises(crypto.CodeFormatError) as caught:
        crypto.FollowUpCode.parse(text)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_every_single_character_typo_is_caught_or_harmless() -> None:
    """Substituting any one character yields a checksum error (or, rarely, another valid code)."""
    canonical = crypto.FollowUpCode.generate().display().replace("-", "")
    caught = total = 0
    reasons = set()
    for position in range(CODE_LENGTH):
        for replacement in CROCKFORD:
            if replacement == canonical[position]:
                continue
            total += 1
            try:
                crypto.FollowUpCode.parse(
                    canonical[:position] + replacement + canonical[position + 1 :]
                )
            except crypto.CodeFormatError as exc:
                reasons.add(exc.reason)
                caught += 1
    assert reasons == {"checksum"}
    assert caught / total > 0.99


def test_errors_never_echo_the_code() -> None:
    code = crypto.FollowUpCode.generate().display()
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    for bad in (typo, code + "Z", code[:10]):
        with pytest.raises(crypto.CodeFormatError) as caught:
            crypto.FollowUpCode.parse(bad)
        message = str(caught.value)
        assert code[:4] not in message
        assert code.replace("-", "")[5:9] not in message


def test_repr_hides_the_code() -> None:
    code = crypto.FollowUpCode.generate()
    for text in (repr(code), str(code), f"{code}", f"{[code]}"):
        assert code.display() not in text
        assert "hidden" in text


def test_derivations_are_distinct_and_stable() -> None:
    code = crypto.FollowUpCode.generate()
    again = crypto.FollowUpCode.parse(code.display())
    token, key = code.lookup_token(), code.reporter_private_key().private_bytes_raw()
    assert token == again.lookup_token()
    assert key == again.reporter_private_key().private_bytes_raw()
    assert token != key
    assert len(crypto.lookup_index(token)) == 5


def test_lookup_verification(fast_argon2: Argon2Params) -> None:
    right = crypto.FollowUpCode.generate().lookup_token()
    wrong = crypto.FollowUpCode.generate().lookup_token()
    stored = crypto.hash_lookup_token(right, fast_argon2)
    assert stored.startswith(b"$argon2id$")
    assert right not in stored
    assert crypto.verify_lookup_token(right, [stored], fast_argon2) == 0
    other = crypto.hash_lookup_token(wrong, fast_argon2)
    assert crypto.verify_lookup_token(right, [other, stored], fast_argon2) == 1
    assert crypto.verify_lookup_token(wrong, [stored], fast_argon2) is None
    assert crypto.verify_lookup_token(right, [], fast_argon2) is None


def test_hashes_are_salted(fast_argon2: Argon2Params) -> None:
    token = crypto.FollowUpCode.generate().lookup_token()
    assert crypto.hash_lookup_token(token, fast_argon2) != crypto.hash_lookup_token(
        token, fast_argon2
    )


def test_unknown_and_wrong_codes_cost_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both run exactly one Argon2id verification at the same cost, so they take the same
    time; counted rather than timed, because timings on a shared machine are noise."""
    from crypto import code as code_module

    params = Argon2Params(ops=1, memory_kib=16)
    token = crypto.FollowUpCode.generate().lookup_token()
    stored = crypto.hash_lookup_token(crypto.FollowUpCode.generate().lookup_token(), params)
    calls: list[bytes] = []
    from crypto.kdf import verify_hash as real_verify

    def counting_verify(encoded: bytes, secret: bytes) -> bool:
        calls.append(encoded.split(b"$")[3])  # the cost parameters m=..,t=..,p=..
        return real_verify(encoded, secret)

    monkeypatch.setattr(code_module, "verify_hash", counting_verify)
    assert crypto.verify_lookup_token(token, [], params) is None
    unknown = list(calls)
    calls.clear()
    assert crypto.verify_lookup_token(token, [stored], params) is None
    assert len(unknown) == len(calls) == 1
    assert unknown == calls == [b"m=16,t=1,p=1"]


@given(st.binary(min_size=1, max_size=40))
def test_crockford_round_trip(data: bytes) -> None:
    from crypto.encoding import crockford_decode, crockford_encode

    assert crockford_decode(crockford_encode(data), len(data)) == data


@given(st.lists(st.sampled_from([" ", "-", "", "  ", "\u2014", "."]), min_size=19, max_size=19))
def test_any_separators_parse(separators: list[str]) -> None:
    code = crypto.FollowUpCode.generate()
    canonical = code.display().replace("-", "")
    typed = "".join(c + s for c, s in zip(canonical, [*separators, ""], strict=True))
    assert crypto.FollowUpCode.parse(typed) == code
