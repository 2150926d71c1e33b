"""Email keys in NFKC + casefold (identity.accounts.email_key), so a compatibility look-alike
such as `Ｆiona.Case@Example.com` (full-width Ｆ) is the same account as `fiona.case@example.com`.

Accounts whose new keys coincide are look-alikes that registered apart under NFC. They are
found and reported (a warning naming their ids) and left as they are, never merged or deleted:
the key column stays unique, so one account of each group takes the shared key (the one already
stored under it, else the oldest) and the others keep their old key. Signing in with the
address then reaches that one account; an admin settles the others with their owners.

Revision ID: 0012
Revises: 0011
"""

import logging
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

log = logging.getLogger("textedit_core.infra.migrations")

KEY_LENGTH = 254  # users.email_key


# The keys as this revision defines them, not imported from identity.accounts: a later change to
# the app's key must not change what this migration did.
def nfkc_key(email: str) -> str:
    return unicodedata.normalize("NFKC", email).casefold()


def nfc_key(email: str) -> str:
    return email.casefold()  # stored addresses are NFC already (email_validator)


def rekey(key_of: Callable[[str], str]) -> None:
    """Store key_of(email) as every account's key, except where accounts would share one."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, email, email_key FROM users ORDER BY id")).all()
    old = {row.id: row.email_key for row in rows}
    groups: defaultdict[str, list[int]] = defaultdict(list)
    for row in rows:
        groups[key_of(row.email)].append(row.id)
    new: dict[int, str] = {}
    for key, ids in groups.items():
        holder = next((i for i in ids if old[i] == key), ids[0])
        new.update({i: key if i == holder and len(key) <= KEY_LENGTH else old[i] for i in ids})
    # Keys edited by hand may differ from what the app wrote: a new key that another account
    # still holds as its old one goes back to its own old key (old keys are unique).
    while clashing := {key for key, n in Counter(new.values()).items() if n > 1}:
        new.update({i: old[i] for i in new if new[i] in clashing and new[i] != old[i]})
    changed = {i: key for i, key in new.items() if key != old[i]}
    # Two steps through keys no address has (no "@"), so no row meets a key another row is
    # about to give up.
    update = sa.text("UPDATE users SET email_key = :key WHERE id = :id")
    if changed:
        bind.execute(update, [{"id": i, "key": f"0012-{i}"} for i in changed])
        bind.execute(update, [{"id": i, "key": key} for i, key in changed.items()])
    for key, ids in groups.items():
        apart = [i for i in ids if new[i] != key]
        if len(ids) > 1:
            log.warning(
                "look-alike emails: accounts %s now share an email key; nothing was merged or "
                "deleted. The address reaches account %s; the others (%s) keep their old key and "
                "cannot sign in with it until an admin settles them with their owners.",
                ", ".join(map(str, ids)),
                ", ".join(str(i) for i in ids if i not in apart) or "none",
                ", ".join(map(str, apart)),
            )
        elif apart:
            log.warning(
                "account %s keeps its old email key: the new one is too long or held by another account.",
                apart[0],
            )


def upgrade() -> None:
    rekey(nfkc_key)


def downgrade() -> None:
    rekey(nfc_key)
