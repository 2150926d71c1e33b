from textedit_core.billing import ledger


def test_fresh_database_has_the_default_rate(db):
    with db.read() as session:
        rate = ledger.current_rate(session)
    assert rate.currency == "USD"
    assert str(rate.rate) == "0.1"
