from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable

import pytest

from app import token_format
from app.token_format import (
    ACCESS_TOKEN_PREFIX,
    BASE62_ALPHABET,
    CLIENT_SECRET_PREFIX,
    SESSION_TOKEN_PREFIX,
    checksum,
    digest,
    generate,
    hint,
    is_well_formed,
)

PREFIX_LENGTH = len(ACCESS_TOKEN_PREFIX)
RANDOM_END = PREFIX_LENGTH + token_format.RANDOM_LENGTH


def test_generate_has_prefix_length_and_base62_body() -> None:
    token = generate()
    assert token.startswith("ssg_")
    assert len(token) == 42
    assert set(token[PREFIX_LENGTH:]) <= set(BASE62_ALPHABET)


def test_generate_never_repeats() -> None:
    tokens = {generate() for _ in range(5000)}
    assert len(tokens) == 5000


def test_generate_has_at_least_178_bits_of_randomness() -> None:
    assert token_format.RANDOM_LENGTH == 32
    assert token_format.RANDOM_LENGTH * math.log2(62) >= 178


def test_generate_uses_the_whole_alphabet_in_the_random_part() -> None:
    seen = set("".join(generate()[PREFIX_LENGTH:RANDOM_END] for _ in range(500)))
    assert seen == set(BASE62_ALPHABET)


def test_generate_appends_checksum_of_random_part() -> None:
    token = generate()
    assert token[RANDOM_END:] == checksum(token[PREFIX_LENGTH:RANDOM_END])


@pytest.mark.parametrize("prefix", [SESSION_TOKEN_PREFIX, CLIENT_SECRET_PREFIX])
def test_generate_with_other_prefix(prefix: str) -> None:
    token = generate(prefix)
    assert token.startswith(prefix)
    assert len(token) == 42
    assert is_well_formed(token, prefix)


def test_checksum_is_six_base62_characters_of_crc32() -> None:
    value = checksum("abc")
    assert len(value) == 6
    assert set(value) <= set(BASE62_ALPHABET)
    number = 0
    for char in value:
        number = number * 62 + BASE62_ALPHABET.index(char)
    assert number == zlib.crc32(b"abc")


def test_checksum_is_zero_padded() -> None:
    # CRC32 of the empty string is 0, the smallest possible value.
    assert checksum("") == "000000"
    assert all(len(checksum(str(i))) == 6 for i in range(200))


def test_is_well_formed_accepts_a_generated_token() -> None:
    assert is_well_formed(generate())


@pytest.mark.parametrize("prefix", ["ssa_", "ssc_", "SSG_", "xxx_", "sg_x"])
def test_is_well_formed_rejects_wrong_prefix(prefix: str) -> None:
    token = generate()
    assert not is_well_formed(prefix + token[PREFIX_LENGTH:])


def test_is_well_formed_rejects_access_token_as_session_token() -> None:
    assert not is_well_formed(generate(), SESSION_TOKEN_PREFIX)
    assert not is_well_formed(generate(SESSION_TOKEN_PREFIX))


@pytest.mark.parametrize(
    "change",
    [lambda t: t[:-1], lambda t: t + "0", lambda t: t * 100],
    ids=["short", "long", "huge"],
)
def test_is_well_formed_rejects_wrong_length(change: Callable[[str], str]) -> None:
    assert not is_well_formed(change(generate()))


@pytest.mark.parametrize("bad_char", ["-", "_", "+", "/", "=", " ", "é", "\x00"])
def test_is_well_formed_rejects_non_base62_characters(bad_char: str) -> None:
    token = generate()
    assert not is_well_formed(token[:10] + bad_char + token[11:])


def test_is_well_formed_rejects_empty_and_prefix_only() -> None:
    assert not is_well_formed("")
    assert not is_well_formed(ACCESS_TOKEN_PREFIX)


def test_checksum_catches_every_single_character_change_in_random_part() -> None:
    token = generate()
    for position in range(PREFIX_LENGTH, RANDOM_END):
        for replacement in BASE62_ALPHABET:
            if replacement == token[position]:
                continue
            changed = token[:position] + replacement + token[position + 1 :]
            assert not is_well_formed(changed), (position, replacement)


def test_checksum_catches_a_changed_checksum_character() -> None:
    token = generate()
    for position in range(RANDOM_END, len(token)):
        replacement = "1" if token[position] == "0" else "0"
        assert not is_well_formed(token[:position] + replacement + token[position + 1 :])


def test_digest_is_sha256_of_the_whole_token() -> None:
    token = generate()
    value = digest(token)
    assert isinstance(value, bytes)
    assert len(value) == 32
    assert value == hashlib.sha256(token.encode()).digest()
    assert value != hashlib.sha256(token[PREFIX_LENGTH:].encode()).digest()


def test_digest_differs_between_tokens() -> None:
    assert digest(generate()) != digest(generate())


def test_hint_shows_prefix_four_characters_and_last_four() -> None:
    token = generate()
    assert hint(token) == f"ssg_{token[4:8]}…{token[-4:]}"


def test_hint_does_not_contain_the_secret() -> None:
    token = generate()
    value = hint(token)
    assert token not in value
    assert token[PREFIX_LENGTH:RANDOM_END] not in value
    assert len(value) == len("ssg_") + 4 + 1 + 4
