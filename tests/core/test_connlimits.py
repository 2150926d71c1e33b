"""What one page's websocket may send (infra.connlimits): a burst, then a steady rate; messages
past it wait their turn; a page held back too often in a row is disconnected; pages per address."""

from __future__ import annotations

import threading

from textedit_core.infra.connlimits import MessageBudget, OpenConnections


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock, burst: int = 3, per_second: float = 2.0, held_back_limit: int = 4) -> MessageBudget:
    return MessageBudget(burst, per_second, held_back_limit, clock=clock)


def test_a_burst_goes_through_at_once():
    messages = budget(Clock())
    assert [messages.admit() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_message_past_the_burst_waits_for_the_rate():
    messages = budget(Clock())
    for _ in range(3):
        messages.admit()
    assert messages.admit() == 0.5


def test_each_held_back_message_waits_its_own_turn():
    clock = Clock()
    messages = budget(clock)
    for _ in range(3):
        messages.admit()
    assert messages.admit() == 0.5
    clock.now += 0.5  # handled after its wait; the next one arrives at once
    assert messages.admit() == 0.5


def test_messages_at_the_rate_are_never_held_back():
    clock = Clock()
    messages = budget(clock, held_back_limit=1)
    waits = []
    for _ in range(100):
        waits.append(messages.admit())
        clock.now += 0.5
    assert set(waits) == {0.0}


def test_the_bucket_refills_no_further_than_the_burst():
    clock = Clock()
    messages = budget(clock)
    clock.now += 3600
    assert [messages.admit() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_a_connection_held_back_past_the_limit_in_a_row_is_closed():
    clock = Clock()
    messages = budget(clock, held_back_limit=4)
    for _ in range(3):
        messages.admit()
    for _ in range(4):
        wait = messages.admit()
        assert wait == 0.5
        clock.now += wait
    assert messages.admit() is None


def test_a_pause_forgives_the_messages_held_back_before_it():
    clock = Clock()
    messages = budget(clock, held_back_limit=4)
    for _ in range(3):
        messages.admit()
    for _ in range(4):
        clock.now += messages.admit() or 0.0
    clock.now += 0.5  # the page was quiet long enough for one token
    assert messages.admit() == 0.0
    # Held back four times in a row again: up to the limit, not past it.
    for _ in range(4):
        wait = messages.admit()
        assert wait == 0.5
        clock.now += wait


def test_an_address_opens_up_to_the_limit():
    pages = OpenConnections(2)
    assert [pages.take("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert pages.open_from("10.0.0.1") == 2


def test_other_addresses_are_counted_apart():
    pages = OpenConnections(1)
    assert pages.take("10.0.0.1")
    assert pages.take("10.0.0.2")
    assert not pages.take("10.0.0.1")


def test_a_closed_page_frees_its_place():
    pages = OpenConnections(1)
    pages.take("10.0.0.1")
    pages.give_back("10.0.0.1")
    assert pages.open_from("10.0.0.1") == 0
    assert pages.take("10.0.0.1")


def test_pages_opened_on_many_threads_at_once_never_pass_the_limit():
    pages = OpenConnections(5)
    start = threading.Barrier(20)
    taken: list[bool] = []

    def open_one() -> None:
        start.wait()
        taken.append(pages.take("10.0.0.1"))

    threads = [threading.Thread(target=open_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 5
    assert pages.open_from("10.0.0.1") == 5
