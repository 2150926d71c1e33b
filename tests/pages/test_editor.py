"""Editor page under AppTest, against the Ollama stand-in."""

from datetime import timedelta

from tests.ollama_standin import Reply
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import EditTicket


def test_run_streams_the_result_and_uses_one_token(world):
    account = world.user("writer@example.com", tokens=3)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Ths sentense has erors.")
    at.button(key="editor_run").click().run()
    assert not at.exception
    assert at.code[0].value == "Ths sentense has erors."  # the stand-in echoes the text
    assert world.balance(account.id) == 2
    assert "2 tokens" in at.sidebar.metric[0].value
    request = world.ollama.chat_requests[0].body
    assert request["options"]["temperature"] == 0.1  # "fix" is the default operation


def test_chosen_operation_is_sent_to_the_model(world):
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("A long text to make shorter.")
    at.segmented_control(key="editor_operation").set_value("shorten")
    at.button(key="editor_run").click().run()
    assert "Make the text clearly shorter" in world.ollama.chat_requests[0].body["messages"][0]["content"]


def test_zero_balance_disables_run_and_links_to_the_wallet(world):
    account = world.user("writer@example.com")
    at = world.signed_in(account).run()
    assert at.button(key="editor_run").disabled
    assert "balance is 0" in at.info[0].value
    assert world.ollama.chat_requests == []


def test_empty_text_is_refused_before_any_charge(world):
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    at.button(key="editor_run").click().run()
    assert at.error[0].value == "Enter some text to edit first."
    assert world.balance(account.id) == 1
    assert world.ollama.chat_requests == []


def test_model_failure_shows_why_and_returns_the_token(world):
    account = world.user("writer@example.com", tokens=1)
    world.ollama.script(Reply(status=500, error="llama runner process has terminated: exit status 2"))
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Some text.")
    at.button(key="editor_run").click().run()
    assert "Your token was returned." in at.error[0].value
    assert world.balance(account.id) == 1


HOSTILE_ANSWER = "<img src=x onerror=alert(1)> **bold**"


def test_the_result_is_shown_verbatim_in_a_code_block(world):
    account = world.user("writer@example.com", tokens=1)
    world.ollama.script(Reply(chunks=[HOSTILE_ANSWER]))
    at = world.signed_in(account).run()
    # A text the answer could be a fix of: the answer guard refuses one unrelated to the text.
    at.text_area(key="editor_text").input("<img src=x onerror=alert(1)> **bld**")
    at.button(key="editor_run").click().run()
    assert at.code[0].value == HOSTILE_ANSWER
    assert not any("<img" in m.value for m in at.markdown)


def test_an_answer_that_breaks_off_leaves_only_the_error_on_the_page(world):
    # The answer streams into a placeholder (escaped, see test_markdown_safety); a stream that
    # breaks off is refunded, and neither its text nor an earlier result stays on the page.
    account = world.user("writer@example.com", tokens=2)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Anything at all.")
    at.button(key="editor_run").click().run()
    assert len(at.code) == 1
    world.ollama.script(Reply(chunks=[HOSTILE_ANSWER], mid_stream_error="lost the model"))
    # Another text: the same one would be answered from the result cache, without the model.
    at.text_area(key="editor_text").input("Anything else at all.")
    at.button(key="editor_run").click().run()
    assert [m.value for m in at.markdown if "img" in m.value] == []
    assert at.code == []
    assert len(at.error) == 1


def test_a_second_identical_run_is_answered_from_the_cache_and_says_so(world):
    account = world.user("writer@example.com", tokens=2)
    world.ollama.script(Reply(chunks=["This sentence has errors."]))
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Ths sentense has erors.")
    at.button(key="editor_run").click().run()
    at.button(key="editor_run").click().run()

    assert not at.exception
    assert len(world.ollama.chat_requests) == 1
    assert at.code[0].value == "This sentence has errors."
    assert at.info[0].value == "From the cache: this exact request was answered before; 1 token used."
    assert world.balance(account.id) == 0


def test_demo_mode_offers_sample_texts_in_english_and_russian(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_DEMO_MODE", "true")
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    options = at.selectbox(key="editor_sample").options
    assert any("(EN)" in o for o in options) and any("(RU)" in o for o in options)
    at.selectbox(key="editor_sample").select_index(0).run()
    assert at.text_area(key="editor_text").value.strip()


def test_sample_texts_are_not_offered_outside_demo_mode(world):
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    assert "editor_sample" not in [s.key for s in at.selectbox]


def hold_the_only_slot(world) -> None:
    """Another user's request runs on the only host (a live ticket in the shared queue)."""
    other = world.user("other@example.com")

    def work(session) -> None:
        session.add(
            EditTicket(
                user_id=other.id,
                model="qwen2.5:3b",
                state="running",
                host=world.ollama.url,
                expires_at=utcnow() + timedelta(minutes=5),
            )
        )

    world.db.run(work)


def test_a_request_that_waited_too_long_for_a_free_model_is_refunded(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_QUEUE_WAIT_SECONDS", "0.5")
    account = world.user("writer@example.com", tokens=1)
    hold_the_only_slot(world)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Some text.")
    at.button(key="editor_run").click().run()
    assert at.error[0].value == "Every model server stayed busy for 1 second. Your token was returned."
    assert world.balance(account.id) == 1
    assert world.ollama.chat_requests == []


def test_a_full_queue_says_busy_and_charges_nothing(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_QUEUE_MAX_WAITING", "0")
    account = world.user("writer@example.com", tokens=1)
    hold_the_only_slot(world)
    count = world.transaction_count()
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Some text.")
    at.button(key="editor_run").click().run()
    assert at.error[0].value == (
        "Every model server is busy and 0 requests are already waiting. Try again in a minute; "
        "you were not charged."
    )
    assert world.balance(account.id) == 1
    assert world.transaction_count() == count
