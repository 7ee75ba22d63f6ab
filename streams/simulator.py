"""Traffic simulator: realistic multi-turn contact-centre conversations (English and Dutch).

Scenarios: resolved questions, frustration that escalates, requests for a human (answered or left
waiting), reports of unfair treatment and abusive turns, conversations without consent, PII in the
text, and a share of malformed events that must land in the DLQ. Seeded, so a run is reproducible.
With ``email_threads`` (``imon simulate``'s default) the email channel's customer turns are written as emails
with their thread quoted below; the benchmarks, soak and tests replay the one-line turns.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

# (speaker, text) scripts per scenario and language; {name}, {email}, {phone}, {order} are filled in.
SCRIPTS: dict[str, dict[str, list[list[tuple[str, str]]]]] = {
    "resolved": {
        "en": [
            [
                ("customer", "Hi, I was charged twice for my order {order}, can you check?"),
                ("bot", "I can help with that. Let me look up order {order}."),
                ("bot", "I see the duplicate charge; a refund has been issued and arrives in 3-5 days."),
                ("customer", "Great, thanks a lot for sorting that out so quickly!"),
            ],
            [
                ("customer", "How do I change the delivery address on my account?"),
                ("bot", "Go to Settings > Addresses and choose Edit."),
                ("customer", "Found it, that worked. Thank you!"),
            ],
            [
                ("customer", "My name is {name}, I want to update my phone number to {phone}."),
                ("agent", "Thanks {name}, I have updated it for you."),
                ("customer", "Perfect, have a nice day."),
            ],
        ],
        "nl": [
            [
                ("customer", "Hallo, ik ben dubbel betaald voor bestelling {order}, kunt u dat nakijken?"),
                ("bot", "Ik kijk het voor u na."),
                ("bot", "Ik zie de dubbele betaling, het geld wordt binnen 3 dagen teruggestort."),
                ("customer", "Top, bedankt voor de snelle hulp!"),
            ],
            [
                ("customer", "Hoe wijzig ik mijn e-mailadres? Het nieuwe is {email}."),
                ("bot", "Dat kan via Mijn account > Gegevens."),
                ("customer", "Gelukt, dank je wel."),
            ],
        ],
    },
    "escalation": {
        "en": [
            [
                ("customer", "My internet has been down for three days."),
                ("bot", "Sorry to hear that. Have you tried restarting the router?"),
                ("customer", "Yes, five times. This is the fourth time I'm contacting you about this!"),
                ("bot", "I understand. Let me run a line test."),
                (
                    "customer",
                    "This is ridiculous. If it's not fixed today I'm cancelling and filing a complaint with the ombudsman.",
                ),
                ("agent", "I'm a supervisor, I've booked an engineer for this afternoon."),
            ],
            [
                ("customer", "You've billed me for a service I cancelled months ago."),
                ("bot", "I can see the cancellation request on your account."),
                (
                    "customer",
                    "Then why am I still paying?! I'm talking to my lawyer and posting this everywhere.",
                ),
                ("agent", "I'm very sorry, I'm refunding all payments since the cancellation now."),
            ],
            [
                ("customer", "My husband passed away last week and I can't afford these bills right now."),
                ("agent", "I'm so sorry for your loss. Let's pause the payments while we sort this out."),
            ],
        ],
        "nl": [
            [
                ("customer", "Mijn internet ligt al drie dagen plat."),
                ("bot", "Vervelend! Heeft u de modem al opnieuw opgestart?"),
                ("customer", "Ja, al vijf keer. Dit is de vierde keer dat ik bel!"),
                (
                    "customer",
                    "Belachelijk. Als het vandaag niet werkt zeg ik mijn abonnement op en ga ik naar de geschillencommissie.",
                ),
                ("agent", "Ik ben teamleider, er komt vanmiddag een monteur."),
            ],
        ],
    },
    "human_answered": {
        "en": [
            [
                ("customer", "I need to dispute a charge on my card."),
                ("bot", "I can help with disputes. What is the transaction date?"),
                ("customer", "I don't want to talk to a bot, let me speak to a real person please."),
                ("agent", "Hi, this is {name} from the billing team, how can I help?"),
                ("customer", "Thanks for picking up."),
            ],
        ],
        "nl": [
            [
                ("customer", "Ik wil een betaling betwisten."),
                ("bot", "Wat is de datum van de transactie?"),
                ("customer", "Ik wil graag met een medewerker spreken, niet met een computer."),
                ("agent", "Goedemiddag, u spreekt met {name}, waarmee kan ik helpen?"),
            ],
        ],
    },
    "human_waiting": {
        "en": [
            [
                ("customer", "Can I please talk to a human agent? This chatbot keeps going in circles."),
                ("bot", "I'm here to help! Could you describe your issue?"),
                ("customer", "Operator. Human. Representative. Anyone real."),
            ],
        ],
        "nl": [
            [
                ("customer", "Kan ik een echt persoon spreken alstublieft?"),
                ("bot", "Ik help u graag! Wat is uw vraag?"),
            ],
        ],
    },
    "unfair": {
        "en": [
            [
                (
                    "customer",
                    "The agent in your store refused to help me because of my accent. I felt humiliated.",
                ),
                ("bot", "I'm sorry to hear that. Can you tell me which store?"),
                (
                    "customer",
                    "I've been a customer for ten years and I was treated differently because I'm foreign.",
                ),
            ],
            [
                ("customer", "Why was my loan rejected? My neighbour with the same income got approved."),
                ("agent", "People from your neighbourhood usually don't pay back, so that's how it is."),
                ("customer", "That is discrimination, and I want it on record."),
            ],
            [
                ("customer", "Your app is useless and so are you, you idiot."),
                ("agent", "I understand you're frustrated. Let's see how I can help."),
            ],
        ],
        "nl": [
            [
                ("customer", "Ik word anders behandeld omdat ik een hoofddoek draag, dat is discriminatie."),
                ("bot", "Wat vervelend om te horen. Kunt u vertellen wat er gebeurde?"),
                (
                    "customer",
                    "De medewerker deed neerbuigend en zei dat mensen zoals ik het toch niet begrijpen.",
                ),
            ],
        ],
    },
    "identity_neutral": {
        "en": [
            [
                ("customer", "I'm deaf, can we continue by chat instead of a call?"),
                ("bot", "Of course, we can continue here."),
                ("customer", "Thanks, I'd like to upgrade my plan."),
            ],
        ],
        "nl": [
            [
                ("customer", "Ik ben slechthorend, kunnen we via de chat verder?"),
                ("bot", "Natuurlijk, dat kan."),
                ("customer", "Fijn, ik wil mijn abonnement wijzigen."),
            ],
        ],
    },
}

SCENARIO_WEIGHTS = {
    "resolved": 0.38,
    "escalation": 0.18,
    "human_answered": 0.12,
    "human_waiting": 0.08,
    "unfair": 0.12,
    "identity_neutral": 0.12,
}
QUEUES = ("billing", "technical", "sales", "retention", "general")
CHANNELS = ("chat", "voice", "email", "social")
NAMES = ("Anna de Vries", "John Miller", "Fatima El Amrani", "Pieter Jansen", "Maria Garcia", "Wei Chen")
BAD_KINDS = ("bad_json", "missing_field", "wrong_type", "oversized", "not_utf8", "not_object", "bad_ts")


# How a customer writes an email: greeting, sign-off, and the reply line or header block the mail program puts
# above the quoted thread (see streams/email_thread.py, which cuts it before the model reads the text).
_EMAIL: dict[str, dict[str, Any]] = {
    "en": {
        "greeting": ("Hello,", "Hi,", "Dear customer service,", "Good morning,"),
        "signoff": ("Kind regards,", "Thanks,", "Best regards,", "Regards,"),
        "service": "Customer Service",
        "address": "support@example.com",
        "reply": "On {date} at {time}, {service} <{address}> wrote:",
        "header": "-----Original Message-----\nFrom: {service} <{address}>\nSent: {date} {time}\n"
        "To: {name} <{email}>\nSubject: RE: your question",
    },
    "nl": {
        "greeting": ("Beste klantenservice,", "Hallo,", "Goedemiddag,", "Geachte heer/mevrouw,"),
        "signoff": ("Met vriendelijke groet,", "Groeten,", "Mvg,", "Bedankt,"),
        "service": "Klantenservice",
        "address": "klantenservice@example.nl",
        "reply": "Op {date} om {time} schreef {service} <{address}>:",
        "header": "-----Oorspronkelijk bericht-----\nVan: {service} <{address}>\nVerzonden: {date} {time}\n"
        "Aan: {name} <{email}>\nOnderwerp: RE: uw vraag",
    },
}


@dataclass
class _Conversation:
    iid: str
    scenario: str
    language: str
    queue: str
    channel: str
    consent: bool
    segment: dict[str, str]
    turns: list[tuple[str, str]]
    pos: int = -1  # -1 = start event not sent yet
    done: bool = False
    slots: dict[str, str] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # the texts sent so far, for email threads


class Simulator:
    """Generates input events (as dicts, or raw bytes for malformed ones)."""

    def __init__(
        self,
        seed: int = 0,
        bad_ratio: float = 0.02,
        no_consent_ratio: float = 0.05,
        active: int = 50,
        email_threads: bool = False,
    ):
        """``email_threads``: customer turns in the email channel are written as emails (greeting, sign-off
        with the customer's name, and from the second turn on the thread quoted below a reply line or an
        Outlook header block). Off, the stream is the short one-line turns the benchmarks and tests replay;
        on, the same conversations and event ids with only those texts longer (their own random source)."""
        self.rng = random.Random(seed)
        self.email_threads = email_threads
        self._email_rng = random.Random(f"email-{seed}")
        self.bad_ratio = bad_ratio
        self.no_consent_ratio = no_consent_ratio
        self.active_target = active
        self.active: list[_Conversation] = []
        self.seq = 0

    def _new(self) -> _Conversation:
        r = self.rng
        scenario = r.choices(list(SCENARIO_WEIGHTS), weights=list(SCENARIO_WEIGHTS.values()))[0]
        language = "nl" if r.random() < 0.3 else "en"
        scripts = SCRIPTS[scenario].get(language) or SCRIPTS[scenario]["en"]
        turns = list(r.choice(scripts))
        slots = {
            "name": r.choice(NAMES),
            "email": f"{r.choice(['jan', 'kim', 'sam', 'lee'])}.{r.randint(10, 99)}@example.{r.choice(['com', 'nl'])}",
            "phone": r.choice(["+31 6 1234 5678", "(555) 201-3344", "020-555 0199", "+44 7700 900123"]),
            "order": f"A{r.randint(100000, 999999)}",
        }
        segment = {
            "language": language,
            "region": r.choice(["north", "south", "east", "west"]),
            "age_band": r.choice(["18-34", "35-54", "55+"]),
        }
        return _Conversation(
            iid=str(uuid.UUID(int=r.getrandbits(128))),
            scenario=scenario,
            language=language,
            queue=r.choice(QUEUES),
            channel=r.choices(CHANNELS, weights=[0.6, 0.25, 0.1, 0.05])[0],
            consent=r.random() >= self.no_consent_ratio,
            segment=segment,
            turns=turns,
            slots=slots,
        )

    def _event(self, c: _Conversation, etype: str, **extra: Any) -> dict[str, Any]:
        self.seq += 1
        ev: dict[str, Any] = {
            "schema_version": 1,
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "interaction_id": c.iid,
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "type": etype,
            "channel": c.channel,
            "language": c.language,
            "queue": c.queue,
            "consent": {"ai_analysis": c.consent},
            "segment": c.segment,
        }
        ev.update(extra)
        return ev

    def _email(self, c: _Conversation, said: str) -> str:
        """``said`` as the customer's email: greeting and sign-off on the first, and the thread so far quoted
        below a reply line (">"-quoted, newest first) or an Outlook header block on the ones after it."""
        r = self._email_rng
        style = _EMAIL[c.language]
        body = f"{said}\n\n{r.choice(style['signoff'])}\n{c.slots['name']}"
        if not c.history:
            return f"{r.choice(style['greeting'])}\n\n{body}"
        fill = dict(
            date=f"{r.randint(1, 28)}-{r.randint(1, 12)}-2026", time=f"{r.randint(8, 18)}:{r.choice(['05', '30', '47'])}",
            service=style["service"], address=style["address"], name=c.slots["name"], email=c.slots["email"],
        )  # fmt: skip
        earlier = list(reversed(c.history))
        if r.random() < 0.6:
            quoted = "\n>\n".join("\n".join(f"> {line}" for line in t.split("\n")) for t in earlier)
            return f"{body}\n\n{style['reply'].format(**fill)}\n{quoted}"
        return f"{body}\n\n{style['header'].format(**fill)}\n\n" + "\n\n".join(earlier)

    def _bad(self) -> bytes:
        kind = self.rng.choice(BAD_KINDS)
        base = {
            "schema_version": 1,
            "event_id": str(uuid.uuid4()),
            "interaction_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(),
            "type": "utterance",
            "channel": "chat",
            "speaker": "customer",
            "text": "hello",
            "consent": {"ai_analysis": True},
        }
        if kind == "bad_json":
            return b'{"schema_version": 1, "event_id": "x", "text": "unterminated'
        if kind == "missing_field":
            base.pop("interaction_id")
        elif kind == "wrong_type":
            base["text"] = 12345
        elif kind == "oversized":
            base["text"] = "a" * 200_000
        elif kind == "not_utf8":
            return orjson.dumps(base)[:-2] + b'\xff\xfe"}'
        elif kind == "not_object":
            return b'["not", "an", "object"]'
        elif kind == "bad_ts":
            base["ts"] = "yesterday at noon"
        return orjson.dumps(base)

    def events(self) -> Iterator[tuple[bytes | None, bytes]]:
        """Endless stream of (key, value) pairs in a realistic interleaving."""
        r = self.rng
        while True:
            if r.random() < self.bad_ratio:
                yield None, self._bad()
                continue
            while len(self.active) < self.active_target:
                self.active.append(self._new())
            c = r.choice(self.active)
            if c.pos == -1:
                ev = self._event(c, "start")
            elif c.pos < len(c.turns):
                speaker, text = c.turns[c.pos]
                said = text.format(**c.slots)
                extra: dict[str, Any] = {"speaker": speaker, "text": said}
                if self.email_threads and c.channel == "email":
                    if speaker == "customer":
                        extra["text"] = self._email(c, said)
                    c.history.append(said)
                if speaker == "agent":
                    extra["agent_id"] = f"agent-{r.randint(1, 40):03d}"
                ev = self._event(c, "utterance", **extra)
            else:
                outcome = "unresolved" if c.scenario in ("human_waiting", "unfair") else "resolved"
                ev = self._event(c, "end", outcome=outcome)
                c.done = True
            c.pos += 1
            if c.done:
                self.active.remove(c)
            yield c.iid.encode(), orjson.dumps(ev)


def run_simulation(
    send: Any,
    rate: float,
    duration_s: float | None = None,
    count: int | None = None,
    seed: int = 0,
    bad_ratio: float = 0.02,
    progress: bool = True,
    email_threads: bool = False,
) -> int:
    """Send events through ``send(key, value)`` at ``rate`` per second; returns how many were sent."""
    from tqdm import tqdm

    sim = Simulator(seed=seed, bad_ratio=bad_ratio, email_threads=email_threads)
    t0 = time.monotonic()
    sent = 0
    bar = tqdm(total=count, unit="ev", disable=not progress, desc="simulate")
    for key, value in sim.events():
        if count is not None and sent >= count:
            break
        if duration_s is not None and time.monotonic() - t0 >= duration_s:
            break
        if rate > 0:
            due = t0 + sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        send(key, value)
        sent += 1
        bar.update(1)
    bar.close()
    return sent
