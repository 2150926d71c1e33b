"""The Transactions page, the export route and the metrics route: search the ledger, export the
filtered set, the whole ledger's totals."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from textedit_core.context import Services
from textedit_core.errors import NotAuthorized
from textedit_core.i18n import N_, _
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.metrics import LedgerFigures
from textedit_core.infra.models import STAFF_ROLES
from textedit_core.infra.paging import Page
from textedit_core.reports import exports, transactions
from textedit_core.reports.transactions import TxFilter
from textedit_core.reports.txcolumns import RowValues
from textedit_core.usecases import signin
from textedit_core.usecases.common import read

EXPORT_REFUSED = N_("Log in as an admin to export transactions.")


@dataclass(frozen=True)
class Search:
    page: Page[RowValues]  # transactions.TxRow rows, newest first
    totals: transactions.Totals


def currencies(svc: Services, access_token: str | None) -> list[str]:
    """The currencies the page's filter offers (staff only)."""
    return read(svc, access_token, lambda session, _user: transactions.currencies(session), *STAFF_ROLES)


def search(
    svc: Services, access_token: str | None, flt: TxFilter, page: int = 1, page_size: int = 50
) -> Search:
    """One page of the filtered ledger and the totals of the whole filtered set (staff only)."""

    def work(session, user) -> Search:
        return Search(
            transactions.search(session, user.id, flt, page, page_size),
            transactions.totals(session, user.id, flt),
        )

    return read(svc, access_token, work, *STAFF_ROLES)


def ledger_figures(svc: Services) -> LedgerFigures:
    """Whole-ledger totals for serve.py's /metrics. No account is involved: the route checks
    its own access (the metrics token, or a request from this machine)."""
    with svc.db.read() as session:
        return transactions.ledger_figures(session)


def _admin_id(svc: Services, refresh_token: str) -> int:
    """The admin whose live refresh cookie this is; NotAuthorized(EXPORT_REFUSED) otherwise.
    The export itself checks the role again in its own transaction."""
    account = signin.peek(svc, refresh_token)
    if account is None or not account.is_admin:
        raise NotAuthorized(_(EXPORT_REFUSED))
    return account.id


@dataclass(frozen=True)
class CsvExport:
    filename: str
    chunks: Iterator[bytes]  # read from the database as they are consumed


def export_csv(svc: Services, refresh_token: str, params: Mapping[str, Any]) -> CsvExport:
    """The filtered ledger (query parameters, see TxFilter) as streamed CSV, audited before the
    first chunk. Raises NotAuthorized (not an admin) before ValidationError (bad parameters)."""
    admin_id = _admin_id(svc, refresh_token)
    flt = TxFilter.from_query_params(params)
    filename = exports.export_filename(flt, "csv", utcnow().date())
    return CsvExport(filename, exports.stream_csv(svc.db, admin_id, flt))


def export_xlsx(
    svc: Services, refresh_token: str, params: Mapping[str, Any], folder: str | os.PathLike
) -> str:
    """Write the filtered ledger as XLSX into `folder` (audited); returns the file's path."""
    admin_id = _admin_id(svc, refresh_token)
    flt = TxFilter.from_query_params(params)
    path = os.path.join(folder, exports.export_filename(flt, "xlsx", utcnow().date()))
    exports.export_transactions(svc.db, admin_id, flt, "xlsx", path)
    return path
