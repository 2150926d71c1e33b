"""Command line: python -m textedit_core <command>."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

from . import auth, billing, exports, ledger, migrate
from .config import load_settings
from .db import Database
from .errors import DomainError


def _db() -> Database:
    return Database(load_settings().database_url)


def cmd_migrate(_args) -> int:
    migrate.upgrade(_db())
    print("database is at the newest schema")
    return 0


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise DomainError("The passwords do not match.")
    return first


def cmd_create_admin(args) -> int:
    db = _db()
    migrate.upgrade(db)
    with db.read() as session:
        exists = auth.find_user_by_email(session, args.email) is not None
    password = None if exists else _read_password(args)
    user, created = db.run(lambda s: auth.create_admin(s, args.email, password))
    print(f"{'created' if created else 'promoted'} admin {user.email}")
    return 0


def cmd_reconcile(args) -> int:
    settings = load_settings()
    db = Database(settings.database_url)
    older = args.older_than if args.older_than is not None else settings.stale_charge_seconds
    refunded = db.run(lambda s: billing.reconcile(s, older))
    print(f"refunded {refunded} pending charge(s) older than {older:g} s")
    return 0


def cmd_check_ledger(_args) -> int:
    with _db().read() as session:
        mismatches = billing.ledger_mismatches(session)
    for m in mismatches:
        print(f"user {m.user_id} {m.email}: balance {m.balance} != ledger sum {m.ledger_sum}")
    if mismatches:
        print(f"{len(mismatches)} mismatch(es)")
        return 1
    print("ledger OK: every balance equals the sum of its ledger entries")
    return 0


def cmd_seed_demo(_args) -> int:
    from . import demo

    settings = load_settings()
    demo.check_allowed(settings)  # before anything opens, creates or migrates a database
    db = Database(settings.database_url)
    migrate.upgrade(db)
    print(demo.report(demo.seed(db, settings), settings))
    return 0


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.isoformat() != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD")
    return day


def cmd_export_transactions(args) -> int:
    flt = ledger.TxFilter(
        date_from=args.date_from,
        date_to=args.date_to,
        user_email=args.user,
        kinds=tuple(args.kind),
        statuses=tuple(args.status),
        currencies=tuple(args.currency),
    )
    try:
        rows = exports.export_transactions(_db(), None, flt, args.format, args.out)
    except OSError as error:
        print(f"error: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"exported {rows} rows to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m textedit_core")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    admin = sub.add_parser("create-admin", help="create an admin or promote a user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    admin.set_defaults(func=cmd_create_admin)
    rec = sub.add_parser("reconcile", help="refund charges left pending by a crash")
    rec.add_argument("--older-than", type=float, default=None, metavar="SECONDS")
    rec.set_defaults(func=cmd_reconcile)
    sub.add_parser("check-ledger", help="verify balances against the ledger").set_defaults(
        func=cmd_check_ledger
    )
    sub.add_parser(
        "seed-demo", help="fill the demo database (TEXTEDIT_DEMO_MODE=true) with sample data"
    ).set_defaults(func=cmd_seed_demo)
    exp = sub.add_parser("export-transactions", help="export the ledger as CSV or XLSX (audited)")
    exp.add_argument("--format", required=True, choices=exports.FORMATS)
    exp.add_argument("--from", dest="date_from", type=_day, metavar="YYYY-MM-DD")
    exp.add_argument("--to", dest="date_to", type=_day, metavar="YYYY-MM-DD")
    exp.add_argument("--user", metavar="EMAIL")
    for option, choices in (("--kind", ledger.KINDS), ("--status", ledger.STATUSES)):
        exp.add_argument(
            option, nargs="+", action="extend", default=[], choices=choices,
            metavar=option[2:].upper(), help=f"any of: {', '.join(choices)}",
        )
    exp.add_argument("--currency", nargs="+", action="extend", default=[], type=str.upper)
    exp.add_argument("--out", required=True, metavar="FILE")
    exp.set_defaults(func=cmd_export_transactions)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
