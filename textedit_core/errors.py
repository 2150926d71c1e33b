"""Domain errors. Pages turn each into a friendly message; the message text is user-facing."""

from __future__ import annotations


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
            f"An account with the email {email} already exists and is not an admin. "
            "Registration is open and emails are not verified, so whoever registered it could "
            "be anybody."
        )


class WrongCurrentPassword(ValidationError):
    """Counted by the login throttle like a failed login."""


class AuthenticationFailed(DomainError):
    """Login or token failure. One generic text, whatever the cause."""

    def __init__(self, message: str = "Wrong email or password.") -> None:
        super().__init__(message)


class NotAuthorized(DomainError):
    def __init__(self, message: str = "You do not have access to this.") -> None:
        super().__init__(message)


ACCOUNT_BLOCKED = "This account is blocked. Contact an administrator."


class AccountBlocked(NotAuthorized):
    def __init__(self, message: str = ACCOUNT_BLOCKED) -> None:
        super().__init__(message)


class InsufficientBalance(DomainError):
    def __init__(self, message: str = "Your balance is 0 tokens. Top up in the wallet.") -> None:
        super().__init__(message)


class ModelError(DomainError):
    """The model call failed; the charge for it has been refunded."""


class ModelUnavailable(ModelError):
    pass


class ModelNotInstalled(ModelError):
    pass


class ModelBusy(ModelError):
    pass


class ModelTimeout(ModelError):
    pass


class ModelBrokenAnswer(ModelError):
    pass


class ChargeExpired(ModelError):
    """The reconciler refunded the charge while its answer was still streaming: the call is
    stopped and its answer not shown, since it was not paid for."""


class LoginThrottled(AuthenticationFailed):
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        minutes, seconds = divmod(wait_seconds, 60)
        wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} seconds"
        super().__init__(f"Too many failed attempts. Try again in {wait}.")
