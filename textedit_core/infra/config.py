"""Typed settings read from the environment and `.env` (prefix TEXTEDIT_)."""

from __future__ import annotations

import enum
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from textedit_core.i18n import _


@dataclass(frozen=True)
class Lifetimes:
    """How long a signed-in device session lasts (from the settings below)."""

    absolute: timedelta  # a login lasts at most this long
    idle: timedelta  # ... and ends earlier after this long without use


MIN_SECRET_BYTES = 32
SECRET_FILE_NAME = "jwt_secret"
# The defaults of password_hash_slots and _wait_seconds, which also size the cap on Argon2 work
# (identity.passwords) before bootstrap applies the settings.
PASSWORD_HASH_SLOTS = 2
PASSWORD_HASH_WAIT_SECONDS = 10.0


def _default_ollama_host() -> str:
    return os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434"


def parse_host_urls(raw: str) -> tuple[str, ...]:
    """TEXTEDIT_OLLAMA_HOSTS: comma-separated http(s) URLs, each with a host (a port and a path
    prefix are optional), without a trailing slash; ValueError naming the first bad one."""
    urls: list[str] = []
    for item in raw.split(","):
        given = item.strip()
        url = given.rstrip("/")
        if not url:
            continue
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port that is not a number from 0 to 65535
            valid = False
        if not valid or parts.query or parts.fragment or parts.username is not None:
            raise ValueError(
                _(
                    "TEXTEDIT_OLLAMA_HOSTS: “{url}” is not an Ollama address; give comma-separated "
                    "URLs such as http://10.0.0.5:11434,http://10.0.0.6:11434",
                    url=given,
                )
            )
        if url in urls:
            raise ValueError(_("TEXTEDIT_OLLAMA_HOSTS names {url} twice", url=url))
        urls.append(url)
    if not urls:
        raise ValueError(
            _(
                "TEXTEDIT_OLLAMA_HOSTS is empty; give comma-separated URLs, or unset it to use "
                "TEXTEDIT_OLLAMA_HOST"
            )
        )
    return tuple(urls)


class SignupPolicy(str, enum.Enum):
    """Who may create an account on the login page (TEXTEDIT_SIGNUP)."""

    OPEN = "open"  # anyone who reaches the app
    DOMAINS = "domains"  # addresses at one of TEXTEDIT_SIGNUP_DOMAINS only
    APPROVAL = "approval"  # anyone, but the account waits until an admin approves it
    CLOSED = "closed"  # nobody: admins create accounts on the Users page


def parse_signup_domains(raw: str) -> tuple[str, ...]:
    """TEXTEDIT_SIGNUP_DOMAINS: comma-separated mail domains (a leading "@" is allowed), each
    normalised as a sign-up address's domain is (lower case, IDNA in Unicode form); ValueError
    naming the first one that is not a mail domain."""
    domains: list[str] = []
    for item in raw.split(","):
        given = item.strip()
        if not given.removeprefix("@"):
            continue
        try:
            domain = validate_email(
                f"postmaster@{given.removeprefix('@')}", check_deliverability=False
            ).domain
        except EmailNotValidError:
            raise ValueError(
                _(
                    "TEXTEDIT_SIGNUP_DOMAINS: “{domain}” is not a mail domain; give comma-separated "
                    "domains such as example.com,example.org",
                    domain=given,
                )
            ) from None
        if domain not in domains:
            domains.append(domain)
    return tuple(domains)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEXTEDIT_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Path("data")
    database_url: str = "sqlite:///data/textedit.db"
    ollama_host: str = Field(default_factory=_default_ollama_host)
    # Several Ollama servers, comma-separated: each edit goes to a healthy one and moves on to
    # the next when one is down or busy. Unset: ollama_host alone, a pool of one.
    ollama_hosts: str | None = None
    # A host that failed this many calls in a row is skipped for the cooldown, then probed back.
    ollama_failures_before_cooldown: int = Field(default=3, ge=1, le=1000)
    ollama_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How often each app process checks every host (version, loaded and installed models).
    ollama_health_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Model calls each host runs at once (Ollama's OLLAMA_NUM_PARALLEL, 1 by default); more
    # requests wait in the queue shared by every app process (editing.queue).
    ollama_parallel: int = Field(default=1, ge=1, le=64)
    # At most this many requests wait; one more is told the model is busy, and is not charged.
    queue_max_waiting: int = Field(default=20, ge=0, le=10_000)
    # A request that waited this long for a slot is given up, its token returned.
    queue_wait_seconds: float = Field(default=120.0, gt=0, le=3600)
    model: str = "qwen2.5:3b"
    # Read timeout per model call; a stream must also finish within it.
    ollama_timeout: float = Field(default=120.0, gt=0, le=3600)
    ollama_connect_timeout: float = Field(default=3.0, gt=0, le=60)
    # How often each app process refunds the charges of model calls whose worker died.
    reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    # 6,000 characters of Cyrillic is about 2,400 tokens: with the prompt and an answer of the
    # same size it stays inside num_ctx below.
    max_input_chars: int = Field(default=6000, ge=1, le=100_000)
    num_ctx: int = Field(default=8192, ge=512, le=131_072)
    jwt_secret: str | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A login lasts at most this long, and ends sooner after this long without use.
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    session_idle_hours: int = Field(default=72, ge=1, le=24 * 365)
    # Mark the session cookie Secure. Also set automatically for requests that arrived over HTTPS.
    cookie_secure: bool = False
    # Who may sign up: open, domains, approval or closed (SignupPolicy).
    signup: SignupPolicy = SignupPolicy.OPEN
    # For signup=domains: the domains whose addresses may sign up, comma-separated; an address
    # matches only its exact domain (not a subdomain). Kept as text, normalised.
    signup_domains: str = ""
    # The older switch: false is signup=closed (see signup_policy).
    allow_registration: bool = True
    # Free tokens a new account starts with (a ledger row of kind "grant"); 0: none.
    signup_tokens: int = Field(default=10, ge=0, le=1_000_000)
    # Sign-ups are counted before their password is hashed: at most this many per client address
    # and hour, and this many per minute from all addresses together; one more is told when to
    # try again, and nothing is written.
    signups_per_address_per_hour: int = Field(default=10, ge=1, le=1_000_000)
    signups_per_minute: int = Field(default=20, ge=1, le=1_000_000)
    # Argon2id computations (every password hash and check) running at once in a process, 64 MiB
    # each; the others wait up to the seconds below, then are told the server is busy.
    password_hash_slots: int = Field(default=PASSWORD_HASH_SLOTS, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=PASSWORD_HASH_WAIT_SECONDS, gt=0, le=600)
    # Edit history older than this many days is pruned (and never shown).
    history_days: int = Field(default=90, ge=1, le=3650)
    # The shared result cache (editing.cache): an answer is reused for this many hours after it
    # was made (0: no cache at all), and at most this many answers are kept (the oldest go).
    cache_ttl_hours: int = Field(default=168, ge=0, le=24 * 3650)
    cache_max_entries: int = Field(default=10_000, ge=1, le=10_000_000)
    # How many reverse proxies stand in front of the app, each appending the address it saw to
    # the header below: the client is that many entries from its right. 0: the header is ignored
    # (anyone could write it) and the connection's address is the client's.
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    client_ip_header: str = "X-Forwarded-For"
    # What one open page may send on its websocket (infra.connlimits): a burst of messages, then
    # this many a second (each may run the whole page); a message past that waits its turn, and
    # a page held back this many times in a row is disconnected. A message larger than the KiB
    # below closes the connection (the editor's longest legal text is a few dozen KiB).
    stream_burst: int = Field(default=30, ge=1, le=100_000)
    stream_messages_per_second: float = Field(default=5.0, gt=0, le=10_000)
    stream_held_back_limit: int = Field(default=20, ge=1, le=1_000_000)
    stream_max_message_kib: int = Field(default=1024, ge=16, le=25_000)
    # Pages open at once from one client address (a browser tab each); one more is refused.
    sessions_per_address: int = Field(default=50, ge=1, le=100_000)
    # Demo database for presenters (`make demo`): the editor offers sample texts.
    demo_mode: bool = False
    admin_email: str | None = None
    admin_password: str | None = None
    # Optional mail server: when a host is set, password-reset codes are also emailed to the user.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    # Upgrade the connection with STARTTLS before logging in; off only for a local relay.
    smtp_starttls: bool = True
    # Set: /metrics answers only requests with "Authorization: Bearer <token>". Unset: only
    # requests from this machine itself.
    metrics_token: str | None = None

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                _(
                    "TEXTEDIT_JWT_SECRET must be at least {n} bytes; generate one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                    n=MIN_SECRET_BYTES,
                )
            )
        return value

    @field_validator("ollama_hosts")
    @classmethod
    def _hosts_are_urls(cls, value: str | None) -> str | None:
        # Kept as text (a list would be read from the environment as JSON), normalised.
        return None if value is None else ",".join(parse_host_urls(value))

    @field_validator("signup_domains")
    @classmethod
    def _domains_are_domains(cls, value: str) -> str:
        return ",".join(parse_signup_domains(value))

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                _(
                    "TEXTEDIT_METRICS_TOKEN must be at least {n} bytes; generate one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                    n=MIN_SECRET_BYTES,
                )
            )
        return value

    @model_validator(mode="after")
    def _header_needs_proxies(self) -> Settings:
        # The header used to be trusted on its own; silently ignoring it now would put every
        # client behind the proxy under one throttling key.
        if "client_ip_header" in self.model_fields_set and self.trusted_proxies == 0:
            raise ValueError(
                _(
                    "TEXTEDIT_CLIENT_IP_HEADER is read only behind trusted proxies: set "
                    "TEXTEDIT_TRUSTED_PROXIES to the number of reverse proxies in front of the app "
                    "(or unset TEXTEDIT_CLIENT_IP_HEADER)"
                )
            )
        return self

    @model_validator(mode="after")
    def _signup_is_consistent(self) -> Settings:
        if (
            not self.allow_registration
            and "signup" in self.model_fields_set
            and self.signup != SignupPolicy.CLOSED
        ):
            raise ValueError(
                _(
                    "TEXTEDIT_ALLOW_REGISTRATION=false closes sign-up, but TEXTEDIT_SIGNUP is {policy}: "
                    "unset TEXTEDIT_ALLOW_REGISTRATION (TEXTEDIT_SIGNUP replaces it)",
                    policy=self.signup.value,
                )
            )
        if self.signup_policy == SignupPolicy.DOMAINS and not self.signup_domains:
            raise ValueError(
                _(
                    "TEXTEDIT_SIGNUP=domains needs TEXTEDIT_SIGNUP_DOMAINS, the domains whose addresses "
                    "may sign up (such as example.com)"
                )
            )
        return self

    @model_validator(mode="after")
    def _smtp_needs_sender(self) -> Settings:
        if self.smtp_host and not self.smtp_from:
            raise ValueError(
                _("TEXTEDIT_SMTP_HOST needs TEXTEDIT_SMTP_FROM, the address emails are sent from")
            )
        return self

    @property
    def lifetimes(self) -> Lifetimes:
        return Lifetimes(
            absolute=timedelta(days=self.refresh_token_days),
            idle=timedelta(hours=self.session_idle_hours),
        )

    @property
    def signup_policy(self) -> SignupPolicy:
        """TEXTEDIT_SIGNUP, or closed when the older TEXTEDIT_ALLOW_REGISTRATION is false."""
        return self.signup if self.allow_registration else SignupPolicy.CLOSED

    @property
    def signup_domain_names(self) -> tuple[str, ...]:
        """The domains of TEXTEDIT_SIGNUP_DOMAINS, normalised (empty when unset)."""
        return tuple(self.signup_domains.split(",")) if self.signup_domains else ()

    @property
    def ollama_host_urls(self) -> tuple[str, ...]:
        """The Ollama servers edits go to: TEXTEDIT_OLLAMA_HOSTS, else the one host."""
        return parse_host_urls(self.ollama_hosts) if self.ollama_hosts else (self.ollama_host,)

    @property
    def stale_charge_seconds(self) -> float:
        """A pending charge from before charge leases (migration 0004) older than this cannot
        belong to a live model call."""
        return self.ollama_timeout + 60


_ENV_FILE = Path(".env")
_loaded: dict[tuple, Settings] = {}


def _sources() -> tuple:
    """What the settings are read from: the environment's TEXTEDIT_ and OLLAMA_ variables and
    the .env file's identity and change time."""
    try:
        stat = _ENV_FILE.stat()
        env_file: tuple = (str(_ENV_FILE.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        env_file = ()
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("TEXTEDIT_", "OLLAMA_"))))
    return variables, env_file


def load_settings() -> Settings:
    """The settings from the environment and `.env`, parsed again only when those change: a page
    asks for them several times per run, and parsing takes milliseconds each time."""
    key = _sources()
    settings = _loaded.get(key)
    if settings is None:
        settings = Settings()
        _loaded.clear()  # one entry: the environment rarely changes in a running process
        _loaded[key] = settings
    return settings


def resolve_jwt_secret(settings: Settings) -> bytes:
    """The configured secret, or one generated once and kept in the data folder (0600)."""
    if settings.jwt_secret:
        return settings.jwt_secret.encode()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = settings.data_dir / SECRET_FILE_NAME
    if not path.exists():
        # Write a private temp file, then link it in place: another process either wins the
        # link or reads a complete file, never a half-written one.
        tmp = path.with_name(f".{SECRET_FILE_NAME}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_urlsafe(48).encode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise RuntimeError(_("{path} holds a secret shorter than {n} bytes", path=path, n=MIN_SECRET_BYTES))
    return secret
