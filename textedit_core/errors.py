"""Domain errors. Pages turn each into a friendly message; the message text is user-facing.

A message is translated when the error is raised, into the language of the run that caused it
(textedit_core.i18n): a class's default text is marked with `N_` where defined and `_()` translates it
in `__init__`; a message passed in is translated by whoever raises.
"""

from __future__ import annotations

import math

from textedit_core.i18n import N_, _, ngettext


class DomainError(Exception):
    """Base: `str(error)` is safe and meant to be shown to the user."""


class ValidationError(DomainError):
    """Bad input; nothing was changed."""


class EmailTaken(ValidationError):
    pass


class AdminEmailTaken(EmailTaken):
    """An admin was asked for on an address that a non-admin account already holds."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(
            _(
                "An account with the email {email} already exists and is not an admin. "
                "Registration is open and emails are not verified, so whoever registered it could "
                "be anybody.",
                email=email,
            )
        )


class NotFound(DomainError):
    """The thing asked for does not exist, or belongs to someone else (the two read alike)."""


class WrongCurrentPassword(ValidationError):
    """Counted by the login throttle like a failed login."""


class _DefaultMessage(DomainError):
    """An error with a default text of its own (`message`), translated when raised."""

    message: str

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _(self.message))


class AuthenticationFailed(_DefaultMessage):
    """Login or token failure. One generic text, whatever the cause."""

    message = N_("Wrong email or password.")


class NotAuthorized(_DefaultMessage):
    message = N_("You do not have access to this.")


ACCOUNT_BLOCKED = N_("This account is blocked. Contact an administrator.")  # raise it translated: _()


class AccountBlocked(NotAuthorized):
    message = ACCOUNT_BLOCKED


ACCOUNT_PENDING = N_("This account is waiting for an administrator's approval.")  # raise it translated


class AccountPending(AccountBlocked):
    """Signed up under TEXTEDIT_SIGNUP=approval and not approved yet (stored blocked meanwhile)."""

    message = ACCOUNT_PENDING


class InsufficientBalance(_DefaultMessage):
    message = N_("Your balance is 0 tokens. Top up in the wallet.")


class ModelError(DomainError):
    """The model call failed; the charge for it has been refunded."""


class ModelUnavailable(ModelError):
    pass


class ModelNotInstalled(ModelError):
    pass


class ModelBusy(ModelError):
    pass


class QueueFull(ModelBusy):
    """Every host's slots are taken and the wait queue is full: refused before any charge."""


class ModelTimeout(ModelError):
    pass


class ModelBrokenAnswer(ModelError):
    pass


class AnswerRefused(ModelBrokenAnswer):
    """The model answered, but the answer guard (editing.guard) found it is not an edit of the
    text: it is not delivered and its token goes back."""

    message = N_("The model's answer did not look like an edit of your text.")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _(self.message))


class AnswerEmpty(AnswerRefused):
    message = N_("The model returned an empty answer.")


class AnswerEchoedInstructions(AnswerRefused):
    message = N_("The model repeated its instructions instead of editing your text.")


class AnswerWrongLanguage(AnswerRefused):
    message = N_("The model answered in a different language from your text.")


class AnswerNotShorter(AnswerRefused):
    message = N_("The model could not make this text shorter.")


class AnswerNotAnEdit(AnswerRefused):
    pass


class ChargeExpired(ModelError):
    """The reconciler refunded the charge while its answer was still streaming: the call is
    stopped and its answer not shown, since it was not paid for."""


class LoginThrottled(AuthenticationFailed):
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        if wait_seconds < 60:
            message = ngettext(
                "Too many failed attempts. Try again in {n} second.",
                "Too many failed attempts. Try again in {n} seconds.",
                wait_seconds,
            )
        else:
            # Whole minutes, rounded up: never a time at which the lock still holds.
            message = ngettext(
                "Too many failed attempts. Try again in {n} minute.",
                "Too many failed attempts. Try again in {n} minutes.",
                math.ceil(wait_seconds / 60),
            )
        super().__init__(message)


class ServerBusy(_DefaultMessage):
    """Every slot for slow work (Argon2) stayed taken for the whole wait; nothing was done."""

    message = N_("The server is busy; try again in a moment.")


class SignupThrottled(DomainError):
    """Too many sign-ups from one client address, or from everyone, within the window; refused
    before the password is hashed, and nothing is written."""

    def __init__(self, wait_seconds: int, *, everyone: bool) -> None:
        self.wait_seconds = wait_seconds
        self.everyone = everyone
        # Whole minutes, rounded up, from a minute on: never a time at which the limit still holds.
        minutes = math.ceil(wait_seconds / 60)
        if everyone and wait_seconds < 60:
            message = ngettext(
                "Too many accounts are being created right now. Try again in {n} second.",
                "Too many accounts are being created right now. Try again in {n} seconds.",
                wait_seconds,
            )
        elif everyone:
            message = ngettext(
                "Too many accounts are being created right now. Try again in {n} minute.",
                "Too many accounts are being created right now. Try again in {n} minutes.",
                minutes,
            )
        elif wait_seconds < 60:
            message = ngettext(
                "Too many accounts were created from your network. Try again in {n} second.",
                "Too many accounts were created from your network. Try again in {n} seconds.",
                wait_seconds,
            )
        else:
            message = ngettext(
                "Too many accounts were created from your network. Try again in {n} minute.",
                "Too many accounts were created from your network. Try again in {n} minutes.",
                minutes,
            )
        super().__init__(message)
