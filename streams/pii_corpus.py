"""Seeded generator of a labelled PII evaluation corpus (English and Dutch customer-service sentences).

Dev/eval only: it imports Faker (a dev dependency); the worker never imports this module.

Every :class:`Sample` is one utterance with the gold character spans of the PII it contains. Positive
samples embed one entity type (sometimes two) in a chat, call-transcript or email sentence, in many
surface formats (phones national and international with spaces, dots, dashes, parentheses; cards and IBANs
grouped and ungrouped; ...), next to harmless look-alikes (order numbers, amounts, times). Negative
samples contain only look-alikes (order numbers, amounts, times, non-birth dates, product codes, tracking
and ticket numbers), so the evaluation can measure precision.

Identifiers are generated to be *real-shaped*: card numbers pass Luhn with real issuer prefixes, IBANs and
BSNs pass their checksums, phone numbers use real area codes and mobile prefixes. Faker supplies names,
streets, cities, IBANs, BSNs, Belgian national numbers, SSNs, IPs, URLs and some raw phone numbers.

Some gold spans carry a ``variant`` so the evaluation can report the hard cases apart:
``bare`` (a BSN with no context word in the sentence), ``no_cue`` (a name with no cue such as "my name
is"), ``header`` (a name in an email thread's header or reply line: "From: ...", "On ..., <name> wrote:", the
surname first or not: "Jansen, Anna", "de Vries, P."),
``spoken`` (an email or phone number spelled out as in a call transcript), ``faker`` (Faker's own phone formats).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Labels a gold span can have (the entity types of :mod:`streams.redaction`).
GOLD_LABELS = (
    "EMAIL", "PHONE", "CARD", "IBAN", "SSN", "BSN", "NATIONAL_ID", "IP", "URL", "ADDRESS", "POSTCODE",
    "DOB", "PERSON", "CREDENTIAL",
)  # fmt: skip


@dataclass(frozen=True)
class Entity:
    """Gold span ``text[start:end]`` of type ``label``; ``variant`` marks a hard sub-case (or "")."""

    start: int
    end: int
    label: str
    variant: str = ""


@dataclass(frozen=True)
class Sample:
    text: str
    language: str  # "en" or "nl"
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    kind: str = "positive"  # or "negative"
    template: str = ""  # which template produced it (for debugging misses)


# ------------------------------------------------------------------------------------------------------
# Identifier generators (real-shaped)


def _words(text: str) -> list[str]:
    return text.split()


_US_AREA = _words(
    "201 202 203 205 206 207 208 210 212 213 214 215 216 217 224 225 228 229 231 234 239 240 248 "
    "251 252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 305 307 308 309 310 312 313 "
    "314 315 316 317 318 319 320 321 323 330 334 336 337 339 347 351 352 360 361 386 401 402 404 "
    "405 406 407 408 409 410 412 413 414 415 417 419 423 424 425 430 432 434 435 440 443 469 478 "
    "479 480 484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 540 541 559 "
    "561 562 563 567 570 571 573 574 580 585 586 601 602 603 605 606 607 608 609 610 612 614 615 "
    "616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702 703 704 "
    "706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754 757 760 763 765 "
    "770 772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 "
    "828 830 831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 901 903 904 906 "
    "907 908 909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937 940 941 947 949 951 "
    "952 954 956 970 971 972 973 978 979 980 985 989"
)
_NL_AREA_2 = _words(
    "10 13 15 20 23 24 26 30 33 35 36 38 40 43 45 46 50 53 55 58 70 71 72 73 74 75 76 77 78 79"
)
_NL_AREA_3 = _words(
    "111 113 114 115 117 118 161 162 164 165 166 167 168 172 174 180 181 182 183 184 186 187 222 "
    "223 224 226 227 228 229 251 252 255 294 297 299 313 314 315 316 317 318 320 321 341 342 343 "
    "344 345 346 347 348 411 412 413 416 418 475 478 481 485 486 487 488 492 493 495 497 499 511 "
    "512 513 514 515 516 517 518 519 521 522 523 524 525 527 528 529 541 543 544 545 546 547 548 "
    "561 562 566 570 571 572 573 575 577 578 591 592 593 594 595 596 597 598 599"
)
_BE_AREA_1 = ["2", "3", "4", "9"]
_BE_AREA_2 = _words(
    "10 11 12 13 14 15 16 19 50 51 52 53 54 55 56 57 58 59 60 61 63 64 65 67 69 71 80 81 82 83 84 85 86 87 89"
)
_UK_AREA_3 = ["113", "114", "115", "116", "117", "118", "121", "131", "141", "151", "161", "191"]
_UK_AREA_4 = _words(
    "1223 1224 1225 1226 1227 1228 1233 1234 1235 1236 1242 1243 1244 1245 1246 1273 1274 1276 1277 "
    "1293 1296 1302 1305 1332 1392 1452 1482 1603 1642 1752 1865 1904"
)
_DE_AREA = ["30", "40", "69", "89", "211", "221", "231", "341", "351", "421", "511", "611", "711", "911"]
_DE_MOBILE = _words("151 152 157 159 160 162 163 170 171 172 173 174 175 176 177 178 179")


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


_DIGIT_WORDS_EN = ("oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGIT_WORDS_NL = ("nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen")


@dataclass(frozen=True)
class _Phone:
    cc: str  # country calling code
    national: str  # national significant number (no trunk 0)
    groups: tuple[int, ...]  # grouping of the national significant number for display
    trunk: str = "0"  # trunk prefix ("" for NANP)


def _make_phone(rng: random.Random, region: str) -> _Phone:
    if region == "US":
        area = rng.choice(_US_AREA)
        exch = _digits(rng, 3, "23456789")
        if exch[1:] == "11":
            exch = exch[0] + "23"
        return _Phone("1", area + exch + _digits(rng, 4), (3, 3, 4), trunk="")
    if region == "NL":
        kind = rng.random()
        if kind < 0.5:
            return _Phone("31", "6" + rng.choice("12345") + _digits(rng, 7), (1, 8))
        if kind < 0.8:
            area = rng.choice(_NL_AREA_2)
            return _Phone("31", area + _digits(rng, 7, "23456789"), (2, 7))
        area = rng.choice(_NL_AREA_3)
        return _Phone("31", area + _digits(rng, 6, "23456789"), (3, 6))
    if region == "BE":
        kind = rng.random()
        if kind < 0.5:
            return _Phone("32", "4" + rng.choice("6789") + _digits(rng, 7), (3, 2, 2, 2))
        if kind < 0.75:
            area = rng.choice(_BE_AREA_1)
            return _Phone("32", area + _digits(rng, 7, "2345678"), (1, 3, 2, 2))
        area = rng.choice(_BE_AREA_2)
        return _Phone("32", area + _digits(rng, 6, "2345678"), (2, 2, 2, 2))
    if region == "GB":
        kind = rng.random()
        if kind < 0.5:
            return _Phone("44", "7" + rng.choice("45789") + _digits(rng, 8), (4, 6))
        if kind < 0.7:
            return _Phone("44", "20" + rng.choice("378") + _digits(rng, 7), (2, 4, 4))
        if kind < 0.85:
            return _Phone("44", rng.choice(_UK_AREA_3) + _digits(rng, 7, "2345678"), (3, 3, 4))
        return _Phone("44", rng.choice(_UK_AREA_4) + _digits(rng, 6, "2345678"), (4, 6))
    if region == "DE":
        if rng.random() < 0.5:
            return _Phone("49", rng.choice(_DE_MOBILE) + _digits(rng, 8, "123456789"), (3, 8))
        area = rng.choice(_DE_AREA)
        return _Phone("49", area + _digits(rng, 10 - len(area), "2345678"), (len(area), 10 - len(area)))
    # FR
    return _Phone("33", rng.choice("1234567") + _digits(rng, 8), (1, 2, 2, 2, 2))


def _group(num: str, groups: tuple[int, ...]) -> list[str]:
    out, pos = [], 0
    for g in groups:
        out.append(num[pos : pos + g])
        pos += g
    if pos < len(num):
        out[-1] += num[pos:]
    return [x for x in out if x]


def _format_phone(rng: random.Random, ph: _Phone) -> str:
    sep = rng.choice([" ", " ", "-", ".", ""])
    parts = _group(ph.national, ph.groups)
    style = rng.random()
    if ph.cc == "1":
        a, b, c = ph.national[:3], ph.national[3:6], ph.national[6:]
        return rng.choice(
            [
                f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}", f"+1 {a} {b} {c}",
                f"+1 ({a}) {b}-{c}", f"1-{a}-{b}-{c}", f"+1-{a}-{b}-{c}", f"{a}{b}{c}", f"({a}){b}-{c}",
            ]
        )  # fmt: skip
    if style < 0.45:  # national, trunk prefix
        first = ph.trunk + parts[0]
        if rng.random() < 0.15:
            return f"({first}) " + sep.join(parts[1:]) if sep else f"({first}) " + "".join(parts[1:])
        return sep.join([first, *parts[1:]])
    if style < 0.85:  # international with +
        body = sep.join(parts) if sep else "".join(parts)
        if rng.random() < 0.2:
            return f"+{ph.cc} (0){body}" if rng.random() < 0.5 else f"+{ph.cc} (0) {body}"
        return f"+{ph.cc}{rng.choice([' ', ' ', '-', ''])}{body}"
    body = sep.join(parts) if sep else "".join(parts)
    return f"00{ph.cc} {body}" if rng.random() < 0.7 else f"00{ph.cc}{body}"


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        num = _luhn_complete("4", 16, rng)
    elif kind < 0.65:
        num = _luhn_complete(rng.choice(["51", "52", "53", "54", "55", "2221", "2720"]), 16, rng)
    elif kind < 0.8:
        num = _luhn_complete(rng.choice(["34", "37"]), 15, rng)
        sep = rng.choice([" ", "-", ""])
        return sep.join([num[:4], num[4:10], num[10:]])
    elif kind < 0.9:
        num = _luhn_complete(rng.choice(["6011", "65"]), 16, rng)
    else:
        num = _luhn_complete(rng.choice(["6759", "5018", "3528"]), rng.choice([16, 16, 19]), rng)
    sep = rng.choice([" ", " ", "-", ""])
    return sep.join(num[i : i + 4] for i in range(0, len(num), 4))


def _luhn_invalid_16(rng: random.Random) -> str:
    num = _luhn_complete("4", 16, rng)
    return num[:-1] + str((int(num[-1]) + rng.randint(1, 9)) % 10)


def _bsn_from(rng: random.Random) -> str:
    while True:
        d = "".join(rng.choice("0123456789") for _ in range(8))
        total = sum(int(x) * w for x, w in zip(d, range(9, 1, -1), strict=True))
        last = total % 11
        if last < 10 and d[0] != "0":
            return d + str(last)


def _nino(rng: random.Random) -> str:
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    while True:
        pre = rng.choice(first) + rng.choice(second)
        if pre not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    d = _digits(rng, 6)
    suf = rng.choice("ABCD")
    return rng.choice([f"{pre}{d}{suf}", f"{pre} {d[:2]} {d[2:4]} {d[4:]} {suf}", f"{pre} {d} {suf}"])


# ------------------------------------------------------------------------------------------------------
# Templates. ``{X}`` is a gold slot of type X (optionally ``{X:variant}``); lower-case ``{x}`` slots are
# harmless fillers (look-alikes that must survive).

_POS_EN: dict[str, list[str]] = {
    "EMAIL": [
        "Please send the invoice to {EMAIL} instead.",
        "My email is {EMAIL}",
        "you can reach me at {EMAIL} after {time}",
        "I changed my login to {EMAIL} but order {order} still shows the old one.",
        "Email: {EMAIL}",
        "can you cc {EMAIL} on the ticket",
        "It's {EMAIL:spoken} by the way",
        "my address is {EMAIL:spoken}",
    ],
    "PHONE": [
        "Call me back on {PHONE} please.",
        "my number is {PHONE}",
        "You can reach me at {PHONE} after {time}.",
        "Phone: {PHONE}",
        "I tried calling {PHONE} three times about order {order}.",
        "text me at {PHONE} when the parcel ships",
        "new mobile number {PHONE}, old one is gone",
        "The engineer should ring {PHONE} before {time}.",
        "{PHONE} is the best number to call",
        "my daughter's phone {PHONE:faker} is on the account",
        "yeah so the number is {PHONE:spoken}",
    ],
    "CREDENTIAL": [
        "my password is {SECRET_PASSWORD}",
        "the cvv is {SECRET_CVV}",
        "pin: {SECRET_PIN}",
        "card {CARD} cvc {SECRET_CVV}",
    ],
    "CARD": [
        "my card number is {CARD}",
        "Charge it to {CARD} please",
        "I used card {CARD} for order {order}",
        "The payment with {CARD} failed twice.",
        "card: {CARD} exp 09/27",
        "it's a visa, {CARD}",
    ],
    "IBAN": [
        "Please refund {amount} to {IBAN}",
        "My IBAN is {IBAN}",
        "the account number is {IBAN}",
        "I paid from {IBAN} on {date}",
        "Bank account: {IBAN}",
    ],
    "SSN": [
        "My social security number is {SSN}",
        "SSN: {SSN}",
        "for verification, my ssn is {SSN}",
        "last year I gave you {SSN} as my social security number",
    ],
    "NATIONAL_ID": [
        "My national insurance number is {NATIONAL_ID}",
        "NI number: {NATIONAL_ID}",
        "here's my NINO {NATIONAL_ID} for the claim",
    ],
    "IP": [
        "The router's address is {IP}",
        "I was logged in from {IP} when it happened",
        "ping {IP} fails",
        "my IP is {IP}",
    ],
    "URL": [
        "I clicked {URL} and it asked for my password",
        "see {URL}",
        "the reset link {URL} is expired",
    ],
    "ADDRESS": [
        "Please ship it to {ADDRESS} instead",
        "I live at {ADDRESS}",
        "My new address is {ADDRESS}, {city}",
        "the parcel went to {ADDRESS} but I moved",
        "Deliver to {ADDRESS}, {city} {POSTCODE}",
        "I moved to {ADDRESS} last month",
        "address: {ADDRESS}",
    ],
    "POSTCODE": [
        "my postcode is {POSTCODE}",
        "It's {city}, {POSTCODE}",
        "zip code {POSTCODE}",
        "the depot near {POSTCODE} has my parcel",
    ],
    "DOB": [
        "My date of birth is {DOB}",
        "I was born on {DOB}",
        "DOB: {DOB}",
        "born {DOB}, if you need it",
        "my birthday is {DOB}",
    ],
    "PERSON": [
        "Hi, my name is {PERSON} and I have a problem with order {order}",
        "This is {PERSON} from billing.",
        "I'm {PERSON}, I called yesterday",
        "Can I speak with Mr {PERSON_LAST}?",
        "Dear {PERSON},",
        "Kind regards,\n{PERSON}",
        "That fixed it.\n\nThanks again,\n{PERSON}",
        "Please call me back.\n\nTake care,\n{PERSON}",
        "Thanks,\n{PERSON}",
        "the account is in the name of {PERSON}",
        "Hello {PERSON_FIRST}, thanks for waiting.",
        "you're speaking to {PERSON_FIRST}, how can I help?",
        "my name is {PERSON_LOWER}",
        "Mrs {PERSON_LAST} called about the refund",
        "{PERSON:no_cue} called yesterday about order {order}",
        "I spoke to {PERSON:no_cue} last week",
        # email threads: the header and reply lines a mail program writes above quoted history
        "Thanks, that works.\n\nOn {date_text}, {PERSON:header} <{EMAIL}> wrote:\n> Please restart the router.",
        "OK\n\nOn {date_text} at {time}, {PERSON:header} wrote:\n> > order {order} never arrived",
        "-----Original Message-----\nFrom: {PERSON:header}\nSent: {date_text}\nTo: Customer Service\nSubject: RE: order {order}",
        "From: {PERSON:header} [mailto:{EMAIL}]\nSent: {date_text} {time}\nSubject: ticket {ticket}",
        # ... and the surname first, as Outlook and some directories write it ("Jansen, Anna", "de Vries, P.")
        "Sure, Tuesday works.\n\nOn {date_text} at {time} {PERSON_LASTFIRST:header} <{EMAIL}> wrote:\n> Can we book an engineer?",
        "Still broken.\n\nOn {date_text}, {PERSON_LASTFIRST:header} wrote:\n> Please restart the router.",
    ],
}
_POS_NL: dict[str, list[str]] = {
    "EMAIL": [
        "Mijn e-mailadres is {EMAIL}",
        "stuur de factuur naar {EMAIL} aub",
        "Mail me op {EMAIL}",
        "ik heb mijn login veranderd naar {EMAIL}",
        "het is {EMAIL:spoken}",
    ],
    "PHONE": [
        "Bel me terug op {PHONE} alstublieft.",
        "mijn nummer is {PHONE}",
        "U kunt me bereiken op {PHONE} na {time}.",
        "Tel: {PHONE}",
        "Ik heb drie keer {PHONE} gebeld over bestelling {order}.",
        "mijn mobiele nummer is {PHONE}",
        "{PHONE} is mijn nieuwe nummer",
        "stuur een sms naar {PHONE}",
        "het nummer is {PHONE:spoken}",
    ],
    "CREDENTIAL": [
        "mijn wachtwoord is {SECRET_PASSWORD}",
        "de pincode is {SECRET_PIN}",
        "beveiligingscode {SECRET_CVV}",
    ],
    "CARD": ["mijn kaartnummer is {CARD}", "Ik heb betaald met {CARD}", "creditcard {CARD} werd geweigerd"],
    "IBAN": [
        "Stort het bedrag van {amount} terug op {IBAN}",
        "Mijn IBAN is {IBAN}",
        "rekeningnummer {IBAN}",
        "ik heb betaald vanaf {IBAN} op {date}",
    ],
    "BSN": [
        "Mijn BSN is {BSN}",
        "burgerservicenummer: {BSN}",
        "mijn burgerservicenummer is {BSN}",
        "sofinummer {BSN}",
        "BSN {BSN} staat op de brief",
        "Hier is mijn bsn, {BSN}",
        "mijn nummer is {BSN:bare}",
        "{BSN:bare}",
    ],
    "NATIONAL_ID": [
        "Mijn rijksregisternummer is {NATIONAL_ID}",
        "rijksregisternr. {NATIONAL_ID}",
        "mijn nationaal nummer is {NATIONAL_ID}",
    ],
    "IP": ["Mijn IP-adres is {IP}", "de router heeft adres {IP}", "ingelogd vanaf {IP}"],
    "URL": ["ik klikte op {URL} en moest mijn wachtwoord invullen", "zie {URL}"],
    "ADDRESS": [
        "Ik woon op {ADDRESS} in {city}",
        "Mijn nieuwe adres is {ADDRESS}, {POSTCODE} {city}",
        "stuur het naar {ADDRESS}",
        "het pakket is bezorgd op {ADDRESS} maar ik ben verhuisd",
        "adres: {ADDRESS}",
        "Wij zijn verhuisd naar {ADDRESS}.",
    ],
    "POSTCODE": [
        "mijn postcode is {POSTCODE}",
        "Postcode {POSTCODE} en huisnummer {number}",
        "het is {POSTCODE} {city}",
    ],
    "DOB": ["Mijn geboortedatum is {DOB}", "ik ben geboren op {DOB}", "geb. {DOB}", "geboren {DOB}"],
    "PERSON": [
        "Goedemiddag, u spreekt met {PERSON} van de klantenservice.",
        "Mijn naam is {PERSON}",
        "met {PERSON}, goedemorgen",
        "Spreek ik met meneer {PERSON_LAST}?",
        "Ik ben {PERSON_FIRST} en ik bel over {order}",
        "Met vriendelijke groet,\n{PERSON}",
        "Het werkt weer.\n\nBedankt,\n{PERSON}",
        "Graag een reactie.\n\nAlvast bedankt,\n{PERSON}",
        "Beste {PERSON_FIRST},",
        "mevrouw {PERSON_LAST} heeft gebeld",
        "de rekening staat op naam van {PERSON}",
        "Geachte heer {PERSON_LAST},",
        "ik heet {PERSON_LOWER}",
        "{PERSON:no_cue} heeft gisteren gebeld",
        "ik heb met {PERSON:no_cue} gesproken",
        # e-mailthreads: de kop- en antwoordregels die een mailprogramma boven de geciteerde tekst zet
        "Bedankt, het werkt weer.\n\nOp {date_text} om {time} schreef {PERSON:header} <{EMAIL}>:\n> Wilt u de router herstarten?",
        "Op {date_text} heeft {PERSON:header} het volgende geschreven:\n\n> bestelling {order} is niet aangekomen",
        "-----Oorspronkelijk bericht-----\nVan: {PERSON:header}\nVerzonden: {date_text}\nAan: Klantenservice\nOnderwerp: Antw: bestelling {order}",
        "Van: {PERSON:header} <{EMAIL}>\nDatum: {date_text}\nOnderwerp: ticket {ticket}",
        "Dinsdag is goed.\n\nOp {date_text} om {time} schreef {PERSON_LASTFIRST:header} <{EMAIL}>:\n> Zullen we een monteur inplannen?",
        "Nog steeds kapot.\n\nOp {date_text} schreef {PERSON_LASTFIRST:header}:\n> Wilt u de router herstarten?",
    ],
}
#: PII-free chatter: most real utterances look like this (used by :func:`typical_utterances`).
_CHAT_EN = [
    "Hi, I have a question about my last bill.",
    "Can I talk to a real person please?",
    "The app logs me out every time I open it.",
    "Thanks, that solved it!",
    "Why is my internet so slow tonight?",
    "I want to cancel my subscription.",
    "This is the third time I'm calling about the same problem.",
    "Could you check whether the refund has been processed?",
    "ok",
    "yes please",
    "no that's all, thank you",
    "The package says delivered but nothing is here.",
    "How do I change my password?",
    "I've been waiting for over an hour, this is ridiculous.",
    "Is there a cheaper plan available?",
    "My router keeps blinking orange.",
    "I never ordered this.",
    "Can you send me a confirmation by email?",
]
_CHAT_NL = [
    "Hallo, ik heb een vraag over mijn laatste rekening.",
    "Kan ik iemand spreken alstublieft?",
    "De app logt me steeds uit.",
    "Bedankt, het werkt weer!",
    "Waarom is mijn internet zo traag?",
    "Ik wil mijn abonnement opzeggen.",
    "Dit is al de derde keer dat ik bel over hetzelfde probleem.",
    "Kunt u kijken of de terugbetaling al is verwerkt?",
    "ok",
    "ja graag",
    "nee dat was het, dank u wel",
    "Volgens de track en trace is het bezorgd maar ik heb niets ontvangen.",
    "Hoe verander ik mijn wachtwoord?",
    "Ik wacht al meer dan een uur, dit is belachelijk.",
    "Is er een goedkoper abonnement?",
    "Mijn modem knippert oranje.",
    "Dit heb ik nooit besteld.",
    "Kunt u mij een bevestiging mailen?",
]
_NEG_EN = [
    "I'm talking to my lawyer about order {order}",
    "Where is my order {order}? It was due on {date}.",
    "I was charged {amount} twice on {date}",
    "The delivery slot is {time} to {time2}.",
    "Ticket {ticket} is still open after {n} days",
    "Product code {sku} is out of stock",
    "Tracking number {tracking} shows no movement",
    "Invoice {invoice} says {amount}, but I expected {amount2}",
    "I need {n} units of {sku} by {date}",
    "version {version} of the app keeps crashing",
    "My plan is {n} GB for {amount} a month",
    "order {order9} arrived damaged",
    "transaction {txn} failed at {time}",
    "reference number {ref} please",
    "I bought it on {date_text} for {amount}",
    "the meeting is on {date} at {time}",
    "Can you call me back? I'm not happy with the service.",
    "I'd like to speak to a human please",
    "My account has been locked since {date}",
    "Why was my card declined? It's valid until 09/27.",
    "The case number is {order} and my customer number is {ref}",
    "Room 4 on floor 2, desk 15",
    "I waited 45 minutes on hold",
    "the invoice from 2023 was {amount}",
    "Card ending in {last4} was charged {amount}",
]
_NEG_NL = [
    "ik spreek met mijn advocaat over bestelling {order}",
    "Waar is mijn bestelling {order}? Die zou op {date} komen.",
    "Er is twee keer {amount} afgeschreven op {date}",
    "Het bezorgmoment is tussen {time} en {time2}.",
    "Ticket {ticket} staat al {n} dagen open",
    "Artikelnummer {sku} is niet op voorraad",
    "Track & trace {tracking} zegt niets",
    "Factuur {invoice} is {amount}, ik verwachtte {amount2}",
    "ordernummer {order9} is beschadigd aangekomen",
    "klantnummer {ref} graag",
    "Ik heb het op {date_text} gekocht voor {amount}",
    "versie {version} crasht steeds",
    "Ik wil graag een medewerker spreken",
    "Mijn abonnement is {n} GB voor {amount} per maand",
    "transactie {txn} is mislukt om {time}",
    "Ik heb {n} minuten in de wacht gestaan",
    "de kaart eindigend op {last4} is belast met {amount}",
    "bestelnummer {order9}",
]


class CorpusGenerator:
    """Builds samples deterministically from ``seed`` (same seed, same corpus)."""

    def __init__(self, seed: int = 1) -> None:
        from faker import Faker  # dev dependency; imported here so importing this module stays cheap

        self.rng = random.Random(seed)
        self.fakers: dict[str, Any] = {}
        for i, loc in enumerate(("en_US", "en_GB", "nl_NL", "nl_BE", "de_DE", "fr_FR")):
            f = Faker(loc)
            f.seed_instance(seed * 1000 + i)
            self.fakers[loc] = f

    # -- values ------------------------------------------------------------------------------------------

    def _loc(self, language: str) -> str:
        if language == "en":
            return self.rng.choice(["en_US", "en_GB"])
        return self.rng.choice(["nl_NL", "nl_NL", "nl_BE"])

    def value(self, slot: str, variant: str, language: str, loc: str) -> str | tuple[str, str]:
        """A value for a gold slot; a ``(prefix, value)`` pair puts a non-gold prefix before it."""
        rng = self.rng
        f = self.fakers[loc]
        if slot == "EMAIL":
            if variant == "spoken":
                first, last = f.first_name().lower(), f.last_name().lower().replace(" ", "")
                dot = "dot" if language == "en" else rng.choice(["punt", "dot"])
                at = "at" if language == "en" else rng.choice(["at", "apenstaartje"])
                dom = rng.choice(["gmail", "hotmail", "outlook", "ziggo", "kpnmail", "yahoo"])
                tld = rng.choice(
                    ["com", "nl", "be", "co dot uk"] if language == "nl" else ["com", "co dot uk", "net"]
                )
                return f"{first} {dot} {last} {at} {dom} {dot} {tld}"
            e = rng.choice([f.email(), f.free_email(), f.company_email(), f.ascii_safe_email()])
            return e.upper() if rng.random() < 0.05 else e
        if slot == "PHONE":
            if variant == "spoken":
                words = _DIGIT_WORDS_EN if language == "en" else _DIGIT_WORDS_NL
                region = "GB" if language == "en" else "NL"
                ph = _make_phone(rng, region)
                return " ".join(words[int(d)] for d in ph.trunk + ph.national)
            if variant == "faker":
                return str(self.fakers[rng.choice(["en_US", "en_GB"])].phone_number())
            regions = (
                ["US", "GB", "US", "DE", "FR", "NL", "BE"]
                if language == "en"
                else ["NL", "NL", "BE", "DE", "GB"]
            )
            region = rng.choice(regions)
            if language == "en" and loc == "en_GB" and rng.random() < 0.5:
                region = "GB"
            return _format_phone(rng, _make_phone(rng, region))
        if slot == "CARD":
            return _card(rng)
        if slot == "SECRET_PASSWORD":
            return str(f.password(length=rng.randint(8, 14), special_chars=rng.random() < 0.5))
        if slot == "SECRET_PIN":
            return _digits(rng, rng.choice([4, 4, 5, 6]))
        if slot == "SECRET_CVV":
            return _digits(rng, rng.choice([3, 3, 4]))
        if slot == "IBAN":
            src = rng.choice(["nl_NL", "nl_NL", "nl_BE", "en_GB", "de_DE", "fr_FR"])
            iban = str(self.fakers[src].iban())
            style = rng.random()
            if style < 0.5:
                return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            if style < 0.6:
                return iban.lower()
            return iban
        if slot == "SSN":
            ssn = str(self.fakers["en_US"].ssn())
            style = rng.random()
            if style < 0.2:
                return ssn.replace("-", " ")
            if style < 0.35:
                return ssn.replace("-", "")
            return ssn
        if slot == "BSN":
            bsn = str(self.fakers["nl_NL"].ssn()) if rng.random() < 0.7 else _bsn_from(rng)
            style = rng.random()
            if style < 0.15:
                return f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}"
            if style < 0.25:
                return f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}"
            return bsn
        if slot == "NATIONAL_ID":
            if language == "en":
                return _nino(rng)
            rrn = str(self.fakers["nl_BE"].ssn())
            return rng.choice([rrn, f"{rrn[:2]}.{rrn[2:4]}.{rrn[4:6]}-{rrn[6:9]}.{rrn[9:]}"])
        if slot == "IP":
            f0 = self.fakers["en_US"]
            return rng.choice([f0.ipv4(), f0.ipv4_private(), f0.ipv4_public(), f0.ipv6()])
        if slot == "URL":
            f0 = self.fakers[loc]
            base = f0.url().rstrip("/")
            return rng.choice(
                [
                    base, f"{base}/account/reset?token={f0.sha1()[:16]}", f"{base}/{f0.uri_path()}",
                    f"www.{f0.domain_name()}/login?user={f0.user_name()}",
                ]
            )  # fmt: skip
        if slot == "ADDRESS":
            addr = str(f.street_address()).replace("\n", ", " if rng.random() < 0.5 else "\n")
            return addr
        if slot == "POSTCODE":
            if loc == "en_US":
                # the state is not PII on its own: only the ZIP is gold
                return (f"{self.fakers['en_US'].state_abbr()} ", str(self.fakers["en_US"].zipcode()))
            if loc in ("nl_NL",):
                pc = str(f.postcode()).replace(" ", "")
                while pc[4:] in ("SA", "SD", "SS"):  # letter pairs PostNL never issues
                    pc = str(f.postcode()).replace(" ", "")
                return rng.choice([pc, f"{pc[:4]} {pc[4:]}"])
            if loc == "nl_BE":
                return str(f.postcode())
            return str(f.postcode())
        if slot == "DOB":
            d = f.date_of_birth(minimum_age=18, maximum_age=90)
            months_en = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]  # fmt: skip
            months_nl = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                         "oktober", "november", "december"]  # fmt: skip
            style = rng.random()
            if style < 0.3:
                return d.strftime(rng.choice(["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"]))
            if style < 0.45:
                return d.strftime("%m/%d/%Y" if language == "en" else "%d-%m-%Y")
            if style < 0.55:
                return d.isoformat()
            months = months_en if language == "en" else months_nl
            if language == "en" and rng.random() < 0.5:
                return f"{months[d.month - 1]} {d.day}, {d.year}"
            return f"{d.day} {months[d.month - 1]} {d.year}"
        raise KeyError(slot)

    def person(self, kind: str, loc: str) -> str:
        f = self.fakers[loc]
        if kind == "PERSON_FIRST":
            return str(f.first_name())
        if kind == "PERSON_LAST":
            return str(f.last_name())
        if kind == "PERSON_LOWER":
            return f"{f.first_name()} {f.last_name()}".lower()
        if kind == "PERSON_LASTFIRST":
            first = str(f.first_name())
            return f"{f.last_name()}, {first if self.rng.random() < 0.5 else first[0] + '.'}"
        return str(f.first_name() + " " + f.last_name()) if self.rng.random() < 0.8 else str(f.name())

    def filler(self, slot: str, language: str, loc: str) -> str:
        rng = self.rng
        f = self.fakers[loc]
        if slot == "order":
            return rng.choice(
                [f"#{_digits(rng, 7)}", _digits(rng, rng.choice([6, 7, 8])), f"A{_digits(rng, 8)}"]
            )
        if slot == "order9":
            return _digits(rng, 9, "123456789")
        if slot == "amount" or slot == "amount2":
            v = rng.uniform(1, 3000)
            return rng.choice([f"€{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."), f"${v:,.2f}",
                               f"£{v:.2f}", f"{v:.2f} euro", f"EUR {int(v)}"])  # fmt: skip
        if slot in ("time", "time2"):
            return rng.choice([f"{rng.randint(7, 21)}:{rng.choice(['00', '15', '30', '45'])}",
                               f"{rng.randint(1, 12)}pm", f"{rng.randint(7, 21)}.{rng.choice(['00', '30'])} uur"])  # fmt: skip
        if slot == "date":
            d = f.date_between(start_date="-2y", end_date="+30d")
            return d.strftime(rng.choice(["%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"]))
        if slot == "date_text":
            d = f.date_between(start_date="-2y", end_date="today")
            return d.strftime("%d %B %Y") if language == "en" else d.strftime("%d-%m-%Y")
        if slot == "ticket":
            return rng.choice([f"#{_digits(rng, 6)}", f"INC{_digits(rng, 7)}", f"T-{_digits(rng, 5)}"])
        if slot == "sku":
            return rng.choice([f"{f.lexify('??').upper()}-{_digits(rng, 5)}-{f.lexify('?').upper()}",
                               f"SKU{_digits(rng, 8)}", f"{_digits(rng, 4)} {f.lexify('??').upper()}",
                               f"XPS-{_digits(rng, 4)}"])  # fmt: skip
        if slot == "tracking":
            return rng.choice([f"1Z{f.bothify('???#####??########').upper()}", f"3S{f.bothify('????#######').upper()}",
                               _digits(rng, 12), _digits(rng, 22, "9")])  # fmt: skip
        if slot == "invoice":
            return rng.choice([f"INV-{rng.randint(2019, 2025)}-{_digits(rng, 5)}", f"F{_digits(rng, 9)}"])
        if slot == "n":
            return str(rng.randint(2, 60))
        if slot == "number":
            return str(rng.randint(1, 250))
        if slot == "version":
            return f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        if slot == "txn":
            return _digits(rng, rng.choice([10, 12, 14]))
        if slot == "ref":
            return rng.choice([_digits(rng, 9), _digits(rng, 8), f"KL{_digits(rng, 6)}"])
        if slot == "last4":
            return _digits(rng, 4)
        if slot == "city":
            return str(f.city())
        raise KeyError(slot)

    # -- samples -----------------------------------------------------------------------------------------

    def _render(self, template: str, language: str, kind: str) -> Sample:
        loc = self._loc(language)
        parts: list[str] = []
        ents: list[Entity] = []
        pos = 0
        length = 0
        for m in re.finditer(r"\{(\w+)(?::(\w+))?\}", template):
            lit = template[pos : m.start()]
            parts.append(lit)
            length += len(lit)
            slot, variant = m.group(1), m.group(2) or ""
            got: str | tuple[str, str]
            if slot.startswith("PERSON"):
                got, label = self.person(slot, loc), "PERSON"
            elif slot.isupper():
                label = "CREDENTIAL" if slot.startswith("SECRET_") else slot
                got = self.value(slot, variant, language, loc)
            else:
                got, label = self.filler(slot, language, loc), ""
            if isinstance(got, tuple):
                parts.append(got[0])
                length += len(got[0])
                got = got[1]
            val = got
            if label:
                ents.append(Entity(length, length + len(val), label, variant))
            parts.append(val)
            length += len(val)
            pos = m.end()
        parts.append(template[pos:])
        text = "".join(parts)
        return Sample(text, language, tuple(ents), kind, template)

    def sample(self, negative_share: float = 0.2) -> Sample:
        language = "en" if self.rng.random() < 0.5 else "nl"
        if self.rng.random() < negative_share:
            t = self.rng.choice(_NEG_EN if language == "en" else _NEG_NL)
            if self.rng.random() < 0.2:
                t = self.rng.choice(_CHAT_EN if language == "en" else _CHAT_NL)
            return self._render(t, language, "negative")
        table = _POS_EN if language == "en" else _POS_NL
        label = self.rng.choice(sorted(table))
        t = self.rng.choice(table[label])
        return self._render(t, language, "positive")

    def luhn_invalid_card(self) -> str:
        return _luhn_invalid_16(self.rng)


def generate(n: int, seed: int = 1, negative_share: float = 0.2) -> Iterator[Sample]:
    """Yield ``n`` samples; the same ``(n, seed)`` always gives the same corpus."""
    gen = CorpusGenerator(seed)
    for _ in range(n):
        yield gen.sample(negative_share)


def typical_utterances(n: int, seed: int = 1) -> list[str]:
    """Short customer utterances in a plausible traffic mix, for throughput runs: 60% PII-free chatter,
    25% utterances with numeric look-alikes (order numbers, amounts, dates), 15% with PII."""
    gen = CorpusGenerator(seed)
    out: list[str] = []
    for _ in range(n):
        r = gen.rng.random()
        if r < 0.6:
            out.append(gen.rng.choice(_CHAT_EN + _CHAT_NL))
        elif r < 0.85:
            out.append(gen.sample(negative_share=1.0).text)
        else:
            out.append(gen.sample(negative_share=0.0).text)
    return out


#: Per-type factories exposed for tests that need one value of a type.
def one_value(label: str, seed: int = 1, language: str = "en") -> str:
    gen = CorpusGenerator(seed)
    loc = gen._loc(language)
    if label == "PERSON":
        return gen.person("PERSON", loc)
    val = gen.value(label, "", language, loc)
    return val[1] if isinstance(val, tuple) else val
