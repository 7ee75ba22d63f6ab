"""streams.email_thread: an email's own words, with the quoted history mail programs append cut off; and the
processor reading only those words for email utterances (a scripted scorer shows what it was given)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.email_thread import own_words
from tests.test_processor import Harness, of

THANKS = "Thanks, that worked. The router is fine now.\n\nKind regards,\nAnna"

# (what the customer wrote this time, the history below it as a mail program writes it)
THREADS = {
    "gmail-en": (
        THANKS,
        "\n\nOn Mon, 3 Dec 2026 at 10:15, Acme Support <support@acme.example> wrote:\n"
        "> Hello Anna, could you restart the router?\n>\n"
        "> On Sun, 2 Dec 2026, Anna <anna@example.com> wrote:\n"
        ">> Third time I write. I want a manager now or I cancel and go to the ombudsman.",
    ),
    "gmail-en-wrapped": (
        THANKS,
        "\n\nOn Mon, 3 Dec 2026 at 10:15, Acme Customer Support Team <\nsupport@acme.example> wrote:\n"
        "> Hello Anna, could you restart the router?",
    ),
    "gmail-nl": (
        "Bedankt, het werkt weer.\n\nMet vriendelijke groet,\nAnna",
        "\n\nOp ma 3 dec. 2026 om 10:15 schreef Acme Klantenservice <service@acme.example>:\n"
        "> Beste Anna, wilt u de router opnieuw opstarten?",
    ),
    "apple-nl": (
        "Zie bijlage.\n\nVerzonden vanaf mijn iPhone",
        "\n\n> Op 3 dec. 2026 om 10:15 heeft Klantenservice <service@acme.example> het volgende geschreven:\n"
        ">\n> Beste klant, stuur ons een kopie van uw legitimatie.",
    ),
    "outlook-en": (
        "Got it, I'll wait for the engineer on Friday.",
        "\n\n-----Original Message-----\nFrom: Acme Support\nSent: Monday, December 3, 2026 10:15 AM\n"
        "To: Anna\nSubject: RE: complaint\n\nDear Anna, an engineer will visit on Friday.\n\n"
        "From: Anna\nSent: Sunday\nTo: Acme Support\nSubject: complaint\n\n"
        "Your agent called me a stupid foreigner. I want a human to call me back.",
    ),
    "outlook-nl-no-separator": (
        "Prima, dan wacht ik op de monteur.",
        "\n\nVan: Klantenservice <service@acme.example>\nVerzonden: maandag 3 december 2026 10:15\n"
        "Aan: Anna\nOnderwerp: RE: klacht\n\nBeste Anna, de monteur komt vrijdag.",
    ),
    "html-outlook": (
        "Yes, Friday works.",
        "\n\n________________________________\n*From:* Acme <support@acme.example>\n*Sent:* Monday\n"
        "*Subject:* visit\n\nWhen can the engineer come? This is the fourth time we ask.",
    ),
    "forward-with-comment": (
        "See below. This is the third wrong bill!",
        "\n\n---------- Forwarded message ---------\nFrom: Acme <billing@acme.example>\nDate: Mon, 3 Dec 2026\n"
        "Subject: Your bill\n\nDear customer, your bill is EUR 300.",
    ),
    "german": (
        "Danke, erledigt.",
        "\n\nAm Mo., 3. Dez. 2026 um 10:15 Uhr schrieb Acme <support@acme.example>:\n> Bitte senden Sie uns das Formular.",
    ),
    "helpdesk-delimiter": (
        "Thanks, I'll put the bins out on Tuesday.",
        "\n\n##- Please type your reply above this line -##\n\nYour request (#20871) has been updated.\n\n"
        "Council Waste Services\nWe are sorry. Your complaint about the missed collections is escalated.",
    ),
    "case-history-nl": (
        "Woensdagochtend is goed.",
        "\n\n--- Eerdere berichten in deze zaak ---\n\nGemeente | 2 juni 2025\nGeachte mevrouw, het spijt ons.",
    ),
    "french": (
        "Merci, c'est fait.",
        "\n\nLe lun. 3 déc. 2026 à 10:15, Acme <support@acme.example> a écrit :\n> Merci de nous envoyer le formulaire.",
    ),
}


@pytest.mark.parametrize("name", sorted(THREADS))
def test_the_history_below_a_reply_is_cut(name: str) -> None:
    new, history = THREADS[name]
    got = own_words(new + history)
    assert got.how == "cut"
    assert got.text == new
    assert got.quoted_chars == len(new + history) - len(new)


def test_inline_answers_and_bottom_posting_are_kept() -> None:
    text = (
        "On Mon, Acme <support@acme.example> wrote:\n> Can you confirm your address?\nYes, it is the same.\n"
        "> And the meter reading?\n12345\n\nRegards"
    )
    assert own_words(text).text == "Yes, it is the same.\n12345\n\nRegards"
    bottom = "> Op ma 3 dec. schreef Acme:\n> Werkt het weer?\n\nJa, het werkt weer, bedankt."
    assert own_words(bottom).text == "Ja, het werkt weer, bedankt."


@pytest.mark.parametrize(
    "text",
    [
        "Hello,\nOn the 3rd I called and nobody helped.\nThanks",
        "On Monday I wrote: please cancel.\nNobody answered.",
        "I am angry.\nFrom: now on I will write to the ombudsman.\nRegards",
        "one line only, > not a quote",
        "Van: mijn kant is alles gedaan.\nGroet",
    ],
)
def test_text_without_history_is_read_whole(text: str) -> None:
    got = own_words(text)
    assert (got.text, got.quoted_chars, got.how) == (text, 0, "none")


def test_a_bare_forward_is_read_whole() -> None:
    text = "---------- Forwarded message ---------\nFrom: Acme <a@acme.example>\nDate: Mon\n\nYour bill is EUR 300."
    got = own_words(text)
    assert (got.text, got.quoted_chars, got.how) == (text, 0, "only_history")
    quoted_only = "> On Mon, Acme wrote:\n> Your bill is EUR 300."
    assert own_words(quoted_only).how == "only_history"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab >:\n-") + ["wrote:", "From: ", "Sent: ", "> ", "On x, y wrote:", "-----"]),
                max_size=120).map("".join))
def test_property_the_result_is_the_input_or_some_of_its_lines(text: str) -> None:
    got = own_words(text)
    if got.how != "cut":
        assert got.text == text and got.quoted_chars == 0
    else:
        lines = {line.strip() for line in text.split("\n")}
        assert all(line.strip() in lines for line in got.text.split("\n"))
        assert ">" not in got.text.lstrip()[:1]
        assert got.quoted_chars == len(text) - len(got.text) > 0


# --- in the processor --------------------------------------------------------------------------------------


def _email(h: Harness, text: str, **kw: Any) -> bytes:
    return h.event(text, channel="email", **kw)


def test_the_processor_scores_an_email_on_its_own_words() -> None:
    h = Harness()
    new = "Thanks, that worked."
    history = "\n\nOn Mon, 3 Dec 2026, Acme <support@acme.example> wrote:\n> [esc] I want a manager now."
    outs = h.run(_email(h, new + history))
    assert h.scorer.seen_texts[-1] == new  # the model never saw the quoted escalation
    (rec,) = of(outs, "scored")
    assert rec["text"].startswith(new) and "wrote:" in rec["text"]  # the record keeps the whole (redacted) text
    assert rec["quoted_history_chars"] > 0
    assert of(outs, "alerts") == []
    (audit,) = of(outs, "audit")
    assert audit["quoted_history_chars"] == rec["quoted_history_chars"]
    assert h.metrics.registry.get_sample_value(
        "imon_quoted_history_total", {"channel": "email", "result": "cut"}) == 1


def test_keep_scores_the_whole_email_and_a_pasted_thread_is_cut_in_any_channel() -> None:
    text = "Thanks.\n\nOn Mon, Acme <support@acme.example> wrote:\n> [esc] I want a manager now."
    h = Harness(quoted_history="keep")
    outs = h.run(_email(h, text))
    assert "[esc]" in h.scorer.seen_texts[-1]
    assert [a["type"] for a in of(outs, "alerts")] == ["escalation"]
    assert of(outs, "scored")[0]["quoted_history_chars"] == 0
    chat = Harness()
    outs = chat.run(chat.event(text), chat.event("[esc] no history here\n> but a quoted line"))
    assert chat.scorer.seen_texts == ["Thanks.", "[esc] no history here"]
    first, second = of(outs, "scored")
    assert first["quoted_history_chars"] > 0 and second["quoted_history_chars"] > 0
    assert chat.metrics.registry.get_sample_value("imon_quoted_history_total", {"channel": "chat", "result": "cut"}) == 2


# --- HTML bodies ---------------------------------------------------------------------------------------------

GMAIL_HTML = (
    '<html><head><style>p{margin:0}</style></head><body><div dir="ltr"><p>Thanks, that worked.</p>'
    "<p>Kind regards,<br>Anna</p></div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, 3 Dec"
    " 2026 at 10:15, Acme &lt;support@acme.example&gt; wrote:<br></div><blockquote class=\"gmail_quote\">This is the "
    "third time. I want a manager now or I go to the ombudsman.<blockquote>older</blockquote></blockquote></div></body></html>"
)
OUTLOOK_HTML = (
    '<div>Yes, Friday works.</div><div><br></div><div style="border-top:solid #E1E1E1 1.0pt"><p class="MsoNormal">'
    "<b>From:</b> Acme Support &lt;support@acme.example&gt;<br><b>Sent:</b> Monday, 3 December 2026 10:15<br><b>To:</b> "
    "Anna Jansen<br><b>Subject:</b> RE: visit</p></div><p>When can the engineer come? This is the fourth time &amp; "
    "nobody answers.</p>"
)


def test_an_html_body_is_read_as_plain_text_with_its_quotes_marked() -> None:
    from streams.email_thread import html_to_text

    text = html_to_text(GMAIL_HTML)
    assert text == ("Thanks, that worked.\n\nKind regards,\nAnna\n\nOn Mon, 3 Dec 2026 at 10:15, Acme "
                    "<support@acme.example> wrote:\n\n> This is the third time. I want a manager now or I go to the "
                    "ombudsman.\n> > older")
    assert own_words(text).text == "Thanks, that worked.\n\nKind regards,\nAnna"
    outlook = html_to_text(OUTLOOK_HTML)
    assert "&amp;" not in outlook and "& nobody" in outlook and "<b>" not in outlook
    assert own_words(outlook).text == "Yes, Friday works."


@pytest.mark.parametrize("text", ["I <3 my <b>new</b> phone", "price < 5 and > 3", "a <EMAIL> b", "<PERSON> here"])
def test_plain_text_is_not_taken_for_html(text: str) -> None:
    from streams.email_thread import html_to_text

    assert html_to_text(text) == text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<p>", "</p>", "<br>", "<blockquote>", "</blockquote>", "<div a='x'>", "</div>",
                                 "<style>", "</style>", "&amp;", "&#48;", "text", " ", "\n", "<", ">", "On x, y wrote:"]),
                max_size=80).map("".join))
def test_property_html_to_text_never_raises_and_leaves_no_block_tags(text: str) -> None:
    from streams.email_thread import html_to_text, looks_like_html

    out = html_to_text(text)
    assert isinstance(out, str)
    if looks_like_html(text):
        assert "<p>" not in out and "<br>" not in out and "<div" not in out


def test_the_processor_redacts_and_cuts_an_html_reply() -> None:
    h = Harness()
    outs = h.run(_email(h, GMAIL_HTML.replace("older", "[esc] older")))
    assert h.scorer.seen_texts[-1] == "Thanks, that worked.\n\nKind regards,\n<PERSON>"  # the name after <br> is found
    (rec,) = of(outs, "scored")
    assert "<p>" not in rec["text"] and "Anna" not in rec["text"] and rec["quoted_history_chars"] > 0
    assert of(outs, "alerts") == []
    outs = h.run(h.event("<p>Bel me op &#48;&#54;-12345678</p>", channel="chat"))  # digits written as entities
    assert "12345678" not in of(outs, "scored")[0]["text"] and "<PHONE>" in of(outs, "scored")[0]["text"]


ADVERSARIAL = {
    "unclosed-tags": "<p>" + "<a " * 20_000,
    "many-lt": "<p>" + "<" * 60_000,
    "unclosed-comment": "<p><!--" + "x" * 60_000,
    "many-comments": "<p>" + "<!--" * 15_000,
    "deep-quotes-many-lines": "<blockquote>" * 5_000 + "<br>x" * 5_000,
    "entities": "<p>" + "&amp;" * 12_000,
    "tags": "<p>x</p>" * 7_500,
    "reply-lines": "On x wrote:\n" * 5_000,
    "quoted-lines": "> a\n" * 15_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_bodies_take_linear_time_and_bounded_space(name: str) -> None:
    """~60 KB (the largest event the worker takes): html.parser took 14-47 s on the first two; this must not."""
    import time

    from streams.email_thread import html_to_text

    text = ADVERSARIAL[name]
    t0 = time.perf_counter()
    out = own_words(html_to_text(text)).text
    assert time.perf_counter() - t0 < 2.0
    assert len(out) <= 3 * len(text)
