"""What the ledger holds for a benchmark's users after a run, read from its tables directly (not
through the functions under test), and whether it matches what the users saw."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction, TxKind, TxStatus, User


@dataclass(frozen=True)
class UserLedger:
    balance: int  # users.balance
    ledger_sum: int  # the sum of the user's ledger rows: what the balance must be
    settled: int  # charges paid (status success)
    refunded: int  # charges returned (status refunded)
    pending: int  # charges neither: none may be left once every request has ended
    refund_rows: int  # refund rows pointing at one of the user's charges
    stray_refunds: int  # refund rows pointing at a charge that is not marked refunded


@dataclass(frozen=True)
class Seen:
    """What one user's requests ended as, from the user's side."""

    start_balance: int
    answered: int
    refunded: int


def read(db: Database, user_ids: Iterable[int]) -> dict[int, UserLedger]:
    ids = list(user_ids)
    charge = aliased(Transaction)
    refund = aliased(Transaction)
    with db.read() as session:
        balances = dict(session.execute(select(User.id, User.balance).where(User.id.in_(ids))).tuples().all())
        sums = dict(
            session.execute(
                select(Transaction.user_id, func.coalesce(func.sum(Transaction.tokens), 0))
                .where(Transaction.user_id.in_(ids))
                .group_by(Transaction.user_id)
            )
            .tuples()
            .all()
        )
        charges: dict[tuple[int, str], int] = {
            (user_id, status): count
            for user_id, status, count in session.execute(
                select(Transaction.user_id, Transaction.status, func.count())
                .where(Transaction.user_id.in_(ids), Transaction.kind == TxKind.CHARGE.value)
                .group_by(Transaction.user_id, Transaction.status)
            )
            .tuples()
            .all()
        }
        refunds: dict[tuple[int, str], int] = {
            (user_id, status): count
            for user_id, status, count in session.execute(
                select(charge.user_id, charge.status, func.count())
                .select_from(refund)
                .join(charge, charge.id == refund.refund_of_id)
                .where(refund.kind == TxKind.REFUND.value, charge.user_id.in_(ids))
                .group_by(charge.user_id, charge.status)
            )
            .tuples()
            .all()
        }
    refunded = TxStatus.REFUNDED.value
    return {
        user_id: UserLedger(
            balance=balances[user_id],
            ledger_sum=int(sums.get(user_id, 0)),
            settled=charges.get((user_id, TxStatus.SUCCESS.value), 0),
            refunded=charges.get((user_id, refunded), 0),
            pending=charges.get((user_id, TxStatus.PENDING.value), 0),
            refund_rows=sum(n for (uid, _status), n in refunds.items() if uid == user_id),
            stray_refunds=sum(
                n for (uid, status), n in refunds.items() if uid == user_id and status != refunded
            ),
        )
        for user_id in ids
    }


@dataclass(frozen=True)
class Verdict:
    double_charges: int  # charge rows beyond one per charged request, refunds beyond one per charge
    unsettled: int  # requests whose charge is not settled xor refunded (pending, or counts apart)
    balances_exact: bool  # every balance = start - answered = the sum of its ledger rows

    @property
    def ok(self) -> bool:
        return self.double_charges == 0 and self.unsettled == 0 and self.balances_exact


def verdict(found: dict[int, UserLedger], seen: dict[int, Seen]) -> Verdict:
    """Each request that was charged has exactly one charge row, settled if it was answered and
    refunded (with exactly one refund row) if not; the balances add up."""
    double = unsettled = 0
    exact = True
    for user_id, mine in seen.items():
        row = found[user_id]
        charged = mine.answered + mine.refunded
        rows = row.settled + row.refunded + row.pending
        double += max(0, rows - charged) + max(0, row.refund_rows - row.refunded) + row.stray_refunds
        unsettled += (
            row.pending
            + abs(row.settled - mine.answered)
            + abs(row.refunded - mine.refunded)
            + max(0, row.refunded - row.refund_rows)
        )
        exact = exact and row.balance == mine.start_balance - mine.answered == row.ledger_sum
    return Verdict(double, unsettled, exact)
