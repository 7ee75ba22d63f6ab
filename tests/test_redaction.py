"""Tests of streams.redaction: per-type examples (English and Dutch), checksum and look-alike negatives,
configuration switches, fail-closed behaviour and properties (never raises, never leaks, bounded time)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.pii_corpus import CorpusGenerator
from streams.redaction import (
    DEFAULT_ENTITIES,
    ENTITY_TYPES,
    FAILED_PLACEHOLDER,
    TRUNCATED_MARKER,
    Redaction,
    RedactionConfig,
    Redactor,
    bsn_valid,
    iban_valid,
    luhn_valid,
)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


# --- one example per type and language: (text, language, the PII substring, expected placeholder) ------
POSITIVES = [
    ("Mail me at jan.jansen@example.nl please", "nl", "jan.jansen@example.nl", "EMAIL"),
    ("My email is Sarah.O'Neil+billing@mail.co.uk", "en", "Sarah.O'Neil+billing@mail.co.uk", "EMAIL"),
    ("it's jan dot smit at gmail dot com", "en", "jan dot smit at gmail dot com", "EMAIL"),
    ("Call me back on +31 6 12345678 tomorrow", "en", "+31 6 12345678", "PHONE"),
    ("bel me op 06-12345678", "nl", "06-12345678", "PHONE"),
    ("mijn nummer is 020 - 123 45 67", "nl", "020 - 123 45 67", "PHONE"),
    ("my number is (212) 555-0143", "en", "(212) 555-0143", "PHONE"),
    ("ring 212.555.0143 after 5", "en", "212.555.0143", "PHONE"),
    ("call 07700 900123 or 0161 496 0000", "en", "0161 496 0000", "PHONE"),
    ("0032 470 12 34 56 is mijn gsm", "nl", "0032 470 12 34 56", "PHONE"),
    ("Tel: +44 (0)20 7946 0958", "en", "+44 (0)20 7946 0958", "PHONE"),
    ("phone: +1-651-524-0404x39404", "en", "+1-651-524-0404x39404", "PHONE"),
    ("my card number is 4111 1111 1111 1111", "en", "4111 1111 1111 1111", "CARD"),
    ("Charge it to 5500-0000-0000-0004 please", "en", "5500-0000-0000-0004", "CARD"),
    ("amex 3782 822463 10005", "en", "3782 822463 10005", "CARD"),
    ("kaartnummer 4111111111111111", "nl", "4111111111111111", "CARD"),
    ("Mijn IBAN is NL91 ABNA 0417 1643 00", "nl", "NL91 ABNA 0417 1643 00", "IBAN"),
    ("refund to nl91abna0417164300.", "en", "nl91abna0417164300", "IBAN"),
    ("rekening BE68539007547034", "nl", "BE68539007547034", "IBAN"),
    ("IBAN: GB82 WEST 1234 5698 7654 32", "en", "GB82 WEST 1234 5698 7654 32", "IBAN"),
    ("My SSN is 123-45-6789", "en", "123-45-6789", "SSN"),
    ("I gave you 123456789 as my social security number", "en", "123456789", "SSN"),
    ("mijn BSN is 111222333", "nl", "111222333", "BSN"),
    ("burgerservicenummer: 1234.56.782", "nl", "1234.56.782", "BSN"),
    ("NINO QQ 12 34 56 C", "en", "QQ 12 34 56 C", "NATIONAL_ID"),
    ("rijksregisternummer 85.07.30-033.28", "nl", "85.07.30-033.28", "NATIONAL_ID"),
    ("logged in from 192.168.1.20 yesterday", "en", "192.168.1.20", "IP"),
    ("ip fe80::1ff:fe23:4567:890a", "en", "fe80::1ff:fe23:4567:890a", "IP"),
    (
        "the reset link https://shop.example/reset?token=abc123 failed",
        "en",
        "https://shop.example/reset?token=abc123",
        "URL",
    ),
    ("I live at 221B Baker Street", "en", "221B Baker Street", "ADDRESS"),
    ("ship it to 736 David Port Suite 470", "en", "736 David Port Suite 470", "ADDRESS"),
    ("Ik woon op de Kerkstraat 12a in Utrecht", "nl", "Kerkstraat 12a", "ADDRESS"),
    ("verhuisd naar Prins Hendrikkade 104-II.", "nl", "Prins Hendrikkade 104-II", "ADDRESS"),
    ("postcode 1234 AB", "nl", "1234 AB", "POSTCODE"),
    ("London NW1 6XE", "en", "NW1 6XE", "POSTCODE"),
    ("Springfield, IL 62704", "en", "62704", "POSTCODE"),
    ("Kerkstraat 5, 2000 Antwerpen", "nl", "2000", "POSTCODE"),
    ("I was born on 12 March 1985", "en", "12 March 1985", "DOB"),
    ("DOB: 03/04/1990", "en", "03/04/1990", "DOB"),
    ("geboren op 3 april 1990", "nl", "3 april 1990", "DOB"),
    ("Hi, my name is John Smith and I need help", "en", "John Smith", "PERSON"),
    ("This is Sarah from billing", "en", "Sarah", "PERSON"),
    ("Can I speak with Mrs O'Connor?", "en", "O'Connor", "PERSON"),
    ("Kind regards,\nEmma Thompson", "en", "Emma Thompson", "PERSON"),
    ("Goedemiddag, u spreekt met Jan de Vries van de klantenservice", "nl", "Jan de Vries", "PERSON"),
    ("Spreek ik met mevrouw van der Berg?", "nl", "van der Berg", "PERSON"),
    ("Met vriendelijke groet,\nPieter Bakker", "nl", "Pieter Bakker", "PERSON"),
    ("mijn naam is fatima el amrani", "nl", "fatima el amrani", "PERSON"),
    ("Ik ben Fatima en ik bel over mijn bestelling", "nl", "Fatima", "PERSON"),
    ("I’m Fatima, hi", "en", "Fatima", "PERSON"),
    ("Dit is Sanne van de klantenservice", "nl", "Sanne", "PERSON"),
    ("my husband Peter Jansen called", "en", "Peter Jansen", "PERSON"),
    ("m.v.g.\nKees", "nl", "Kees", "PERSON"),
    ("her name was Anna", "en", "Anna", "PERSON"),
    ("kan ik Piet spreken?", "nl", "Piet", "PERSON"),
    ("yeah my number is oh six one two three four five six seven eight", "en", "six one two three", "PHONE"),
    ("mijn nummer is nul zes een twee drie vier vijf zes zeven acht", "nl", "een twee drie", "PHONE"),
    (
        "my card is four one one one one one one one one one one one one one one one",
        "en",
        "four one one",
        "CARD",
    ),
    ("wachtwoord is Geheim123!", "nl", "Geheim123!", "CREDENTIAL"),
    ("exp 04/26, cvv 123", "en", "123", "CREDENTIAL"),
    ("my pin is 1234", "en", "1234", "CREDENTIAL"),
    ("My new address is Flat 69, Reed Loaf, East Samuelton", "en", "Reed Loaf", "ADDRESS"),  # a USPS street type
    # seen in new corpus draws: a Belgian number with dots is not an IP, a "+" number not a card, "o'brien" spoken
    ("my number is +32 71.25.12.47", "en", "25.12.47", "PHONE"),
    ("mijn nummer is +32 (0)53.58.42.23", "nl", "58.42.23", "PHONE"),
    ("+49-171-62573787 is mijn nieuwe nummer", "nl", "62573787", "PHONE"),
    ("my address is charles dot o'brien at ziggo dot net", "en", "charles", "EMAIL"),
    # "één" spoken: the redactor raised on it and the worker replaced the whole utterance (blind PII probe)
    ("mijn gsm is nul vier zeven acht twee vijf drie één nul negen", "nl", "vier zeven", "PHONE"),
    # what the blind probe (models/data/probes/pii_blind.jsonl) showed missing: forms, account holders, who the
    # customer spoke to, names with Latin Extended-A letters, a name alone on an email's last line, codes said
    # with words between, flats before an address, a word spelled letter by letter, a spaced rijksregisternummer
    ("Account holder: Callum MacLeod.", "en", "MacLeod", "PERSON"),
    ("Please send the refund there (my German account, name Lukas Brenner)", "en", "Brenner", "PERSON"),
    ("Tenaamstelling W. ter Horst", "nl", "Horst", "PERSON"),
    ("Voornaam: Dewi\nAchternaam: Soerjadi\nGeboortedatum: 1 mei 1980", "nl", "Soerjadi", "PERSON"),
    ("Called 3 times, spoke to Hannah and Yusuf, still no refund.", "en", "Yusuf", "PERSON"),
    ("3x gebeld, gesproken met Hanneke en Yusuf, nog steeds niks.", "nl", "Hanneke", "PERSON"),
    ("Ik heb gisteren met Fatima gesproken en zij zou bellen.", "nl", "Fatima", "PERSON"),
    ("Applicants: Piotr Nowak (born 5 January 1988) and Joanna Nowak (born 19 October 1989).", "en", "Joanna", "PERSON"),
    ("Hallo, Krzysztof Wiśniewski hier.", "nl", "Wiśniewski", "PERSON"),
    ("mijn vader Mustafa Yıldız heeft een contract", "nl", "Yıldız", "PERSON"),
    ("Thanks for the quick answer.\n\nOlusegun Adeyemi", "en", "Adeyemi", "PERSON"),
    ("Yes, that is right.\n\nDaniel\n\nOn Tue, 14 May 2024 at 10:02, Laura <l@x.com> wrote:\n> Dear Daniel,", "en", "\nDaniel\n", "PERSON"),
    ("Best regards,\n\nRebecca Ashworth-Lloyd\nOffice Manager | Kestrel Logistics Ltd", "en", "Ashworth", "PERSON"),
    ("yeah my name is callum m a c l e o d and i'm calling", "en", "m a c l e o d", "PERSON"),
    ("de achternaam is dat is k o w a l c z y k", "nl", "k o w a l", "PERSON"),
    ("ok the code I just got by text is 583 916", "en", "583 916", "CREDENTIAL"),
    ("pin for the card is 4471 but it keeps getting declined", "en", "4471", "CREDENTIAL"),
    ("De verificatiecode die ik kreeg is 482913", "nl", "482913", "CREDENTIAL"),
    ("the pin they sent is seven seven three one", "en", "seven seven three one", "CREDENTIAL"),
    ("mijn wachtwoord is eh hondje123 maar dat werkt niet", "nl", "hondje123", "CREDENTIAL"),
    ("mijn wachtwoord is euh Bello123 maar dat werkt niet", "nl", "Bello123", "CREDENTIAL"),
    ("The courier left a card. Address is Flat 3, 27 Harcourt Road, M14 5LS.", "en", "Flat 3", "ADDRESS"),
    ("Address: 3/2, 41 Dumbarton Road, Glasgow G11 6PA", "en", "3/2", "ADDRESS"),
    ("delivery address Flat 7, Rowan Court, Beech Lane, LS6 2QT.", "en", "Beech Lane", "ADDRESS"),
    ("mijn rijksregisternummer is 92 11 04 118 25", "nl", "118 25", "NATIONAL_ID"),
    ("> Kind regards, Laura (Customer Care)", "en", "Laura", "PERSON"),
    ("> Met vriendelijke groet,\n> Esther - Klantenservice", "nl", "Esther", "PERSON"),
    ("Photos attached.\n\nPriya\n07700 900 874", "en", "Priya", "PERSON"),
    ("nobody has come.\n\nNadia Hussain\nTenant ref: T-00418822", "en", "Hussain", "PERSON"),
    ("send post to 4 Main Street, Kilkenny, R95 K7F2.", "en", "R95 K7F2", "POSTCODE"),
    # ... and the second blind probe (pii_blind2.jsonl)
    ("Hello, I'm trying to claim for physio. My PPS is 7442597R.", "en", "7442597R", "NATIONAL_ID"),
    ("PPSN: 6016554LW\nQuery: I was charged twice", "en", "6016554LW", "NATIONAL_ID"),
    ("I reset the password to Sunflower!88 and it still says invalid.", "en", "Sunflower", "CREDENTIAL"),
    ("Ik heb een nieuw wachtwoord aangemaakt (Zomer2023!!) maar het werkt niet.", "nl", "Zomer2023", "CREDENTIAL"),
    ("okay and the security code is four one three", "en", "four one three", "CREDENTIAL"),
    ("het kaartnummer klopt en de cvc is eh zeven twee negen", "nl", "zeven twee negen", "CREDENTIAL"),
    ("Mijn vriendin heet Priscilla Martina, maar haar naam staat verkeerd.", "nl", "Martina", "PERSON"),
    ("Driver: Tomasz Wiśniewski, phone 07911 123456.", "en", "Wiśniewski", "PERSON"),
    ("Naam passagier: Adaeze Nwachukwu\nBoekingscode: R4TL9M", "nl", "Nwachukwu", "PERSON"),
    ("I'm writing on behalf of my client, Harold Jenkins (policy 44).", "en", "Jenkins", "PERSON"),
    ("sure and the name on the account is derek okafor", "en", "okafor", "PERSON"),
    ("abonnement staat op naam Ionuț Popescu. Kunnen jullie helpen?", "nl", "Ionuț", "PERSON"),
    ("Kindly restore the line at Flat 7, Rutland Court, 112 Soho Road, Birmingham B21 9LR.", "en", "Rutland", "ADDRESS"),
    ("een aanslag voor Laan van Meerdervoort 210 3 hoog, maar ik woon daar niet meer", "nl", "hoog", "ADDRESS"),
    # numbers read out in pairs, with hundreds or "double"; birth dates said in words
    ("the number is oh seven seven double oh nine hundred four eight one", "en", "nine hundred", "PHONE"),
    ("mijn nummer is nul zes eenendertig tweeënveertig negentien zeventig", "nl", "eenendertig", "PHONE"),
    ("dat is nul vier zes acht, eenentwintig, drieënnegentig, zevenenveertig", "nl", "drieënnegentig", "PHONE"),
    ("date of birth uh the twenty first of november nineteen seventy six", "en", "november", "DOB"),
    ("mijn geboortedatum is eh drie mei negentienhonderd negenenvijftig", "nl", "mei", "DOB"),
    ("my date of birth is the third of april two thousand and one", "en", "april", "DOB"),
    # sign-offs that end an email ("Bedankt," was missed until the simulator's emails showed it)
    ("Het werkt weer.\n\nBedankt,\nAnna de Vries", "nl", "Vries", "PERSON"),
    ("Graag een reactie.\n\nAlvast bedankt,\nPieter Jansen", "nl", "Jansen", "PERSON"),
    ("Dank u wel,\nFatima El Amrani", "nl", "Amrani", "PERSON"),
    ("That fixed it.\n\nThanks again,\nJohn Miller", "en", "Miller", "PERSON"),
    ("Please call me back.\n\nTake care,\nWei Chen", "en", "Chen", "PERSON"),
    # email threads: the people in a mail program's header and reply lines
    ("Thanks!\n\nOn Mon, 3 Dec 2026 at 10:15, Anna Jansen <anna@example.com> wrote:\n> Hi", "en", "Anna Jansen", "PERSON"),
    ("OK\n\nOn Sun, 2 Dec 2026, Anna Jansen wrote:\n> hi", "en", "Anna Jansen", "PERSON"),
    ("Top\n\nOp ma 3 dec. 2026 om 10:15 schreef Pieter de Vries:\n> hoi", "nl", "Pieter de Vries", "PERSON"),
    ("Op 3 dec. 2026 om 10:15 heeft Pieter de Vries het volgende geschreven:\n\n> hoi", "nl", "Pieter de Vries", "PERSON"),
    ("-----Original Message-----\nFrom: Anna\nSent: Sunday, December 2, 2026\nSubject: complaint", "en", "Anna", "PERSON"),
    ("> Van: Jansen, Anna <anna@x.nl>\n> Verzonden: maandag 3 december 2026", "nl", "Jansen, Anna", "PERSON"),
    ("Cc: Bob Smith; Carla Gomez\nSubject: RE: refund", "en", "Carla Gomez", "PERSON"),
    ("Van: Alex 's Gravensande\nAan: Klantenservice", "nl", "'s Gravensande", "PERSON"),
    ('From: "Smith, John" <john@example.com>', "en", "Smith, John", "PERSON"),
    ("From: John Smith [mailto:john@example.com]\nSent: Monday", "en", "John Smith", "PERSON"),
    ("Le lun. 3 déc. 2026 à 10:15, Marie Dubois <marie@example.fr> a écrit :", "en", "Marie Dubois", "PERSON"),
    # ... with the surname first, unquoted, as Gmail and Outlook copy a directory's display name
    ("OK\n\nOn Mon, Dec 3, 2026 at 10:00 AM Jansen, Anna <anna@x.nl> wrote:\n> hi", "en", "Jansen", "PERSON"),
    ("On 3 Dec 2026, at 10:00, Smith, John wrote:\n> hi", "en", "Smith", "PERSON"),
    ("Top\n\nOp 3 dec. 2026 schreef de Vries, P.:\n> hoi", "nl", "Vries, P.", "PERSON"),
    ("Op 10-11-2025 schreef Bijlsma, Lot:\n> hoi", "nl", "Lot", "PERSON"),
    ("Op ma 3 dec 2026 om 10:00 schreef van der Berg, J. <j@x.nl>:", "nl", "Berg, J.", "PERSON"),
    ("Am 03.12.2026 um 10:00 schrieb Müller, Hans <hans@x.de>:", "en", "Müller", "PERSON"),
]


@pytest.mark.parametrize(("text", "language", "pii", "label"), POSITIVES)
def test_each_type_is_redacted(redactor: Redactor, text: str, language: str, pii: str, label: str) -> None:
    out = redactor.redact(text, language)
    assert pii not in out.text
    assert f"<{label}>" in out.text
    assert out.counts.get(label, 0) >= 1
    assert set(out.counts) <= set(ENTITY_TYPES)


# --- look-alikes that must survive untouched -----------------------------------------------------------
NEGATIVES = [
    "card 4111 1111 1111 1112 was declined",  # Luhn-invalid 16 digits
    "the number 1234 5678 9012 3456 is on the box",  # Luhn-invalid
    "IBAN NL91 1234 5678 9012 34",  # wrong mod-97 checksum and no bank code (Dutch IBANs have four letters)
    "ordernummer 123456782",  # passes the 11-test but has no BSN context
    "klantnummer 111222334",
    "Where is my order #4839201? It was due on 12-03-2024.",
    "I was charged €1.234,56 twice on 03/04/2024",
    "The delivery slot is 14:30 to 16:00.",
    "Product code AB-12345-X is out of stock",
    "version 2.4.1 keeps crashing",
    "my plan is 20 GB for 1500 MB extra",
    "transaction 19079706672279 failed at 11pm",
    "Artikelnummer 2494 GW is niet op voorraad",
    "I bought it on 12 March 2024 for $99.99",
    "I'm Dutch, sorry",
    "I'm very angry about this",
    "Hi there, thanks for the help",
    "Hello Team,",
    "I walked 2 miles down the road",
    "Ik heb 45 minuten in de wacht gestaan",
    "Can you call me back? I'm not happy.",
    "ticket INC0012345 is still open",
    "Room 4 on floor 2, desk 15",
    "the password reset link does not work",
    "kan ik jou iets vragen",
    "Can I speak to Someone please",
    "I have one or two questions about three or four items",
    "Hello, I've got a couple of questions about my bill.",  # "I've" has the shape of "O'Brien"
    "Hi, I'll call back later.",
    "Good morning, I’ve been waiting since Monday.",
    # header lines that hold no person, and a year after its month (not a Belgian postcode before a name)
    "-----Original Message-----\nTo: Customer Service\nSubject: RE: order 4839201",
    "Aan: Klantenservice\nOnderwerp: Antw: bestelling",
    "I want this fixed. To: whom it may concern",
    "It broke on 24 May 2026, Mark says it is the battery",
    # teams sign too, opening hours and id numbers with a letter prefix are not phones, not every code is secret
    "Met vriendelijke groet,\nTeam Slimme Meters",
    "Kind regards,\nCustomer Care",
    "Bel gratis (ma-vr 8.00-20.00 uur).",
    "Hi, invoice INV-2024-004417 shows £112.40 but my plan is £38 a month.",
    "the discount code is 2024 and the error code is 504",
    "kunt u a b c doen",
    "the model numbers are A12 B345 and X99 9999",
    "please reset the password to my email address",
    "Ik gebruik toch al een wachtwoord, in ****snaam!!!!",  # a real gold-set tweet the first version took
    "the product code is 1234567A",
    "the owner is unknown",
    "I paid twenty five pounds and thirty pence in nineteen ninety nine",
    "ik heb drie keer gebeld en twee keer gemaild",
    "I was born in the north of england and raised in leeds",
    "Bakkerij Dobbelaere, levering op 22-05-2025",  # "dob" inside a word is no birth cue
    "what is the name of the street",
    "I spoke to them and it was fine",
    # a strong cue before a phrase, not a name
    "Then why am I still paying?! I'm talking to my lawyer and posting this everywhere.",
    "can I be talking to someone real",
    "I was speaking to the manager yesterday",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks, Anna <anna@x.nl>", "Thanks, <PERSON> <<EMAIL>>"),
        ("Jansen, A. <a@x.nl>", "<PERSON> <<EMAIL>>"),
        ("On Monday, Customer Service <cs@x.nl> wrote:", "On Monday, Customer Service <<EMAIL>> wrote:"),
    ],
)
def test_surname_first_display_names(redactor: Redactor, text: str, expected: str) -> None:
    """A "Surname, Given" display name is one person; words before the comma that are not a surname stay."""
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_kept(redactor: Redactor, text: str) -> None:
    out = redactor.redact(text)
    assert out.text == text, out
    assert out.counts == {}


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("NL91ABNA0417164300") and not iban_valid("NL91ABNA0417164301")
    assert not iban_valid("XX91ABNA0417164300")  # unknown country
    assert not iban_valid("NL91ABNA04171643")  # wrong length for NL
    assert bsn_valid("111222333") and bsn_valid("123456782") and not bsn_valid("123456789")
    assert not bsn_valid("000000000")


def test_luhn_invalid_card_is_not_card(redactor: Redactor) -> None:
    gen = CorpusGenerator(7)
    for _ in range(50):
        bad = gen.luhn_invalid_card()
        assert "CARD" not in redactor.redact(f"card {bad}").counts


def test_an_iban_is_known_by_its_checksum_or_by_its_countrys_exact_shape(redactor: Redactor) -> None:
    # A Dutch IBAN with any check digits is an IBAN (a mistyped one is still the account: its shape, a bank code
    # of four letters, says so); a string of digits after "NL" needs the right check digits.
    for check in range(100):
        assert "IBAN" in redactor.redact(f"iban NL{check:02d}ABNA0417164300").counts
        digits = f"NL{check:02d}12345678901234"
        assert ("IBAN" in redactor.redact(f"ref {digits}").counts) == iban_valid(digits)


def test_placeholders_counts_and_order(redactor: Redactor) -> None:
    text = "Mail a@b.nl and c@d.com, call +31 6 12345678"
    out = redactor.redact(text)
    assert out.text == "Mail <EMAIL> and <EMAIL>, call <PHONE>"
    assert out.counts == {"EMAIL": 2, "PHONE": 1}
    assert not out.truncated and not out.failed


def test_result_is_frozen(redactor: Redactor) -> None:
    out = redactor.redact("hello")
    assert out == Redaction("hello", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.text = "x"  # type: ignore[misc]


def test_unicode_digits_and_spaces_are_seen(redactor: Redactor) -> None:
    # full-width digits, a non-breaking space and a full-width @ do not hide identifiers
    out = redactor.redact("１２３-４５-６７８９ is my ssn, mail jan＠example.com, bel 06\u00a012345678")
    assert out.counts == {"SSN": 1, "EMAIL": 1, "PHONE": 1}
    assert "６７８９" not in out.text and "12345678" not in out.text


def test_overlaps_are_merged_to_the_stronger_type(redactor: Redactor) -> None:
    out = redactor.redact("IBAN NL91ABNA0417164300, that's it")
    assert out.text == "IBAN <IBAN>, that's it"


# --- configuration --------------------------------------------------------------------------------------
def test_entities_can_be_switched_off() -> None:
    r = Redactor(RedactionConfig(entities=frozenset({"EMAIL"})))
    out = r.redact("a@b.nl +31 6 12345678")
    assert out.text == "<EMAIL> +31 6 12345678"


def test_names_can_be_switched_off() -> None:
    r = Redactor(RedactionConfig(redact_names=False))
    assert r.redact("my name is John Smith").text == "my name is John Smith"


def test_bsn_without_context_switch() -> None:
    text = "het nummer is 123456782"
    assert Redactor().redact(text).text == text
    assert Redactor(RedactionConfig(bsn_requires_context=False)).redact(text).text == "het nummer is <BSN>"


def test_first_name_gazetteer_is_opt_in() -> None:
    text = "Anouk Jansen called about the bill"
    assert Redactor().redact(text).text == text
    r = Redactor(RedactionConfig(first_names=frozenset({"anouk"})))
    assert r.redact(text).text == "<PERSON> called about the bill"
    assert r.redact("Thank You Very Much").counts == {}


def test_extra_national_id_patterns() -> None:
    r = Redactor(RedactionConfig(national_id_patterns=(r"\bCUST-[0-9]{6}\b",)))
    assert r.redact("klant CUST-123456 belt").text == "klant <NATIONAL_ID> belt"


def test_all_dates_switch() -> None:
    text = "delivered on 12-03-2024"
    assert Redactor().redact(text).text == text
    assert Redactor(RedactionConfig(redact_all_dates=True, entities=frozenset(ENTITY_TYPES))).redact(
        text
    ).text == ("delivered on <DATE>")


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        RedactionConfig(entities=frozenset({"NOPE"}))
    with pytest.raises(ValueError):
        RedactionConfig(max_chars=0)


def test_phone_regions_matter_for_national_numbers() -> None:
    text = "bel 020 123 4567"
    assert Redactor(RedactionConfig(phone_regions=("NL",))).redact(text).counts == {"PHONE": 1}


# --- never crash, fail closed, bounded -------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, 12345, b"bytes", "", "\x00\x01\x02", "\ud800\udfff lone surrogates"])
def test_odd_inputs_never_raise(redactor: Redactor, value: object) -> None:
    out = redactor.redact(value)  # type: ignore[arg-type]
    assert isinstance(out, Redaction) and isinstance(out.text, str)


@pytest.mark.parametrize("language", [None, "", "nl", "NL-be", "en", "xx", 3, b"nl"])
def test_any_language_value_is_accepted(redactor: Redactor, language: object) -> None:
    out = redactor.redact("bel me op 06-12345678", language)  # type: ignore[arg-type]
    assert out.text == "bel me op <PHONE>" and not out.failed


def test_internal_error_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    r = Redactor()

    def boom(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(r, "find", boom)
    out = r.redact("my email is a@b.nl")
    assert out.text == FAILED_PLACEHOLDER and out.failed and out.counts == {}


def test_long_input_is_truncated() -> None:
    r = Redactor(RedactionConfig(max_chars=50))
    out = r.redact("a@b.nl " + "x" * 100)
    assert out.truncated and out.text.endswith(TRUNCATED_MARKER) and out.text.startswith("<EMAIL>")


ADVERSARIAL = {
    "digits-and-spaces": "1 " * 25_000,
    "dotted-digits": "1." * 25_000,
    "parentheses": "(0" * 25_000,
    "at-signs": "a@" * 25_000,
    "dotted-words": "a." * 25_000,
    "street-words": "Kerkstraat 1 " * 4_000,
    "name-cues": "my name is " * 5_000,
    "hex-colons": "ab:" * 17_000,
    "mixed": ("+31 (0)6-12 34 5678 x a@b.c 1.2.3.4 NL91 " * 1_200),
    "header-lines": "From: Anna Jansen; Bob " * 2_000,
    "display-names": "Anna Jansen Bos " * 3_000 + "<a@b.nl>",
    "wrote-lines": ("On Mon, Anna, Bob, " * 10 + "\n") * 250,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_are_linear(redactor: Redactor, name: str) -> None:
    text = ADVERSARIAL[name]
    t0 = time.perf_counter()
    out = redactor.redact(text)
    elapsed = time.perf_counter() - t0
    assert not out.failed
    # ~50k characters; linear patterns take well under a second here, backtracking would take minutes
    assert elapsed < 5.0, f"{name}: {elapsed:.2f}s"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_property_never_raises_and_is_fast(text: str) -> None:
    r = _shared()
    t0 = time.perf_counter()
    out = r.redact(text)
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(out.text, str) and not out.failed
    assert set(out.counts) <= set(ENTITY_TYPES)


STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "BSN", "NATIONAL_ID", "IP", "URL")


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**31))
def test_property_generated_identifiers_never_leak(seed: int) -> None:
    gen = CorpusGenerator(seed)
    sample = gen.sample(negative_share=0.0)
    out = _shared().redact(sample.text, sample.language)
    for ent in sample.entities:
        if ent.label in STRUCTURED and not ent.variant:
            assert sample.text[ent.start : ent.end] not in out.text, (sample.text, out.text)


_NOISE = st.text(alphabet=st.sampled_from(list("abcdefghij ,.!?KLMNOP\n")), max_size=60)


@settings(max_examples=150, deadline=None)
@given(_NOISE, st.integers(min_value=0, max_value=2**31), _NOISE)
def test_property_identifier_in_any_surrounding_text(before: str, seed: int, after: str) -> None:
    gen = CorpusGenerator(seed)
    label = ("EMAIL", "CARD", "IBAN", "IP")[seed % 4]
    value = gen.value(label, "", "en", "en_US")
    assert isinstance(value, str)
    text = f"{before} {value} {after}"
    out = _shared().redact(text)
    assert value not in out.text, (text, out.text)


_SHARED: list[Redactor] = []


def _shared() -> Redactor:
    if not _SHARED:
        _SHARED.append(Redactor())
    return _SHARED[0]


def test_import_does_no_work_and_never_imports_faker() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import streams.redaction as r; "
        "dt = time.perf_counter() - t; "
        "assert 'faker' not in sys.modules, 'faker imported'; "
        "assert 'phonenumbers' not in sys.modules, 'phonenumbers imported at import time'; "
        "assert r._PATTERNS is None, 'patterns compiled at import'; "
        "r.Redactor().redact('a@b.nl'); assert 'faker' not in sys.modules; print(dt)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("oh seven seven double oh nine hundred four eight one", "07700900481"),
        ("nul zes eenendertig tweeënveertig negentien zeventig", "0631421970"),
        ("nul zes eh tweeënveertig negentien zevenentachtig drieëndertig", "0642198733"),
        ("twenty one oh five", "2105"),
        ("triple five one", "5551"),
    ],
)
def test_spoken_numbers_become_their_digits(words: str, digits: str) -> None:
    from streams.redaction import spoken_to_digits

    assert spoken_to_digits(words.split()) == digits


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("lovely and your date of birth morag", {"DOB"}),
        ("can I take the postcode and the first line of the address", {"POSTCODE", "ADDRESS"}),
        ("what's your email address", {"EMAIL"}),
        ("and your mother's maiden name", {"CREDENTIAL"}),
        ("can you give me digits two and four of your pin", {"CREDENTIAL"}),
        ("mag ik uw geboortedatum", {"DOB"}),
        ("wat is uw adres", {"ADDRESS"}),
        ("en met wie spreek ik", {"PERSON"}),
        ("wat is uw e-mailadres", {"EMAIL"}),
        ("and a contact number", {"PHONE"}),
        ("what's your national insurance number", {"NATIONAL_ID"}),
        ("how can I help you today?", set()),
        ("ik heb uw adres aangepast", {"ADDRESS"}),  # a statement asks too: the reply is read as an answer
    ],
)
def test_what_a_question_asks_for(question: str, kinds: set[str]) -> None:
    assert Redactor().asks_for(question) == kinds


@pytest.mark.parametrize(
    ("kinds", "answer", "expected"),
    [
        ({"DOB"}, "twenty second of june nineteen seventy one", "<DOB>"),
        ({"DOB"}, "uh it's oh four oh nine two thousand and one", "uh it's <DOB>"),
        ({"DOB"}, "drie januari negentien tachtig", "<DOB>"),
        ({"DOB"}, "14-03-1984", "<DOB>"),
        ({"POSTCODE"}, "elf nul twee ee jee", "<POSTCODE>"),
        ({"POSTCODE"}, "it's 9000", "it's <POSTCODE>"),
        ({"ADDRESS"}, "yeah it's fifty two stratford road in leicester", "yeah it's <ADDRESS> in leicester"),
        ({"ADDRESS"}, "vrijheidslaan achtentwintig derde hoog", "<ADDRESS>"),
        ({"PERSON"}, "aye it's morag mcintyre that's m c i n t y r e", "aye it's <PERSON> that's <PERSON>"),
        ({"PERSON"}, "lotte de smedt", "<PERSON>"),
        ({"PERSON", "DOB"}, "it's lauren pike oh four oh nine eighty", "it's <PERSON> <DOB>"),
        ({"CREDENTIAL"}, "marmalade", "<CREDENTIAL>"),
        ({"CREDENTIAL"}, "uh eight and seven", "uh <CREDENTIAL>"),
        ({"NATIONAL_ID"}, "n p seven three zero five one six a", "<NATIONAL_ID>"),
        ({"PERSON"}, "it's in my wife's name um joanna kowalczyk", "it's in my wife's name um <PERSON>"),
        ({"PERSON"}, "dat staat op mijn man hans vermeulen maar ik ben els", "dat staat op mijn man <PERSON> maar ik ben <PERSON>"),
        ({"PERSON"}, "it's for my son actually he's at school", "it's for my son actually he's at school"),
        ({"IBAN"}, "n l acht negen b u n q twee nul vier één zes zeven twee acht negen drie", "<IBAN>"),
        ({"PERSON"}, "dorothy um dorothy finkelstein", "<PERSON>"),
        ({"PERSON", "POSTCODE"}, "mehmet yildiz postcode is drie vijf twee vier k v", "<PERSON> postcode is <POSTCODE>"),
        ({"PERSON"}, "abena esi boateng ehm boateng is de achternaam", "<PERSON> is de achternaam"),
        ({"PERSON", "DOB"}, "Oluwaseun Adeyemi-Price 04/11/1988", "<PERSON> <DOB>"),
        # not an answer: nothing to read
        ({"PERSON"}, "sorry can you repeat that", "sorry can you repeat that"),
        ({"PERSON", "ADDRESS"}, "great thanks", "great thanks"),
        ({"DOB"}, "hang on let me find it", "hang on let me find it"),
        ({"POSTCODE"}, "no sorry that's the old one", "no sorry that's the old one"),
        ({"CREDENTIAL"}, "oh sorry", "oh sorry"),
    ],
)
def test_a_reply_is_read_as_what_was_asked(kinds: set[str], answer: str, expected: str) -> None:
    assert Redactor().redact(answer, answering=frozenset(kinds)).text == expected


def test_a_transcript_handed_over_whole_is_read_turn_by_turn() -> None:
    text = (
        "agent: you're through to the fraud team can i start with your full name please\n"
        "customer: aye it's morag mcintyre\n"
        "agent: lovely and your date of birth morag\n"
        "customer: twenty second of june nineteen seventy one\n"
        "agent: thanks and how can i help\n"
        "customer: there's a payment of two hundred and twelve pounds i don't know"
    )
    assert Redactor().redact(text).text == (
        "agent: you're through to the fraud team can i start with your full name please\n"
        "customer: aye it's <PERSON>\n"
        "agent: lovely and your date of birth <PERSON>\n"
        "customer: <DOB>\n"
        "agent: thanks and how can i help\n"
        "customer: there's a payment of two hundred and twelve pounds i don't know"
    )
    # outside a call a found name is not looked for elsewhere: "Dispute Resolution <...>" is no reason
    # to remove every "dispute"
    mail = "From: Dispute Resolution <disputes@bank.example>\n\nFollowing up on the dispute below."
    assert "the dispute below" in Redactor().redact(mail).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and the postcode is n w three two r x", "and the postcode is <POSTCODE>"),
        (
            "my address is twenty seven harcourt road m fourteen five l s",
            "my address is <ADDRESS> <POSTCODE>",
        ),
        ("national insurance number n p six one nine two seven four a", "national insurance number <NATIONAL_ID>"),
        ("het adres is kerkstraat twaalf a, postcode drie vijf acht een b k", "het adres is <ADDRESS>, postcode <POSTCODE>"),
        ("date of birth uh the twenty first of november nineteen seventy six", "date of birth uh the <DOB>"),
        ("het iban is n l zeventien i n g b twee acht nul drie acht vijf twee acht nul acht", "het iban is <IBAN>"),
        # written values after a cue are left to the detectors that read digits
        ("Address is Flat 3, 27 Harcourt Road, M14 5LS.", "Address is <ADDRESS>, <POSTCODE>."),
        ("my pin stopped working two days ago", "my pin stopped working two days ago"),
        ("the address on the bill is wrong", "the address on the bill is wrong"),
        ("I use a wheelchair and live on the third floor, and the lift is broken", None),
        ("ik woon op de achtste dus ik kom mijn huis niet uit", None),
        ("Kan hij op hetzelfde adres een tweede vergunning aanvragen?", None),
        ("When I gave my address the receptionist asked was I 'one of the Travellers'", None),
    ],
)
def test_a_value_said_after_its_own_cue(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("you're through to customer care this is ciarán speaking", "you're through to customer care this is <PERSON> speaking"),
        ("pharmacy refill line this is dana", "pharmacy refill line this is <PERSON>"),
        ("hello leisure centre it's jodie what can i do for you", "hello leisure centre it's <PERSON> what can i do for you"),
        ("goedemiddag met sanne van de klantenservice", "goedemiddag met <PERSON> van de klantenservice"),
        ("goeiemiddag met hannelore", "goeiemiddag met <PERSON>"),
        # not a name
        ("thanks for holding it's cancelled now", None),
        ("i'm afraid it's gone through already", None),
        ("goedemiddag u spreekt met de bank", None),
        ("munten storten kan alleen bij een geldautomaat met muntfunctie", None),
        ("hi thanks for calling this is about your renewal", None),
    ],
)
def test_an_agent_opening_the_call_with_a_lower_case_name(text: str, expected: str | None) -> None:
    assert Redactor().redact(text, speaker="agent").text == (text if expected is None else expected)
    # The same words from a customer are left to the other rules, but for a greeting and "met": a Dutch customer
    # gives their name that way too (test_a_customer_giving_their_name_as_a_call_turn_opens).
    if expected is not None and " met " not in text:
        assert Redactor().redact(text, speaker="customer").text == text


def test_a_name_once_given_is_redacted_where_it_is_said_again() -> None:
    r = Redactor()
    first = r.redact("Hi, my name is Morag McIntyre and my card was taken")
    assert first.text == "Hi, my name is <PERSON> and my card was taken"
    assert first.name_keys and not any("morag" in k or "mcintyre" in k for k in first.name_keys)
    later = r.redact("lovely thanks morag, and what's the address", known_names=first.name_keys)
    assert later.text == "lovely thanks <PERSON>, and what's the address"
    # the keys are keyed: another redactor (another worker process) cannot read them
    assert Redactor().redact("lovely thanks morag", known_names=first.name_keys).text == "lovely thanks morag"
    assert r.redact("nothing to see", known_names=first.name_keys).name_keys == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a chat: the line after the company side's question is the answer
        (
            "Hi, I moved out in March.\nCouncil: Thanks. And your name please?\nChelsea Marie Hobbs",
            "Hi, I moved out in March.\nCouncil: Thanks. And your name please?\n<PERSON>",
        ),
        (
            "Agent: We'll reship it. Can you confirm the name for delivery?\nTomasz Zieliński",
            "Agent: We'll reship it. Can you confirm the name for delivery?\n<PERSON>",
        ),
        # ... not a customer's own question, nor a line without a speaker label
        (
            "Is the promo (code SPRING25) still valid?\nSupport: Thanks! It is valid for new lines only through 04/30.",
            None,
        ),
        ("Which date of birth do I put on the form, mine or my son's?\nTwelve or thirteen, I'm not sure.", None),
        # cues
        ("Name on booking is Priyanka Deshmukh-Rao, phone to follow", "Name on booking is <PERSON>, phone to follow"),
        ("Boekingsreferentie ZK4P8T, naam op de boeking Wouter De Clercq.", "Boekingsreferentie ZK4P8T, naam op de boeking <PERSON>."),
        ("de naam op het ticket klopt wel", None),
        ("Full name as on passport: Muhammad Faisal Qureshi", "Full name as on passport: <PERSON>"),
        ("Naam melder: Marco Wijaya", "Naam melder: <PERSON>"),
        ("my roommate Deshawn Miller moves out", "my roommate <PERSON> moves out"),
        ("Hoogachtend,\nS. Dubois-Lejeune", "Hoogachtend,\n<PERSON>"),
        ("> Regards, Declan Brennan, Administrative Officer", "> Regards, <PERSON>, Administrative Officer"),
        ("username is dwhitlock84 and it says locked", "username is <CREDENTIAL> and it says locked"),
        # places after a relative are no names
        ("My cousin in Cork got one no problem.", None),
        ("ik ga zaterdag naar mijn dochter in Den Haag", None),
        ("Take care. Thx, ^KM", None),
    ],
)
def test_names_and_answers_in_written_chats(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    "reply",
    [
        "I've already given it three times, this is ridiculous",
        "why do you need that",
        "you already have it on file",
        "seriously again",
        "absolutely not",
        "waarom wil je dat weten",
        "this is taking forever",
        "my wife is dealing with it",
        "can you hold on a sec",
        "nee dat klopt niet",
        "whatever",
        "the card is gone",
        "de debetkaart is weg",
        "my card was stolen",
    ],
)
def test_a_reply_that_gives_nothing_keeps_its_words(reply: str) -> None:
    # An angry or evasive reply to a question about personal data is what the model must read.
    for asked in ({"PERSON"}, {"CREDENTIAL"}, {"ADDRESS"}, {"DOB"}, {"POSTCODE"}):
        assert Redactor().redact(reply, answering=frozenset(asked)).text == reply, asked


def test_a_long_number_read_out_and_a_bare_profile_link() -> None:
    r = Redactor()
    # more digits than a phone or a card, or two letters before many digits: an account number read out
    spoken = "yeah it's f r seven six three zero zero zero four zero one two three four four three six six six two five"
    assert r.redact(spoken).text == "yeah it's <IBAN>"
    assert r.redact(spoken.replace("f r ", "") + " six one six five seven two").text == "yeah it's <IBAN>"
    assert r.redact("see linkedin.com/in/jan-smit-qs for my CV").text == "see <URL> for my CV"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a relation's name in lower case, as speech-to-text writes it, before a verb, "and" or the clause's end
        ("yeah that's the one my wife morag said the bank flagged it", "yeah that's the one my wife <PERSON> said the bank flagged it"),
        ("my daughter kemi is gonna be using my other card", "my daughter <PERSON> is gonna be using my other card"),
        ("nobody came my grandson tyrone waited in all day", "nobody came my grandson <PERSON> waited in all day"),
        ("oh my nephew howard drives me he works on tuesday", "oh my nephew <PERSON> drives me he works on tuesday"),
        ("yes my husband anirban bose", "yes my husband <PERSON>"),
        ("mijn zoon ronald zei ik moet het zelf doorgeven", "mijn zoon <PERSON> zei ik moet het zelf doorgeven"),
        ("mijn vriendin sharmila jagesar en haar zoontje dion", "mijn vriendin <PERSON> en haar zoontje <PERSON>"),
        # ... and after a title
        ("i've got a slot with doctor hussain at ten forty", "i've got a slot with doctor <PERSON> at ten forty"),
        ("ik moest een afspraak maken bij de dokter de meyer voor mijn knie", "ik moest een afspraak maken bij de dokter <PERSON> voor mijn knie"),
        ("your gp doctor ní bhriain sent an urgent letter", "your gp doctor <PERSON> sent an urgent letter"),
        ("attest van tandarts Vermeiren van 3 mei", "attest van tandarts <PERSON> van 3 mei"),
        # not names: what follows a relation is a verb or an adverb, the title has an article, the text is written
        ("my wife said it was fine", None),
        ("my son bought a phone", None),
        ("my husband passed away last year", None),
        ("my daughter usually pays", None),
        ("my mum struggling with the app", None),
        ("my wife gave birth", None),
        ("my brother in law", None),
        ("mijn dochter studeert in leuven", None),
        ("als mijn vader valt kan hij me niet bereiken", None),
        ("ik ga bij mijn vriend wonen en daar is het geregeld", None),
        ("kan ik de gratis maand ook aan mijn zus cadeau doen?", None),
        ("the doctor said i need rest", None),
        ("i have a doctor appointment tomorrow", None),
        ("Mijn partner rijdt.", None),
        ("Is that a problem? My daughter signs.", None),
        ("Bijgaand stuur ik de nota van de tandarts ter declaratie.", None),
    ],
)
def test_a_lower_case_name_after_a_relation_or_a_title(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a chat window's opening line names the agent; the name is then redacted in the speaker labels too
        (
            "Chat started with Tayla (NBN Support)\nTayla: Hey! How can I help?\nme: my flatmate Jess can let them in\n"
            "Tayla: Yep, Jess is fine",
            "Chat started with <PERSON> (NBN Support)\n<PERSON>: Hey! How can I help?\nme: my flatmate <PERSON> can let them in\n"
            "<PERSON>: Yep, <PERSON> is fine",
        ),
        ("Hoi, je chat met Mark. Waarmee kan ik helpen?", "Hoi, je chat met <PERSON>. Waarmee kan ik helpen?"),
        # a label pairing a name with a role
        (
            "Medha (Relationship Manager): Dear customer, please share your PAN.\nCustomer: ok",
            "<PERSON> (Relationship Manager): Dear customer, please share your PAN.\nCustomer: ok",
        ),
        ("Support - Priscilla: Hi, thanks for contacting us\nme: hi", "Support - <PERSON>: Hi, thanks for contacting us\nme: hi"),
        # not a person
        ("Hi, you are chatting with Halvern Bank.", None),
        ("Stad: Dag! U chat met het Digitaal Loket. Waarmee kunnen we helpen?\nBurger: hoi", None),
        ("Order - 12345: shipped\nStatus - Delivered: yes", None),
        ("If you believe that a website connected to GoDaddy is in violation of our terms", None),
        # a name found once is not spread to the words of a company's name
        (
            "Regards,\nOwen\nFibrelink Support <support@fibrelink.example>\n> Kind regards,\n> Fibrelink Customer Care",
            "Regards,\n<PERSON>\n<PERSON> Support <<EMAIL>>\n> Kind regards,\n> Fibrelink Customer Care",
        ),
    ],
)
def test_names_in_chat_labels_and_openings(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "agent: thank you for calling first harbor bank this is dwayne am i speaking with the cardholder\ncustomer: yes",
            "agent: thank you for calling first harbor bank this is <PERSON> am i speaking with the cardholder\ncustomer: yes",
        ),
        (
            "agent: saint brendan's hospital scheduling this is yolanda how can i help you\ncustomer: hi",
            "agent: saint brendan's hospital scheduling this is <PERSON> how can i help you\ncustomer: hi",
        ),
        # the transcript's first turn is the call's opening
        ("agent: lost property northline rail it's connor\ncustomer: hello", "agent: lost property northline rail it's <PERSON>\ncustomer: hello"),
        ("agent: huisartsenpraktijk de terp met anke\ncustomer: goeiemorgen", "agent: huisartsenpraktijk de terp met <PERSON>\ncustomer: goeiemorgen"),
        ("customer: hi\nagent: ok this is correct\ncustomer: good", None),
        ("agent: it's done\ncustomer: thanks", None),
        ("agent: this is urgent how can i help\ncustomer: x", None),
    ],
)
def test_an_agent_naming_themselves_in_a_transcript(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Passenger is Anna. Passport Z4418273 issued 02 Jan 2024", "Passenger is <PERSON>. Passport <NATIONAL_ID> issued 02 Jan 2024"),
        ("aadhaar 4724 4227 9256 PAN AKRPP4417M. address no change", "aadhaar <NATIONAL_ID> PAN <NATIONAL_ID>. address no change"),
        ("yep Medicare number 4790 71956 2 she is number 4", "yep Medicare number <NATIONAL_ID> she is number 4"),
        ("rijbewijsnummer 5012345678 graag", "rijbewijsnummer <NATIONAL_ID> graag"),
        ("driving licence MORGA753116SM9IJ 35", "driving licence <NATIONAL_ID>"),
        # an identity document named beside a number that is not its number
        ("my passport expired in 2024", None),
        ("I paid 1500 for the passport", None),
        ("my passport is 10 years old", None),
        ("licence fee 2024-2025", None),
        ("Invoice for order 77812345, document DOC-2024-118", None),
        ("mijn paspoort 2x verloren", None),
    ],
)
def test_an_identity_document_number_after_its_name(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # names in capitals
        ("Subject: NAME CORRECTION - BOOKING 6TRW2Q - MS AYSE DEMIR", "Subject: NAME CORRECTION - BOOKING 6TRW2Q - MS <PERSON>"),
        ("CUSTOMER: HI\nAGENT (RAVI): Hi, happy to help.\nCUSTOMER: OK", "CUSTOMER: HI\nAGENT (<PERSON>): Hi, happy to help.\nCUSTOMER: OK"),
        ("MY NAME IS JOHN SMITH AND I AM FURIOUS", "MY NAME IS <PERSON> AND I AM FURIOUS"),
        ("THIS IS RIDICULOUS I WANT A REFUND NOW", None),
        ("Thanks,\nKLM CUSTOMER CARE", None),
        ("EXCUSE ME, WHAT A F***ING CLOWN YOU ARE.", None),
        ("what a f***ing clown you are", None),  # "ing" is a Dutch title only as a word of its own
        # a support reply signed by its agent, and a greeting after a handle with digits or a chat time
        ("Send us a DM with your account number. ^Aleksandra", "Send us a DM with your account number. ^<PERSON>"),
        ("Take care. Thx, ^KM", None),
        ("@jamie_k_1990 Hi Jamie, sorry to hear that", "@user Hi <PERSON>, sorry to hear that"),
        ("12 Dear Street", "<ADDRESS>"),
        # a customer labelled with their name beside an agent labelled with a role
        (
            "09:12 Neha: hi, I need a refund\n09:13 Agent Liam: Sorry about that Neha.\n09:14 Neha: thank you!",
            "09:12 <PERSON>: hi, I need a refund\n09:13 Agent <PERSON>: Sorry about that <PERSON>.\n09:14 <PERSON>: thank you!",
        ),
        ("[09:15] Jolien (Vlaamse Spaarbank): Vervelend\n[09:16] Klant: ja", "[09:15] <PERSON> (Vlaamse Spaarbank): Vervelend\n[09:16] Klant: ja"),
        ("Agent: hello\nNote: this is fine\nCustomer: ok\nNote: x", None),
        ("Assistente (Petra): Goedemorgen!\nPatiënt: hoi\nPatiënt: ok", "Assistente (<PERSON>): Goedemorgen!\nPatiënt: hoi\nPatiënt: ok"),
        ("super goed geholpen met ons zoontje Daan", "super goed geholpen met ons zoontje <PERSON>"),
        # an agent's opening "you're through to ..."
        ("agent: revenue and customs helpline you're through to deborah\ncustomer: hiya", "agent: revenue and customs helpline you're through to <PERSON>\ncustomer: hiya"),
        ("agent: you're through to caledon energy how can i help\ncustomer: hi", None),
        ("agent: thanks for calling southern cross air you're through to reservations\ncustomer: yeah", None),
    ],
)
def test_names_in_capitals_signatures_and_chat_speakers(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # credentials without a cue word before them
        ("hoi ik kan niet inloggen met r.jagessar / Paramaribo1975", "hoi ik kan niet inloggen met <CREDENTIAL> / <CREDENTIAL>"),
        ("Student: probeer het nu met Wachtwoord!2024\nIT: Deel je wachtwoord niet", "Student: probeer het nu met <CREDENTIAL>\nIT: Deel je wachtwoord niet"),
        ("Customer: I got a code by text 482913 is that you?", "Customer: I got a code by text <CREDENTIAL> is that you?"),
        ("they asked for my pin too, I gave them 7720 before I realised", "they asked for my pin too, I gave them <CREDENTIAL> before I realised"),
        ("I cannot log in on my iPhone15 since the update", None),
        ("my password works on my laptop but not on Android14", None),
        ("Error code 80040154 when I log in", None),
        ("The promo code SUMMER2024 does not work when I log in", None),
        # a name after a job or "under"
        ("Your repairs manager Gary Stokes promised a fix by Friday.", "Your repairs manager <PERSON> promised a fix by Friday."),
        ("booking was under Tessa Lloyd-Jones if management wants to check.", "booking was under <PERSON> if management wants to check."),
        ("The seller's account is under review, so payouts are paused", None),
        ("Met vriendelijke groet,\n\nLotte Schoenmaker\nAdviseur Pensioenen", "Met vriendelijke groet,\n\n<PERSON>\nAdviseur Pensioenen"),
        ("De monteur van Kemper Installatietechniek belt je vandaag", None),
        ("Spreekt de monteur Engels?", None),
        ("Ik ben Pools en woon sinds kort in Nederland", None),
        # an address read out in number words
        ("agent: the address on file is twelve oh eight maple ridge drive\ncustomer: ok", "agent: the address on file is <ADDRESS>\ncustomer: ok"),
        ("customer: on the driveway at nine laburnum way", "customer: on the driveway at <ADDRESS>"),
        ("customer: de lekkage in de badkamer het is kapelstraat zeventien a", "customer: de lekkage in de badkamer het is <ADDRESS>"),
        ("customer: it's a two lane road", None),
        ("customer: that's one way to put it", None),
        ("customer: moet ik voor een dakkapel aan de achterkant een vergunning aanvragen", None),
        ("customer: ik heb een vraag over de autoverzekering en eh kan ik", None),
        ("customer: can i check out without one", None),
    ],
)
def test_credentials_names_after_a_job_and_addresses_read_out(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the lease car (reg KX21 FNM) has an amber light", "the lease car (reg <PLATE>) has an amber light"),
        ("kenteken 12-ABC-3 en GK-482-T", "kenteken <PLATE> en <PLATE>"),
        ("nummerplaat 1-ABC-123", "nummerplaat <PLATE>"),
        ("my postcode is SW12 9AB", "my postcode is <POSTCODE>"),
        ("date 12-MAR-24", None),
        ("12-03-24", None),
        ("product A1-B2-C3", None),
        ("flight KL1234", None),
        ("kenteken gk-482-t", None),  # capitals only
    ],
)
def test_vehicle_registration_plates(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@ConnectaHelp hi its @sean_obrien_83 again", "@ConnectaHelp hi its @user again"),
        ("the fake account is @jess.tran.official.", "the fake account is @user."),
        ("@DonnellAnnBell Hi Donnell, sorry to hear that", "@user Hi <PERSON>, sorry to hear that"),
        ("ook bereikbaar via insta @sannevdmeer", "ook bereikbaar via insta @user"),
        ("@115712 we can help with that", "@user we can help with that"),
        # a company's account names an organisation or a service: it says where the customer writes, nobody's identity
        ("@AskPlayStation @TeamYouTube @AppleSupport @hulu_support @SouthwestAir @KPN @NS_online @NetlinkNL hello",
         None),
        ("@Rabobank @KPNwebcare @WaterbedrijfOost hoi", None),
        # "@" as "at", and the "@" of an email address or a link
        ("see you @5pm @home, 2 @ 20 euro", None),
        ("mail jan.smit@example.nl", "mail <EMAIL>"),
        ("https://www.instagram.com/@jess", "<URL>"),
    ],
)
def test_social_media_handles(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


def test_handles_can_be_switched_off() -> None:
    on = DEFAULT_ENTITIES - {"HANDLE"}
    assert Redactor(RedactionConfig(entities=on)).redact("hi @sean_obrien_83").text == "hi @sean_obrien_83"


def test_a_handle_placeholder_is_not_redacted_again() -> None:
    once = Redactor().redact("thanks @sean_obrien_83")
    twice = Redactor().redact(once.text)
    assert (once.text, once.counts) == ("thanks @user", {"HANDLE": 1})
    assert (twice.text, twice.counts) == ("thanks @user", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hallo met ronald pinas ik heb een vraag", "hallo met <PERSON> ik heb een vraag"),
        ("hoi met fatima el amrani ik wil mijn termijnbedrag aanpassen",
         "hoi met <PERSON> ik wil mijn termijnbedrag aanpassen"),
        ("hallo met anouk bakker-de graaf", "hallo met <PERSON>"),
        ("hi dana it's tadhg brennan i'm calling about my payment",
         "hi dana it's <PERSON> i'm calling about my payment"),
        ("hi it's grainne mcloughlin here", "hi it's <PERSON> here"),
        ("agent: hello\ncustomer: hallo met wilma de boer-schouten\nagent: wat is uw postcode",
         "agent: hello\ncustomer: hallo met <PERSON>\nagent: wat is uw postcode"),
        # not a name: no greeting first, a particle or a pronoun after "met", a word that is no name, capitals
        ("hallo met de klantenservice?", None),
        ("goedemiddag met een vraag over mijn factuur", None),
        ("hoi met mij gaat het goed", None),
        ("hi it's broken again", None),
        ("hello it's about my bill", None),
        ("hi yes it's really slow and", None),
        ("hello, this is discrimination, plain and simple.", None),
        ("ik betaal met ideal en dat lukt niet", None),
    ],
)
def test_a_customer_giving_their_name_as_a_call_turn_opens(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Huurder: de ketel is kapot\nWoonhaven Chat – Sanne: Goedemiddag!\nHuurder: ok",
         "Huurder: de ketel is kapot\nWoonhaven Chat – <PERSON>: Goedemiddag!\nHuurder: ok"),
        ("Klant: hoi\nAnouk | Klantenservice: Goedemorgen!", "Klant: hoi\n<PERSON> | Klantenservice: Goedemorgen!"),
        ("Burger: hoi\nGemeente Utrecht – Chat (Mustafa): Dat kan.\nBurger: ok",
         "Burger: hoi\nGemeente Utrecht – Chat (<PERSON>): Dat kan.\nBurger: ok"),
        ("Klant: hoi\nElke (Klantendienst): dag\nKlant: ok", "Klant: hoi\n<PERSON> (Klantendienst): dag\nKlant: ok"),
        ("Klant: hoi\nJasper (Schadeteam): Hoi\nKlant: ok", "Klant: hoi\n<PERSON> (Schadeteam): Hoi\nKlant: ok"),
        ("Klant: x\nReisadviseur Kim: Top!\nKlant: ok", "Klant: x\nReisadviseur <PERSON>: Top!\nKlant: ok"),
        ("Klant: x\nTechnieker Jef: Dag!\nKlant: ja", "Klant: x\nTechnieker <PERSON>: Dag!\nKlant: ja"),
        # an organisation's or a bot's label is no person
        ("Reiziger: hoi\nWebcare Spoor: Hoi!\nReiziger: ok\nWebcare Spoor: top", None),
        ("Klant: hoi\nGemeente Chatbot: Hallo\nKlant: ok\nGemeente Chatbot: dag", None),
        ("Klant: hoi\nBot Pakjesbot: Hallo\nKlant: ok\nBot Pakjesbot: dag", None),
    ],
)
def test_chat_labels_with_a_dash_a_bar_a_team_or_a_job(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an IBAN in its country's exact shape is an account even when a digit is wrong (the check fails)
        ("salary into NL27 RABO 0318 4562 09 from May", "salary into <IBAN> from May"),
        ("rekeningnummer BE45 0018 2736 4589 geregistreerd", "rekeningnummer <IBAN> geregistreerd"),
        ("GB15 BARC 2044 9163 0081 27", "<IBAN>"),
        ("order NL12 3456 7890 1234 56", None),  # no bank code where a Dutch IBAN has one
        # a Belgian national number as the card prints it, or after its name, with a date in it
        ("rijksregisternummer 92.07.14-228.35", "rijksregisternummer <NATIONAL_ID>"),
        ("mijn nummer is 79.11.03-142.88", "mijn nummer is <NATIONAL_ID>"),
        # an identity document's number in brackets, a US driver license
        ("Breng uw oud paspoort (nummer EP447192) mee", "Breng uw oud paspoort (nummer <NATIONAL_ID>) mee"),
        ("je identiteitskaart (IXP8L91K2) ontvangen", "je identiteitskaart (<NATIONAL_ID>) ontvangen"),
        ("driver license number D4471902", "driver license number <NATIONAL_ID>"),
        # a card's last four digits are kept (a card's printed form; pii_corpus keeps them as look-alikes)
        ("taken from the Mastercard ending in 0937", None),
    ],
)
def test_mistyped_ibans_belgian_numbers_and_documents_in_brackets(
    text: str, expected: str | None
) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agent: ok what's the registration\ncustomer: it's uh y k one nine d f v",
         "agent: ok what's the registration\ncustomer: it's uh <PLATE>"),
        ("agent: en het kenteken\ncustomer: k l streepje vier zeven nul streepje v",
         "agent: en het kenteken\ncustomer: <PLATE>"),
        ("the reg is eight x y z two one four", "the reg is <PLATE>"),
        ("my registration for the course is confirmed", None),
        ("agent: what's the registration\ncustomer: it's the blue one on the drive", None),
    ],
)
def test_a_plate_read_out_after_its_cue_or_as_an_answer(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ik kan niet inloggen met DigiD, gebruikersnaam mo.haddou1985",
         "ik kan niet inloggen met DigiD, gebruikersnaam <CREDENTIAL>"),
        ("ik log in met kvdlinden en 58213", "ik log in met <CREDENTIAL> en <CREDENTIAL>"),
        ("wifi name is NetHub-4471, key kittenparade42", "wifi name is NetHub-4471, key <CREDENTIAL>"),
        # no credential given
        ("log in with google and nothing happens", None),
        ("my username please", None),
        ("my password is wrong", None),
        ("Said my password was incorrect, so I asked for a new one", None),
        ("mijn wachtwoord is verlopen", None),
        ("the wifi password is in the box", None),
        ('"network connection failed" with error code #1006.', None),
    ],
)
def test_logins_beside_their_name_or_a_password_and_what_is_no_password(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    "text",
    [
        "Dear Policyholder,\n\nWe have updated our guidance.",
        "Shopper: do you have it in rose?\nAssistant: Yes!\nShopper: ok ta",
        "Met vriendelijke groet,\nOnderwijsbureau Faculteit Economie",
    ],
)
def test_roles_and_faculties_are_no_names(text: str) -> None:
    assert Redactor().redact(text).text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agent: ok what's the registration\ncustomer: it's uh y k one nine d f v\nagent: y k one nine d f v thank you",
         "agent: ok what's the registration\ncustomer: it's uh <PLATE>\nagent: <PLATE> thank you"),
        ("agent: and the postcode\ncustomer: SW1A 2AA\nagent: sw1a 2aa, lovely",
         "agent: and the postcode\ncustomer: <POSTCODE>\nagent: <POSTCODE>, lovely"),
        # digits of a PIN asked for are said again as the question, not as the value
        ("agent: digits two and four of your pin\ncustomer: two and four so that's eight and seven\nagent: thanks",
         None),
    ],
)
def test_a_value_read_back_in_the_same_conversation(text: str, expected: str | None) -> None:
    out = Redactor().redact(text).text
    if expected is None:
        assert "two and four" in out.split("\n")[0]
    else:
        assert out == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- Rajesh Ramdin, geboren 04-09-1990\n- Esra Kılıç, geboren 19 januari 1993",
         "- <PERSON>, geboren <DOB>\n- <PERSON>, geboren <DOB>"),
        ("op uw naam gezet: T. Kramer-Bijl, geboren 03/11/1958.", "op uw naam gezet: <PERSON>, geboren <DOB>."),
        ("- Jan de Vries, geboren 04-09-1990", "- <PERSON>, geboren <DOB>"),
        ("On Tue, 14 May 2024 at 10:02, my date of birth is 17 August 1990",
         "On Tue, 14 May 2024 at 10:02, my date of birth is <DOB>"),
        ("Customer Services, born 1990", None),
    ],
)
def test_a_name_right_before_a_date_of_birth(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mijn huisbaas is Harm Dijkstra, tel. 050 318 4472.", "Mijn huisbaas is <PERSON>, tel. <PHONE>."),
        ("my landlord is Tom Baker and he never answers", "my landlord is <PERSON> and he never answers"),
        ("mijn vrouw is Surinaams", None),  # one word after "is" is too often an adjective
    ],
)
def test_a_relation_and_is_then_a_full_name(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it was left with a mrs o'halloran", "it was left with a mrs <PERSON>"),
        ("meet mr d'souza at five o'clock", "meet mr <PERSON> at five o'clock"),
        ("she can't talk, her name's zsofia horvath", "she can't talk, her name's <PERSON>"),
        ("name's Chloe Whitaker-Bose, email me", "name's <PERSON>, email me"),
        ("the name's on the account", None),
        ("ik heb vorige week met je collega femke gesproken", "ik heb vorige week met je collega <PERSON> gesproken"),
        ("your colleague Sarah said it was fixed", "your colleague <PERSON> said it was fixed"),
        ("heeft uw vrouw ook een kaart", None),
    ],
)
def test_irish_names_in_lower_case_her_names_and_your_colleague(text: str, expected: str | None) -> None:
    assert Redactor().redact(text).text == (text if expected is None else expected)
