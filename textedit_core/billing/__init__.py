"""Billing: the token ledger, money and rates, and the reconciler that ends abandoned charges.

Modules: `ledger` (every write to a balance: top-ups, charges, settles, refunds, adjustments,
sign-up grants, rates), `money` (parsing and formatting of amounts, rates and currency codes),
`reconciler` (the periodic refund of charges whose worker died), `txlabels` (a ledger row's
kind and status in the words its owner reads).

Design overview
---------------
The ledger is the `transactions` table; `users.balance` is a cached sum of it. Rules:

1. Every change of a balance is one ledger row in the same database transaction as the change:
   `topup` (+tokens, with the amount, currency and rate it used), `charge` (-1), `refund` (+1,
   pointing at its charge), `adjustment` (+/- tokens by an admin, with a reason), `grant` (+the
   free tokens of a new account, no money). Rows are never deleted; a correction is a new row.
   `check-ledger` proves balance == sum(tokens) per user.
2. Balances change only by conditional SQL (`UPDATE ... WHERE balance >= 1`,
   `WHERE balance + n >= 0`, `AND NOT is_blocked`), never read-modify-write in Python, so
   concurrent requests cannot overdraw. Tokens are integers; money is `Decimal`, stored exactly.
3. A charge is written `pending` before the model is called, with a lease its worker renews.
   It ends exactly once: `settle` (success) or `refund` (a conditional status change plus a
   refund row unique per charge). The reconciler refunds pending charges whose lease ran out.
4. A top-up credits exactly the preview the user confirmed (amount, rate row, tokens), once per
   idempotency key; a preview made at an older rate credits nothing.
5. Functions here take the caller's session and never commit: the caller's transaction makes a
   change and its ledger row land together or not at all.
"""
