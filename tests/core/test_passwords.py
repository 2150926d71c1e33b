"""Password policy and Argon2id storage (security checklist: Passwords)."""

from __future__ import annotations

import re

import argon2
import pytest

from textedit_core.errors import ValidationError
from textedit_core.identity import passwords

EMAIL = "alice@example.com"
PASSPHRASE = "plain tulip orbit harvest"

# A cheap hasher: only for hashes whose parameters do not matter to the test.
CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

HASH_FORMAT = re.compile(
    r"^\$(?P<type>argon2(?:id|i|d))\$v=(?P<version>\d+)"
    r"\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$(?P<salt>[^$]+)\$(?P<digest>[^$]+)$"
)


def parse_hash(encoded: str) -> dict[str, str]:
    match = HASH_FORMAT.match(encoded)
    assert match, f"not a PHC-format Argon2 hash: {encoded!r}"
    return match.groupdict()


@pytest.fixture(scope="module")
def default_hash() -> str:
    return passwords.hash_password(PASSPHRASE)


# --- policy: length -----------------------------------------------------------------------


def test_a_password_of_12_characters_is_accepted():
    assert passwords.check_policy("tulip orbit!", EMAIL) == "tulip orbit!"


def test_a_password_of_11_characters_is_rejected_as_too_short():
    with pytest.raises(ValidationError, match="too short: use at least 12 characters"):
        passwords.check_policy("tulip orbit", EMAIL)


def test_a_password_of_256_characters_is_accepted():
    password = ("tulip orbit harvest " * 13)[:256]
    assert passwords.check_policy(password, EMAIL) == password


def test_a_password_of_257_characters_is_rejected_as_too_long():
    password = ("tulip orbit harvest " * 13)[:257]
    with pytest.raises(ValidationError, match="too long: at most 256 characters"):
        passwords.check_policy(password, EMAIL)


def test_there_are_no_character_class_rules():
    assert passwords.check_policy("only lowercase words here", EMAIL)


# --- policy: Unicode ----------------------------------------------------------------------


def test_policy_returns_the_nfkc_normalised_password():
    fullwidth = "ｐｌａｉｎ ｔｕｌｉｐ ｏｒｂｉｔ"  # full-width Latin: compatibility characters
    assert passwords.check_policy(fullwidth, EMAIL) == "plain tulip orbit"


def test_a_password_typed_with_compatibility_characters_verifies_against_its_plain_form():
    stored = passwords.hash_password("ｐｌａｉｎ ｔｕｌｉｐ ｏｒｂｉｔ")
    assert passwords.verify(stored, "plain tulip orbit")
    assert passwords.verify(stored, "ｐｌａｉｎ ｔｕｌｉｐ ｏｒｂｉｔ")


def test_a_long_unicode_passphrase_is_accepted_and_verifies():
    passphrase = "Ёжик в тумане ищет лошадку 🌫️🐴, 霧の中のハリネズミ, Igel im Nebel — " * 4
    assert 200 < len(passphrase) <= passwords.MAX_LENGTH
    normalized = passwords.check_policy(passphrase, EMAIL)
    assert passwords.verify(passwords.hash_password(normalized), passphrase)


def test_a_password_that_cannot_be_encoded_is_rejected_with_a_message():
    # A lone surrogate cannot be encoded as UTF-8, so it could never be hashed.
    with pytest.raises(ValidationError, match="cannot be used"):
        passwords.check_policy("plain tulip \ud800 orbit", EMAIL)


# --- policy: email and common passwords -----------------------------------------------------


def test_a_password_containing_the_email_is_rejected():
    with pytest.raises(ValidationError, match="must not contain your email"):
        passwords.check_policy(f"my {EMAIL} secret", EMAIL)


def test_a_password_containing_the_email_local_part_is_rejected_whatever_its_case():
    with pytest.raises(ValidationError, match="must not contain your email"):
        passwords.check_policy("ALICE walks the plain", EMAIL)


def test_the_email_is_compared_trimmed_and_case_insensitively():
    with pytest.raises(ValidationError, match="must not contain your email"):
        passwords.check_policy("hello alice@example.com", "  Alice@Example.COM ")


def test_a_local_part_shorter_than_4_characters_may_appear_in_the_password():
    assert passwords.check_policy("bob walks the plain", "bob@example.com")


@pytest.mark.parametrize(
    "common", ["password1234", "Password1234", "QWERTY123456", "correcthorsebatterystaple"]
)
def test_a_common_password_is_rejected_whatever_its_case(common):
    with pytest.raises(ValidationError, match="too common"):
        passwords.check_policy(common, EMAIL)


def test_a_password_of_at_most_two_distinct_characters_is_rejected():
    with pytest.raises(ValidationError, match="too common"):
        passwords.check_policy("abababababababab", EMAIL)


# --- hashing ------------------------------------------------------------------------------


def test_default_hash_is_argon2id_above_the_owasp_floor(default_hash):
    params = parse_hash(default_hash)
    assert params["type"] == "argon2id"
    assert int(params["m"]) >= 19456
    assert int(params["t"]) >= 2


def test_default_hash_uses_the_rfc_9106_low_memory_profile(default_hash):
    params = parse_hash(default_hash)
    assert params["version"] == "19"
    assert (params["t"], params["m"], params["p"]) == ("3", "65536", "4")
    extracted = argon2.extract_parameters(default_hash)
    assert extracted.type is argon2.Type.ID
    assert (extracted.time_cost, extracted.memory_cost, extracted.parallelism) == (3, 65536, 4)


def test_hashing_the_same_password_twice_gives_different_salts(default_hash):
    again = passwords.hash_password(PASSPHRASE)
    assert again != default_hash
    assert parse_hash(again)["salt"] != parse_hash(default_hash)["salt"]


def test_a_default_hash_does_not_need_rehash(default_hash):
    assert passwords.needs_rehash(default_hash) is False


def test_a_hash_with_cheap_parameters_needs_rehash():
    assert passwords.needs_rehash(CHEAP.hash(PASSPHRASE)) is True


# --- verify -------------------------------------------------------------------------------


def test_verify_accepts_the_right_password(default_hash):
    assert passwords.verify(default_hash, PASSPHRASE) is True


def test_verify_is_false_for_a_wrong_password(default_hash):
    assert passwords.verify(default_hash, PASSPHRASE + "!") is False


def test_verify_refuses_a_password_over_256_characters_even_when_it_matches_its_hash():
    too_long = "x" * 257
    assert passwords.verify(CHEAP.hash(too_long), too_long) is False


def test_verify_accepts_a_matching_password_of_exactly_256_characters():
    longest = "x" * 256
    assert passwords.verify(CHEAP.hash(longest), longest) is True


def test_verify_is_false_for_a_password_that_cannot_be_encoded(default_hash):
    assert passwords.verify(default_hash, "plain tulip \ud800 orbit") is False


@pytest.mark.parametrize(
    "garbage",
    [
        "not a hash",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$",
        "$argon2id$v=19$m=65536,t=3,p=4$$",
        "$2b$12$abcdefghijklmnopqrstuu5x6Qb0mQ1TJrM4wS7hG2h6oT0Uu2yXe",  # bcrypt
        "$argon2id$ünïcödé",
    ],
)
def test_verify_is_false_for_a_garbage_hash(garbage):
    assert passwords.verify(garbage, PASSPHRASE) is False


def test_verify_is_false_for_a_hash_of_another_password():
    assert passwords.verify(CHEAP.hash("another long passphrase"), PASSPHRASE) is False


def test_verify_is_false_without_a_stored_hash_even_for_the_dummy_password():
    # With no stored hash, verify checks against an internal dummy hash (equal work for an
    # unknown email); typing the dummy's own password must not log anyone in.
    dummy_password = "dummy password for timing equality"
    assert passwords.verify(None, dummy_password) is False
    assert passwords.verify("", dummy_password) is False
