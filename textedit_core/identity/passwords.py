"""Password policy (length, not composition) and Argon2id hashing."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from textedit_core.errors import ServerBusy, ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.infra.config import PASSWORD_HASH_SLOTS, PASSWORD_HASH_WAIT_SECONDS
from textedit_core.infra.text_input import check_characters

MIN_LENGTH = 12
MAX_LENGTH = 256
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

# argon2-cffi's defaults are RFC 9106's low-memory profile (t=3, m=64 MiB, p=4).
HASHER = PasswordHasher()


class WorkLimiter:
    """At most `size` callers inside `slot()` at once; the others wait their turn, each for at
    most `wait_seconds`, and are then refused with ServerBusy (having done nothing)."""

    def __init__(self, size: int, wait_seconds: float) -> None:
        self._free = threading.Condition()
        self.size = size
        self.wait_seconds = wait_seconds
        # How many callers are inside and how many wait, and how many ever got in, for whoever
        # watches the load.
        self.running = 0
        self.waiting = 0
        self.entered = 0

    def configure(self, size: int, wait_seconds: float) -> None:
        """Resize the cap (the process's settings); callers inside keep their slots."""
        with self._free:
            self.size, self.wait_seconds = size, wait_seconds
            self._free.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._free:
            self.waiting += 1
            try:
                if not self._free.wait_for(lambda: self.running < self.size, self.wait_seconds):
                    raise ServerBusy()
            finally:
                self.waiting -= 1
            self.running += 1
            self.entered += 1
        try:
            yield
        finally:
            with self._free:
                self.running -= 1
                self._free.notify()


# Each hash or verify allocates 64 MiB: unbounded, 32 sign-ups at once added ~860 MB to the
# process (bench/signup_flood.py). Two at once hold 128 MiB and still keep two cores busy (a hash
# runs its 4 lanes on threads); the rest queue (~0.1-0.2 s each). bootstrap.start sizes it from
# TEXTEDIT_PASSWORD_HASH_SLOTS and TEXTEDIT_PASSWORD_HASH_WAIT_SECONDS.
ARGON2_SLOTS = WorkLimiter(PASSWORD_HASH_SLOTS, PASSWORD_HASH_WAIT_SECONDS)


def normalize(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _encodable(text: str) -> bool:
    """False for text Argon2 cannot take, such as a lone surrogate (not valid UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_policy(password: str, email: str) -> str:
    """Return the normalised password, or raise ValidationError saying what to change."""
    check_characters(password, N_("Password"))
    if len(password) > MAX_LENGTH:
        raise ValidationError(
            ngettext(
                "Password is too long: at most {n} character.",
                "Password is too long: at most {n} characters.",
                MAX_LENGTH,
            )
        )
    normalized = normalize(password)
    if not _encodable(normalized):
        raise ValidationError(_("Password contains characters that cannot be used. Retype it."))
    if len(normalized) < MIN_LENGTH:
        raise ValidationError(
            ngettext(
                "Password is too short: use at least {n} character. "
                "A few unrelated words make a strong, memorable passphrase.",
                "Password is too short: use at least {n} characters. "
                "A few unrelated words make a strong, memorable passphrase.",
                MIN_LENGTH,
            )
        )
    lowered = normalized.casefold()
    # NFKC as the password is, so a full-width address is still found in the password.
    email_key = normalize(email.strip()).casefold()
    local_part = email_key.split("@", 1)[0]
    if email_key and (email_key in lowered or (len(local_part) >= 4 and local_part in lowered)):
        raise ValidationError(_("Password must not contain your email address."))
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        raise ValidationError(_("This password is too common. Choose another one."))
    return normalized


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    with ARGON2_SLOTS.slot():
        return hasher.hash(normalize(password))


# Verified against when the email is unknown, so both failures cost the same work.
with ARGON2_SLOTS.slot():
    _DUMMY_HASH = HASHER.hash("dummy password for timing equality")


def verify(stored_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        # An empty hash counts as missing: it must not fall through to the dummy and match it.
        with ARGON2_SLOTS.slot():
            matches = HASHER.verify(stored_hash or _DUMMY_HASH, normalize(password))
        return matches and bool(stored_hash)
    # UnicodeEncodeError: a non-ASCII hash, or a password argon2 cannot encode as UTF-8.
    except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
