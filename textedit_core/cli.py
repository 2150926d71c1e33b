"""Command line: python -m textedit_core <command>."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping
from datetime import date

from pydantic import ValidationError as SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from textedit_core import i18n
from textedit_core.billing import ledger as billing
from textedit_core.editing import history
from textedit_core.errors import AdminEmailTaken, DomainError, ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.identity import accounts
from textedit_core.infra import migrate
from textedit_core.infra.config import Settings, load_settings
from textedit_core.infra.db import Database
from textedit_core.reports import exports, transactions

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3

EXIT_CODES = f"""exit codes:
  {EXIT_OK}  done (check-ledger: every balance equals its ledger)
  {EXIT_MISMATCH}  check-ledger found a mismatch
  {EXIT_USAGE}  wrong usage, invalid setting or refused input: nothing was changed
  {EXIT_DATABASE}  the database cannot be reached, opened or used"""


class DatabaseUnavailable(Exception):
    """The database could not be opened; the message names it."""


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _open(url: str) -> Database:
    try:
        return Database(url)
    except (ArgumentError, ImportError) as error:  # not a URL, or its driver is not installed
        raise ValidationError(_("invalid setting: TEXTEDIT_DATABASE_URL: {reason}", reason=error)) from None
    except OSError as error:  # the SQLite file's folder cannot be created
        raise DatabaseUnavailable(
            _(
                "cannot open the database {url}: cannot create the folder {folder}: {reason}",
                url=_shown_url(url),
                folder=error.filename,
                reason=error.strerror,
            )
        ) from None


def _db() -> Database:
    return _open(load_settings().database_url)


def cmd_migrate(_args) -> int:
    migrate.upgrade(_db())
    print(_("database is at the newest schema"))
    return EXIT_OK


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(_("Password: "))
    if getpass.getpass(_("Repeat password: ")) != first:
        raise DomainError(_("The passwords do not match."))
    return first


def cmd_create_admin(args) -> int:
    db = _db()
    migrate.upgrade(db)
    with db.read() as session:
        exists = accounts.find_user_by_email(session, args.email) is not None
    # An existing account keeps its own password: none is asked for.
    password = None if exists else _read_password(args)
    try:
        user, outcome = db.run(
            lambda s: accounts.create_admin(s, args.email, password, promote_existing=args.promote_existing)
        )
    except AdminEmailTaken as error:
        raise ValidationError(
            _(
                "{refusal} To make that account an admin deliberately (it keeps its own password), "
                "run again with --promote-existing.",
                refusal=error,
            )
        ) from None
    if outcome is accounts.AdminOutcome.ALREADY_ADMIN:
        print(_("{email} is already admin: nothing changed", email=user.email))
    elif outcome is accounts.AdminOutcome.PROMOTED:
        print(_("promoted admin {email}", email=user.email))
    else:
        print(_("created admin {email}", email=user.email))
    return EXIT_OK


def cmd_reconcile(args) -> int:
    settings = load_settings()
    db = _open(settings.database_url)
    older = args.older_than if args.older_than is not None else settings.stale_charge_seconds
    refunded = db.run(lambda s: billing.reconcile(s, older))
    print(
        ngettext(
            "refunded {n} pending charge whose worker died",
            "refunded {n} pending charges whose worker died",
            refunded,
        )
    )
    return EXIT_OK


def cmd_prune_history(_args) -> int:
    settings = load_settings()
    db = _open(settings.database_url)
    pruned = db.run(lambda s: history.prune(s, settings.history_days))
    print(
        ngettext(
            "deleted {n} history entry older than {days} days",
            "deleted {n} history entries older than {days} days",
            pruned,
            days=settings.history_days,
        )
    )
    return EXIT_OK


def cmd_check_ledger(_args) -> int:
    with _db().read() as session:
        mismatches = billing.ledger_mismatches(session)
    for m in mismatches:
        print(
            _(
                "user {id} {email}: balance {balance} != ledger sum {ledger_sum}",
                id=m.user_id,
                email=m.email,
                balance=m.balance,
                ledger_sum=m.ledger_sum,
            )
        )
    if mismatches:
        print(ngettext("{n} mismatch", "{n} mismatches", len(mismatches)))
        return EXIT_MISMATCH
    print(_("ledger OK: every balance equals the sum of its ledger entries"))
    return EXIT_OK


def cmd_seed_demo(args) -> int:
    from textedit_core.demo import seed

    settings = load_settings()
    seed.check_allowed(settings)  # before anything opens, creates or migrates a database
    db = _open(settings.database_url)
    migrate.upgrade(db)
    print(seed.report(seed.seed(db, settings), settings, args.port))
    return EXIT_OK


def _day(text: str) -> str:
    """A strict YYYY-MM-DD (the export route also takes 20261129): refused by argparse."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.isoformat() != text:
        raise argparse.ArgumentTypeError(_("'{text}' is not a date: use YYYY-MM-DD", text=text))
    return text


def cmd_export_transactions(args) -> int:
    # The filter options are named as the export route's query parameters.
    options = vars(args)
    flt = transactions.TxFilter.from_query_params(
        {name: options[name] for name in transactions.TxFilter.QUERY_PARAMS}
    )
    try:
        rows = exports.export_transactions(_db(), None, flt, args.format, args.out)
    except OSError as error:
        reason = error.strerror or error
        print(_("error: cannot write {file}: {reason}", file=args.out, reason=reason), file=sys.stderr)
        return EXIT_USAGE
    print(ngettext("exported {n} row to {file}", "exported {n} rows to {file}", rows, file=args.out))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m textedit_core",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    admin = sub.add_parser("create-admin", help="create an admin (promote an existing account only if asked)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    admin.add_argument(
        "--promote-existing",
        action="store_true",
        help="if an account with this email exists, make it admin; it keeps its own password. "
        "Registration is open and emails are unverified: be sure the account is yours",
    )
    admin.set_defaults(func=cmd_create_admin)
    rec = sub.add_parser("reconcile", help="refund charges left pending by a crash (their lease ran out)")
    rec.add_argument(
        "--older-than",
        type=float,
        default=None,
        metavar="SECONDS",
        help="for charges from before leases (migration 0004): refund those older than this",
    )
    rec.set_defaults(func=cmd_reconcile)
    sub.add_parser(
        "prune-history", help="delete edit history older than TEXTEDIT_HISTORY_DAYS (also done at start)"
    ).set_defaults(func=cmd_prune_history)
    sub.add_parser("check-ledger", help="verify balances against the ledger").set_defaults(
        func=cmd_check_ledger
    )
    demo = sub.add_parser(
        "seed-demo", help="fill the demo database (TEXTEDIT_DEMO_MODE=true) with sample data"
    )
    demo.add_argument(
        "--port", type=int, default=8501, help="the port the app will listen on, for the address printed"
    )
    demo.set_defaults(func=cmd_seed_demo)
    exp = sub.add_parser("export-transactions", help="export the ledger as CSV or XLSX (audited)")
    exp.add_argument("--format", required=True, choices=exports.FORMATS)
    exp.add_argument("--from", type=_day, metavar="YYYY-MM-DD")
    exp.add_argument("--to", type=_day, metavar="YYYY-MM-DD")
    exp.add_argument("--user", metavar="EMAIL")
    for option, choices in (("--kind", transactions.KINDS), ("--status", transactions.STATUSES)):
        exp.add_argument(
            option,
            nargs="+",
            action="extend",
            default=[],
            choices=choices,
            metavar=option[2:].upper(),
            help=f"any of: {', '.join(choices)}",
        )
    exp.add_argument("--currency", nargs="+", action="extend", default=[], type=str.upper)
    exp.add_argument("--out", required=True, metavar="FILE")
    exp.set_defaults(func=cmd_export_transactions)
    return parser


def _settings_problem(error: SettingsError) -> str:
    """One line per invalid setting, named as it is set; the rejected value is not repeated
    (it may be a secret)."""
    problems = []
    for item in error.errors():
        name = f"{Settings.model_config['env_prefix']}{item['loc'][0]}".upper()
        message = item["msg"].removeprefix("Value error, ")
        problems.append(message if name in message else f"{name}: {message}")
    return _("invalid setting: {problems}", problems="; ".join(problems))


def _database_problem(error: DBAPIError) -> str:
    reason = str(error.orig).strip().partition("\n")[0]
    # Settings loaded before the database was opened, so they load again here.
    return _(
        "cannot use the database {url}: {reason}", url=_shown_url(load_settings().database_url), reason=reason
    )


def language_of(environ: Mapping[str, str]) -> str:
    """The language the environment asks for, read as gettext reads it: the first of LANGUAGE
    (a list: "ru:en"), LC_ALL, LC_MESSAGES and LANG that is set ("ru_RU.UTF-8" -> ru; "C" -> en)."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if value := environ.get(name):
            tags = [tag.partition(".")[0].partition("@")[0] for tag in value.split(":")]
            return i18n.best_language(",".join(tags))
    return i18n.DEFAULT_LANGUAGE


def main(argv: list[str] | None = None) -> int:
    # The operator's messages in the environment's language (English unless it asks for Russian);
    # files written (exports) take their headers from it too, their times stay UTC ISO 8601.
    with i18n.language(language_of(os.environ)):
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as error:
        problem, code = _settings_problem(error), EXIT_USAGE
    except DomainError as error:
        problem, code = str(error), EXIT_USAGE
    except DatabaseUnavailable as error:
        problem, code = str(error), EXIT_DATABASE
    except DBAPIError as error:
        problem, code = _database_problem(error), EXIT_DATABASE
    print(_("error: {problem}", problem=problem), file=sys.stderr)
    return code
