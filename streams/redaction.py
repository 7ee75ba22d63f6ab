"""PII redaction for customer utterances (English and Dutch), run before anything else sees the text.

The worker calls :meth:`Redactor.redact` on every utterance, so the module is built to be fast and to never
raise: every input string returns a :class:`Redaction`; on an internal error the whole text is replaced by
``<REDACTED>`` (fail closed) and ``failed`` is set, so unredacted text can never slip through.

Design (see ``docs/PRIVACY.md`` for the measured figures and the known limits):

* Pure Python plus ``phonenumbers``. Nothing happens at import time; patterns are compiled once, lazily, on
  the first :class:`Redactor` construction and shared by all instances.
* Detection runs on a *scan copy* of the text with the same length, in which non-ASCII characters that
  have a one-character NFKC form (full-width digits, non-breaking spaces, full-width ``@``) and every
  Unicode decimal digit are mapped to ASCII, so spans found in the copy map 1:1 onto the original.
* Detectors run in priority order (checksummed identifiers first, names last); overlapping spans are
  merged into one span of the higher-priority type, so a conflict redacts *more*, never less.
* Structured identifiers are validated by checksum (Luhn for cards, ISO 7064 mod 97 for IBANs, the
  11-test for BSNs, mod 97 for Belgian national numbers and the French NIR) to keep order numbers intact.
* Every regex has bounded repetition or a linear shape (no nested unbounded quantifiers), so the time is
  linear in the input length; inputs longer than ``RedactionConfig.max_chars`` are cut (``truncated``).

Entity types (placeholder ``<TYPE>``; the same names are the keys of ``Redaction.counts`` and are safe
as metric label values): ``URL EMAIL IBAN CARD SSN BSN NATIONAL_ID IP PLATE CREDENTIAL HANDLE PHONE DOB DATE
POSTCODE ADDRESS PERSON`` (:data:`ENTITY_TYPES`; ``DATE`` only with ``redact_all_dates``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

#: Every entity type this module can emit, in priority order (earlier wins an overlap).
#: ``DATE`` is only produced when :attr:`RedactionConfig.redact_all_dates` is on.
ENTITY_TYPES: tuple[str, ...] = (
    "URL",
    "EMAIL",
    "IBAN",
    "CARD",
    "SSN",
    "BSN",
    "NATIONAL_ID",
    "IP",
    "PLATE",
    "CREDENTIAL",
    "HANDLE",
    "PHONE",
    "DOB",
    "DATE",
    "POSTCODE",
    "ADDRESS",
    "PERSON",
)

#: Entity types on by default (all but ``DATE``, which is opt-in through ``redact_all_dates``).
DEFAULT_ENTITIES: frozenset[str] = frozenset(ENTITY_TYPES) - {"DATE"}

#: Placeholder written instead of the whole text when redaction itself failed (fail closed).
FAILED_PLACEHOLDER = "<REDACTED>"
#: Placeholders other than ``<TYPE>``: a person's social-media handle is written as TweetEval writes every mention,
#: the form the scorer learned tweets in (docs/experiments/rule_55.md).
_PLACEHOLDERS = {"HANDLE": "@user"}
#: Appended when the input was longer than ``max_chars`` and the rest was dropped.
TRUNCATED_MARKER = " <TRUNCATED>"

_PRIORITY = {t: i for i, t in enumerate(ENTITY_TYPES)}

#: Regions of the North American Numbering Plan (no trunk prefix) among those one may configure.
_NANP_REGIONS = frozenset({"US", "CA", "PR", "GU", "VI", "AS", "MP", "BS", "BB", "JM", "TT", "DO", "BM"})

#: Phone candidates verified with phonenumbers per call; later ones are redacted without verification.
_PHONE_VERIFY_BUDGET = 64


def _words(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact. Frozen; build once at start-up and share.

    Attributes:
        entities: entity types to detect (default: all of :data:`ENTITY_TYPES` except ``DATE``).
        phone_regions: ISO 3166 regions whose *national* formats are tried for phone numbers, in order.
            International numbers (``+``/``00``) are found whatever this says.
        national_id_patterns: extra regular expressions, each match redacted as ``<NATIONAL_ID>``
            (for ids without a built-in detector, e.g. a customer number scheme). They are compiled as
            given: keep them free of nested unbounded quantifiers (catastrophic backtracking).
        redact_names: detect person names (cue-based, see docs/PRIVACY.md). Also needs ``PERSON`` in
            ``entities``.
        bsn_requires_context: a plain 9-digit number that passes the BSN 11-test is redacted only when a
            context word (``BSN``, ``burgerservicenummer``, ``sofinummer``...) is near. Off = redact every
            11-test-valid 9-digit number (higher recall, eats about 1 in 11 nine-digit order numbers).
        redact_all_dates: also redact dates without a birth-date cue, as ``<DATE>``.
        max_chars: longer input is cut to this many characters before scanning (default 100,000).
        first_names: optional gazetteer of first names (any case). When given, a listed first name
            followed by a capitalised word ("Anouk Jansen called") is a ``PERSON`` even without a cue.
            No list ships with the product: the maintained offline lists measured were too slow, too big
            or GPL (see docs/PRIVACY.md); operators may load their own (e.g. from their CRM).
        name_key: secret key of the name memory (:attr:`Redaction.name_keys`); ``None``: random for each
            :class:`Redactor`, so what a conversation's state remembers can only be matched by the process
            that wrote it, and means nothing to whoever reads the state's changelog.
    """

    entities: frozenset[str] = DEFAULT_ENTITIES
    phone_regions: tuple[str, ...] = ("US", "GB", "NL", "BE", "DE", "FR")
    national_id_patterns: tuple[str, ...] = ()
    redact_names: bool = True
    bsn_requires_context: bool = True
    redact_all_dates: bool = False
    max_chars: int = 100_000
    first_names: frozenset[str] = frozenset()
    name_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.entities) - set(ENTITY_TYPES)
        if unknown:
            raise ValueError(f"unknown entity types: {sorted(unknown)}")
        if self.max_chars < 1:
            raise ValueError("max_chars must be >= 1")
        object.__setattr__(self, "entities", frozenset(self.entities))
        object.__setattr__(self, "phone_regions", tuple(r.upper() for r in self.phone_regions))
        object.__setattr__(self, "national_id_patterns", tuple(self.national_id_patterns))
        object.__setattr__(
            self, "first_names", frozenset(n.strip().lower() for n in self.first_names if n.strip())
        )


@dataclass(frozen=True)
class Redaction:
    """The result of one :meth:`Redactor.redact` call.

    Attributes:
        text: the redacted text, PII replaced by ``<TYPE>`` placeholders.
        counts: entity type -> number of redacted spans; only types that occurred (values from
            :data:`ENTITY_TYPES`, a fixed set, so safe as metric labels).
        truncated: the input was longer than ``max_chars``; the rest was dropped and
            :data:`TRUNCATED_MARKER` appended.
        failed: redaction raised internally; ``text`` is :data:`FAILED_PLACEHOLDER` (nothing leaked).
        name_keys: keyed hashes (``RedactionConfig.name_key``) of the words of the names found; pass them
            back as ``known_names`` for the conversation's later turns, where a name once given is said again
            without a cue ("thanks patrick"). Never the names themselves.
    """

    text: str
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    failed: bool = False
    name_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Span:
    """A detected entity: ``text[start:end]`` is of type ``label``."""

    start: int
    end: int
    label: str


# ------------------------------------------------------------------------------------------------------
# Static data (plain literals: no work at import time)

# IBAN length per country (ISO 13616 registry).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "januari|februari|maart|mei|juni|juli|augustus|oktober|mrt|okt"
)

# Words after which a 9-digit number is a BSN / SSN, and before a date that make it a birth date.
_BSN_CONTEXT = (
    r"bsn|burger\s?service\s?nummer|burgerservicenr|sofi[\s-]?nummer|sofinr|citizen\s+service\s+number|"
    r"persoonsnummer|sofi\b"
)
_SSN_CONTEXT = r"ssn|social\s+security|soc\.?\s*sec|ss\s?#|social\b"
_DOB_CONTEXT = (
    r"born\b|birth|birthday|b-day|dob\b|d\.o\.b|geboren|geboortedatum|geb\.|geboortedag|verjaardag|jarig|"
    r"date\s+of\s+b|age\s+verification"
)
_PHONE_CONTEXT = (
    r"phone|tel\b|tel\.|telephone|mobile|cell|call|ring|reach|text\s+me|sms|whatsapp|fax|contact|"
    r"bel\b|bellen|gebeld|belde|calling|called|dial|rang|telefoon|mobiel|gsm|(?:my|mijn)\s+(?:mobile\s+|mobiele\s+|new\s+|nieuwe\s+)?(?:number|nummer)|"
    r"terugbellen|bereiken"
)
_NOT_PHONE_CONTEXT = (
    r"order|bestelling|bestel|case|ticket|invoice|factuur|transaction|transactie|reference|referentie|ref\b|"
    r"tracking|track|artikel|product|sku|account\s+number|contract|dossier|zaak|polis|policy|serial|serie|"
    r"model|code|pin|klantnummer|customer\s+number|client\s+number|id\b|nr\.?|no\.|number\s*:"
)
_POSTCODE_CONTEXT = r"zip|zip\s?code|postal\s+code|postcode|post\s+code|postnummer"
_ADDRESS_CONTEXT = (
    r"live\s+at|living\s+at|live\s+on|address|addr\.|deliver(?:ed)?\s+to|ship(?:ped)?\s+to|send\s+it\s+to|"
    r"moved\s+to|located\s+at|adres|woonadres|bezorgadres|postadres|factuuradres|afleveradres|woon|wonen|"
    r"verhuisd\s+naar|bezorg|verzend"
)

# Street-type words. English ones follow the street name ("12 Oak Street"); Dutch ones are suffixes of
# the street name, which the house number follows ("Kerkstraat 12").
_EN_STREET_TYPES = frozenset(
    _words(
        """street st str avenue ave av road rd lane ln drive dr boulevard blvd court ct courts place pl way
    terrace ter terr close crescent cres square sq squares parkway pkwy circle cir highway hwy trail trl
    row walk gardens gdns garden grove gr hill hills mews park rise view views green vale wharf yard alley
    loop loaf path pike plaza point pt ridge run track trace common commons crossing xing causeway cove creek
    field fields meadow meadows mill mills port ports river route spur station summit turnpike tunnel
    union unions valley via village villages vista well wells shore shores springs spring stravenue
    junction junctions harbor harbors harbour heights hollow island islands isle key keys knoll knolls lake
    lakes landing light lights lock locks lodge manor manors mission motorway mount mountain mountains
    neck orchard oval pass passage pine pines plain plains prairie radial ramp ranch rapid rapids rest
    shoal shoals skyway stream bypass camp canyon cape center centre centers cliff cliffs club corner
    corners course crest curve dale dam divide estate estates expressway extension extensions falls ferry
    flat flats ford fords forest forge forges fork forks fort freeway gateway glen glens haven inlet mall
    overpass parade drove esplanade broadway embankment quay approach chase croft gate wynd brow bank
    cottages buildings ville rue underpass viaduct crossroad throughway trafficway boulevard alley
    annex arcade beach bend bluff wall fall land burg burgs bluff bluffs bottom branch bridge brook brooks byu cswy cyn ctr dl dv
    expy fwy gtwy hbr hts hwy jct ky ldg lk ln mnr mt mtn pkwy pky pln plz prt rdg rte shl shr smt spg
    sta stra strm ter tpke trak trce trfy trl tunl un vly vw vis wy cl cres gdn gro crt"""
    )
)
_EN_STRONG_STREET_TYPES = frozenset(
    _words(
        "street st avenue ave road rd lane ln drive dr boulevard blvd court ct place way close crescent square "
        "terrace parkway highway"
    )
)
_NL_STREET_SUFFIXES = (
    "straat", "laan", "weg", "plein", "gracht", "kade", "singel", "dijk", "dreef", "hof", "park", "pad",
    "steeg", "markt", "baan", "ring", "wal", "veld", "berg", "haven", "burg", "erf", "plantsoen", "boulevard",
    "allee", "dam", "kant", "zijde", "vaart", "poort", "brug", "hoek", "weide", "werf", "lei", "bos", "hout",
    "akker", "kamp", "gaarde", "hoven", "oord", "heide", "straatje", "laantje", "pleintje", "steegje", "dyk",
    "reed", "donk", "veste", "wetering", "polder", "dreve", "kaai", "rei", "vest", "hoeve", "baan",
)  # fmt: skip
# Words that end like a Dutch street but are not one (checked on the lower-cased word).
_NL_STREET_STOP = frozenset(
    _words(
        """weg hof park pad ring wal veld berg haven burg erf dam kant zijde poort brug hoek bos hout kamp
    oord heide baan markt laan straat plein kade dijk lei rei vest reed akker hoeve onderweg halverwege
    wegweg allerlei eerlei beide mijnheer doorweg daarbij tweede derde vierde vijfde zesde dreef
    ergens halfweg onderdeel wegens zijde inwerkingtreding bedrag paspoort"""
    )
)

# Honorifics (English, Dutch) that are followed by a name.
_HONORIFICS = (
    r"mr|mrs|ms|miss|mx|dr|prof|sir|mister|madam|madame|dame|lady|lord|"
    r"meneer|mevrouw|mevr|mw|dhr|de\s+heer|heer|juffrouw|mej|ir|ing|drs"
)
_NAME_PARTICLES = (
    r"van|de|der|den|het|'t|ter|ten|te|in|op|la|le|du|da|di|dos|del|von|zu|el|al|bin|ben|ibn|mac|"
    r"Van|De|Der|Den|Ter|Ten|El|Al|La|Le|Du|Da|Di|Von|Mac|Ó|Ní|Nic|Mc"
)
# Capitalised words that follow a weak name cue ("this is", "I'm", "Hi") but are not names.
_NOT_NAMES = frozenset(
    _words(
        """mr mrs ms miss mx dr prof sir mister madam madame dame lady lord meneer mevr mw dhr juffrouw mej ir
    ing drs the a an i it its this that these those not so very just really sorry here there calling going
    looking trying still also back happy glad good fine ok okay sure yes no english dutch american british
    belgian german french flemish european monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december billing support customer
    service team all everyone everybody sir madam mevrouw meneer heer niet er al nog wel geen erg heel blij
    boos klant hier bezig van de het een thanks thank hello hi hey dear beste geachte regards kind best
    mvg groet groeten met vriendelijke thx thnx ma'am maam nederlandse belgische vlaamse duitse engelse franse
    engels nederlands frans duits spaans turks arabisch pools portugees italiaans about from for with and or but in on at to of my your our their his
    her we you they he she me us them what who why when where how which please pls can could would should
    will shall might must have has had do does did be been being am is are was were getting having doing
    urgent important ridiculous unacceptable frustrated annoyed angry disappointed confused calling
    writing contacting emailing waiting done finished ready afraid concerned worried interested customer
    agent manager supervisor human person someone anyone nobody again now today tomorrow yesterday soon
    later morning afternoon evening night there's dat dit die deze mijn uw jouw onze hun ik je jij u we
    wij zij ze hij het dag goedemorgen goedemiddag goedenavond hallo hoi welkom bedankt dank alvast
    excuses sorry ja nee oke prima goed fijn graag even toch maar dus want omdat als dan ook nu vandaag
    morgen gisteren klantenservice helpdesk afdeling collega medewerker amazon google apple microsoft
    netflix paypal visa mastercard ing rabobank abn amro bol kpn ziggo vodafone tmobile odido essent eneco
    vattenfall much many lot lots again en of voor naar bij om tot uit aan over onder zonder tegen na sinds tijdens door
    north south east west new lake port mount saint st fort upper lower great little old policyholder
    shopper member members guest guests student studenten students resident residents homeowner verzekerde"""
    )
)

# "O'Brien", "D'Angelo"; not the contractions "I've" / "I'll", which have the same shape.
# Letters: Latin-1, Latin Extended-A and -B and Extended Additional (Wiśniewski, Yıldız, Ionuț, Trần Thị Hương);
# those blocks mix cases, so one of their letters may begin a name either way.
_NAME_TOKEN = (
    r"(?:(?!I['’](?:ve|ll)\b)[A-ZÀ-ÖØ-ÞĀ-ɏḀ-ỿ]['’][A-Za-zÀ-ÖØ-öø-ÿĀ-ɏḀ-ỿ][a-zß-öø-ÿĀ-ɏḀ-ỿ]+|[A-ZÀ-ÖØ-ÞĀ-ɏḀ-ỿ][a-zß-öø-ÿĀ-ɏḀ-ỿ]+(?:[A-ZÀ-ÖØ-ÞĀ-ɏḀ-ỿ][a-zß-öø-ÿĀ-ɏḀ-ỿ]+)?)"
    r"(?:[-'’][A-ZÀ-ÖØ-Þa-zß-öø-ÿĀ-ɏḀ-ỿ][a-zß-öø-ÿĀ-ɏḀ-ỿ]+){0,2}"
)
# (an Irish "o'" or a "d'" before it: "mrs o'halloran", "d'souza"; not "o'clock")
_LOWER_TOKEN = r"(?:[od]['’](?!clock)(?=[a-zß-öø-ÿ]{3}))?[a-zß-öø-ÿ][a-zß-öø-ÿ]+(?:[-'’][a-zß-öø-ÿ]+){0,2}"
_INITIALS = r"(?:[A-Z]\.\s?){1,4}"
# Fillers of a call transcript, skipped before a value ("my password is uh ...") and inside a number.
_FILLERS = "uh|um|uhm|erm|eh|ehm|euh"
# The people a speaker names by their relation ("my wife ...", "mijn zoon ..."): a name often follows.
_KIN_EN = (
    "husband|wife|partner|son|daughter|mother|father|mum|mom|dad|brother|sister|colleague|friend|"
    "cousin|roommate|flatmate|housemate|neighbour|neighbor|nephew|niece|uncle|aunt|auntie|grandson|granddaughter|"
    "grandmother|grandfather|gran|nan|grandad|grandma|grandpa|stepson|stepdaughter|fianc[ée]e?|boyfriend|"
    "girlfriend|carer|landlord|landlady"
)
# Whose relation it is: the speaker's, a third person's, or the listener's ("your colleague", "je collega").
_POSSESSIVE_EN = "my|her|his|our|their|your"
_POSSESSIVE_NL = "mijn|haar|zijn|onze|ons|hun|je|jouw|uw"
_KIN_NL = (
    "man|vrouw|partner|zoon|dochter|moeder|vader|broer|zus|collega|vriend|vriendin|"
    "neef|nicht|oom|tante|buurman|buurvrouw|kleinzoon|kleindochter|oma|opa|schoonmoeder|schoonvader|"
    "huisgenoot|verloofde|stiefzoon|stiefdochter|verhuurder|zoontje|dochtertje|broertje|zusje|schoonzoon|"
    "schoondochter|huisbaas|huisbazin|hospita"
)
# A bare number right before a name cue ("12 Dear Street", "4 Hill Road"): the cue is a street's name. A number
# inside a time or a handle is no house number ("09:13 Agent Liam:", "@jamie_1990 Hi Jamie").
_HOUSE_NUMBER_BEFORE = re.compile(r"(?:^|[\s,(])[0-9]{1,4} \Z")


def _after_house_number(s: str, start: int) -> bool:
    return _HOUSE_NUMBER_BEFORE.search(s, max(0, start - 6), start) is not None


# Lower-case words after a strong cue that begin a phrase, not a name ("talking to my lawyer", "to someone").
_NOT_LOWER_NAME = (
    r"(?:my|your|his|her|their|our|the|a|an|this|that|some|someone|somebody|anyone|anybody|nobody|everyone|"
    r"mijn|uw|je|jouw|zijn|haar|hun|onze|ons|de|het|een|iemand|niemand)"
)


class _Patterns:
    """All compiled patterns; built once on first use (compiling costs ~50 ms, not done at import)."""

    def __init__(self) -> None:
        c = re.compile
        i = re.IGNORECASE
        self.digit = c(r"[0-9]")
        # with a scheme or "www.", or a profile on a social network written bare ("linkedin.com/in/jan-smit")
        self.url = c(
            r"(?i)\b(?:https?://|ftp://|www\.|(?:[a-z]{2,3}\.)?(?:linkedin|facebook|instagram|twitter|x|tiktok|"
            r"youtube|github|threads)\.com/)[^\s<>\"'`{}|\\^\[\]]{1,2048}"
        )
        self.email = c(
            r"(?<![\w.%+'-])[\w.%+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![\w-])"
        )
        # Spoken / obfuscated form (call transcripts): "jan dot smit at gmail dot com", "jan (at) x.nl".
        self.email_spoken = c(
            r"(?i)\b(?:[\w'’-]{1,64}(?:\s+(?:dot|punt)\s+|\s?[._-]\s?)){0,3}[\w'’-]{1,64}\s*"
            r"(?:\s(?:at|apenstaartje|et)\s|\(at\)|\[at\]|\{at\}|@)\s*"
            r"[\w-]{1,63}(?:\s*(?:\s(?:dot|punt)\s|\.|\(dot\)|\[dot\])\s*[\w-]{1,63}){0,3}?"
            r"\s*(?:\s(?:dot|punt)\s|\.|\(dot\)|\[dot\])\s*"
            r"(?:com|net|org|nl|be|de|fr|uk|co\.uk|co\s+dot\s+uk|eu|info|io|biz|us|edu|gov|me)\b"
        )
        self.iban_start = c(r"(?<![A-Za-z0-9])([A-Za-z]{2})([0-9]{2})")
        self.digit_run = c(r"(?<![0-9])[0-9](?:[ \-.]?[0-9]){7,40}(?![0-9])")
        self.card_run = c(r"(?<![0-9+])[0-9](?:[ -]?[0-9]){12,30}(?![0-9])")
        self.ssn_sep = c(
            r"(?<![0-9-])(?!000|666)[0-9]{3}([- ])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}(?![0-9]|-[0-9])"
        )
        self.nine = c(
            r"(?<![0-9A-Za-z.,-])(?:[0-9]{9}|[0-9]{8}|[0-9]{4}\.[0-9]{2}\.[0-9]{3}|[0-9]{3}[ .][0-9]{3}[ .][0-9]{3}|[0-9]{3}-[0-9]{2}-[0-9]{4})(?![0-9A-Za-z]|[.,-][0-9])"
        )
        # Context words start a word: "Sofia" is no "sofi", "stubborn" no "born", "e-mailadres" no "adres".
        self.bsn_ctx = c(rf"(?i)\b(?:{_BSN_CONTEXT})")
        # What an agent's question asks for (the reply is then read as that value; see _ASK_CUES)
        self.asks = tuple((kind, c(rf"(?i)\b(?:{cue})")) for kind, cue in _ASK_CUES)
        # The same cues in one pattern, for a value said after its own cue (Redactor._cued_values)
        self.cued = c(r"(?i)\b(?:" + "|".join(f"(?P<{kind}>{cue})" for kind, cue in _ASK_CUES) + ")")
        self.ssn_ctx = c(rf"(?i)\b(?:{_SSN_CONTEXT})")
        self.be_rrn = c(r"(?<![0-9])[0-9]{2}[. ]?[0-9]{2}[. ]?[0-9]{2}[ .-]?[0-9]{3}[ .-]?[0-9]{2}(?![0-9])")
        self.be_rrn_written = c(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[0-9]{3}\.[0-9]{2}")
        self.be_rrn_cue = c(r"(?i)rijksregister|register\s*n(?:umme)?r|national\s+(?:register|number)|numéro\s+national")
        self.fr_nir = c(
            r"(?<![0-9])[12][ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?(?:[0-9]{2}|2[AB])[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{2}(?![0-9])"
        )
        self.uk_nino = c(
            r"(?i)(?<![A-Za-z0-9])[A-Z]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[A-D](?![A-Za-z0-9])"
        )
        self.ie_pps = c(r"(?i)(?<![A-Za-z0-9])[0-9]{7}[A-W][A-IW]?(?![A-Za-z0-9])")  # Irish PPS number
        # An identity document's number written after its name ("Passport Z4418273", "aadhaar 4724 4227 9256",
        # "PAN AKRPP4417M", "rijbewijsnummer 5012345678", "Medicare number 4790 71956 2"): 6-20 letters and
        # digits, four digits at least, after the cue and at most a "number is:" between.
        self.id_cued = c(
            r"(?i:\b(?:passport|paspoort|id[-\s]?card|id[-\s]?kaart|identiteitskaart|identity\s+card|rijbewijs|"
            r"driving\s+licen[cs]e|driver'?s?\s+licen[cs]e|document(?:nummer|\s+(?:number|no))|aadhaa?r|pan|medicare|"
            r"nhs|national\s+insurance|tax\s+(?:id|file)|tin|sofi|verblijfsvergunning|residence\s+permit|ehic)"
            r"(?:nummer|nr\.?)?(?:[ \t]*(?:number|no\.?|nr\.?|nummer|#|card|kaart|is|was|:|=|\()){0,3}[ \t]*)"
            r"(?P<value>(?=(?:[A-Z -]*[0-9]){4})[A-Z0-9]{1,18}(?:[ -][0-9]{1,8}){0,4})(?![A-Za-z0-9])"
        )
        # Vehicle registration plates: the UK's current format ("KX21 FNM"), the Dutch side codes (six letters and
        # digits in three groups, each all letters or all digits: "12-ABC-3", "GK-482-T", "XX-99-XX") and Belgium's
        # ("1-ABC-123"). Capitals only; a date ("12-MAR-24") has seven characters, not six.
        nl_groups = "|".join(
            re.sub(r"L+|D+", lambda m: ("[A-Z]" if m.group()[0] == "L" else "[0-9]") + f"{{{len(m.group())}}}", code)
            for code in (
                "LL-DD-LL", "DD-LL-DD", "DD-DD-LL", "LL-DD-DD", "LL-LL-DD", "DD-LL-LL", "DD-LLL-D", "D-LLL-DD",
                "LL-DDD-L", "L-DDD-LL", "LLL-DD-L", "L-DD-LLL", "D-LL-DDD", "DDD-LL-D",
            )
        )
        self.plate = c(
            rf"(?<![\w-])(?:[A-Z]{{2}}[0-9]{{2}}[ ]?[A-Z]{{3}}|{nl_groups}|[1-9]-[A-Z]{{3}}-[0-9]{{3}})(?![\w-])"
        )
        # A social-media handle ("@sean_obrien_83", "@jess.tran.official"): not the "@" of an email address (a word
        # before it) or of a profile's link; a trailing dot ends the sentence, not the handle.
        self.handle = c(r"(?<![\w.@/+'-])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)(?![\w@-])")
        self.ipv4 = c(
            r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9])"
        )
        self.phone_country_before = c(r"(?:\+|(?<![0-9])00)[1-9][0-9]{0,2}[ \t]*(?:\(0\)[ \t]*)?$")
        self.ipv6 = c(
            r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![0-9A-Fa-f:])"
        )
        # Phone pre-filter: >= 7 digits with at most 3 separator characters between neighbours.
        self.phone_pre = c(r"[0-9](?:[^0-9A-Za-z\n]{0,3}[0-9]){6,}")
        # Phone-shaped candidates for the fallback (numbers that are possible but not valid).
        self.phone_cand = c(
            r"(?<![\w+])(?:\+|00)?\(?[0-9]{1,4}\)?(?:[ .\-/]{0,3}\(?[0-9]{1,5}\)?){1,6}"
            r"(?:\s*(?:x|ext\.?|extension|toestel|tst\.?)\s*[0-9]{1,6})?(?![\w])"
        )
        self.phone_ctx = c(rf"(?i)(?:{_PHONE_CONTEXT})")
        self.not_phone_ctx = c(rf"(?i)(?:{_NOT_PHONE_CONTEXT})[^0-9]{{0,12}}$")
        self.amount_shape = c(r"^[0-9]{1,3}(?:[.,][0-9]{3})+(?:[.,][0-9]{2})?$|^[0-9]+[.,][0-9]{2}$")
        self.phone_ext_tail = c(r"(?i)\s*(?:x|ext\.?|extension|toestel|tst\.?)\s*[0-9]{1,6}$")
        self.phone_ext = c(r"(?i)\s*(?:x|ext\.?|extension|toestel|tst\.?)\s*[0-9]{1,6}(?![0-9])")
        self.phone_prefix = c(r"(?:\+|00)[0-9]{1,3}[ .\-]?(?:\(0\))?[ .\-]?$")
        self.hours_shape = c(
            r"^[0-9]{1,2}[.:][0-9]{2}[ \t]*[-–][ \t]*[0-9]{1,2}[.:][0-9]{2}$"
        )  # "8.00-20.00"
        self.date_shape = c(
            r"^(?:[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}|[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2})$"
        )
        self.nanp_shape = c(
            r"^\(?[2-9][0-9]{2}\)?[ .\-]?[0-9]{3}[ .\-][0-9]{4}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", i
        )
        # Dates.
        day = r"(?:0?[1-9]|[12][0-9]|3[01])"
        mon = r"(?:0?[1-9]|1[0-2])"
        year = r"(?:19|20)[0-9]{2}"
        # Numeric dates (case-sensitive, cheap) and dates with a month name (only run when a year and a
        # month word occur).
        self.date_num = c(
            rf"(?<![0-9])(?:{day}[./-]{mon}[./-](?:{year}|[0-9]{{2}})|{year}[./-]{mon}[./-]{day}|"
            rf"{mon}/{day}/(?:{year}|[0-9]{{2}}))(?![0-9])"
        )
        self.date_text = c(
            rf"(?i)(?<![0-9])(?:{day}(?:st|nd|rd|th|e|ste|de)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+{year}|"
            rf"(?:{_MONTHS})\.?\s+{day}(?:st|nd|rd|th)?,?\s+{year})(?![0-9])"
        )
        self.year = c(r"(?:19|20)[0-9]{2}")
        self.word = c(r"[a-z]+(?:['’][a-z]+)?")
        self.dob_ctx = c(rf"(?i)\b(?:{_DOB_CONTEXT})")
        self.dob_ctx_after = c(r"(?i)[ ,)(]{0,3}(?:\(?(?:dob|d\.o\.b\.?)|geboren|born|ben\s+ik\s+geboren)\b")
        # Postcodes.
        self.nl_postcode = c(r"(?<![\w-])[1-9][0-9]{3}[ ]?(?!SA|SD|SS)[A-Z]{2}(?![\w-])")
        self.nl_postcode_lc = c(r"(?<![\w-])[1-9][0-9]{3}[ ]?[A-Za-z]{2}(?![\w-])")
        self.uk_postcode = c(
            r"(?i)(?<![\w-])(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)[ ]?[0-9][ABD-HJLNP-UW-Z]{2}(?![\w-])"
        )
        # Irish Eircode: routing key and a unique identifier of letters and digits ("D02 X285", "R95 K7F2").
        self.eircode = c(
            r"(?<![\w-])(?:[AC-FHKNPRTV-Y][0-9]{2}|D6W)[ ]?(?=[0-9AC-FHKNPRTV-Y]{0,3}[0-9])(?=[0-9AC-FHKNPRTV-Y]{0,3}[A-Z])"
            r"[0-9AC-FHKNPRTV-Y]{4}(?![\w-])"
        )
        self.zip_code = c(r"(?<![\w-])[0-9]{5}(?:-[0-9]{4})?(?![\w-])")
        self.be_postcode = c(r"(?<![\w-])(?:B-)?[1-9][0-9]{3}(?![\w-])")
        self.us_state_before = c(
            r"(?:\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
            r"NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|AA|AE|AP|AS|GU|MP|VI|FM|MH|PW)"
            r"|\b(?i:zip|zip\s?code|postal\s+code|postcode|post\s+code))\W{0,3}$"
        )
        self.postcode_ctx = c(rf"(?i)\b(?:{_POSTCODE_CONTEXT})")
        # "2000 Antwerpen" is a postcode; "EUR 2000 Extra", "order 2000 Apple" are not, nor the year in
        # "On 24 May 2026, Anna Jansen wrote:".
        self.not_postcode_before = c(
            rf"(?i)(?:[€$£]|eur|euro|usd|gbp|order|bestelling|ticket|#|x|[0-9][.]?|\b(?:{_MONTHS})\.?,?)\s*$"
        )
        self.month_before = c(rf"(?i)\b(?:{_MONTHS})\.?,?[ \t]+$")
        self.year = c(r"(?:19|20)[0-9]{2}")
        self.not_postcode_ctx = c(
            r"(?i)(?:artikel|product|code|sku|units?\s+of|stuks|model|type|order|bestel|ticket|item|part)[^0-9]{0,12}$"
        )
        self.city_after = c(r"[ ,]{0,2}(?:\n|\s)?(?:['’]s-)?[A-Z][a-zà-ÿ'’-]+(?:[ -][A-Z][a-zà-ÿ'’-]+){0,2}")
        # Addresses.
        self.address_ctx = c(rf"(?i)\b(?:{_ADDRESS_CONTEXT})")
        self.en_address = c(
            r"(?<![\w.,-])([0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?),?((?:[ \t]+(?:[A-Z][\w'’.-]{0,30}|[0-9]{1,3}(?:st|nd|rd|th))){1,5})"
        )
        self.en_address_lc = c(r"(?<![\w.,-])([0-9]{1,5}[a-z]?),?((?:[ \t]+[a-z][\w'’-]{0,30}){1,5})")
        self.uk_flat = c(
            r"(?i:\b(?:flat|apartment|apt\.?|unit|studio|suite)\s+[0-9]{1,4}[a-z]?,?[ \t]*\n?[ \t]*)"
            r"([A-Z][\w'’-]{0,30}(?:[ \t]+[A-Z][\w'’-]{0,30}){0,3})"
        )
        self.unit_after = c(
            r"(?i),?\s*(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|#|room|rm\.?)\s*#?\s*[A-Za-z0-9-]{1,6}\b"
        )
        self.nl_street = c(
            r"(?<![\w-])([\w'’-]{3,40})[ \t]+([0-9]{1,5})(?![0-9]|[,.:/][0-9]|\s?(?:euro|eur|€|%|minuten|minutes|uur|jaar|dagen|days|keer))"
        )
        self.nl_house_tail = c(
            r"(?i)(?:[ ]?(?:bis|hs|hg|huis|boven|beneden)(?![A-Za-z])|[ ]?[A-Za-z](?![A-Za-z])|[-/ ](?:[0-9]{1,4}|[IVX]{1,3}|bis|hs|hg|h)(?![\w])|[ ]+bus[ ]+[0-9]{1,4})"
        )
        self.nl_street_prefix = c(
            r"((?:(?:[A-Z][\w'’.-]{0,25}|van|de|der|den|het|'t|ter|ten|[0-9]e)[ \t]+){1,3})$"
        )
        # Streets named type-first: "Laan van Meerdervoort 1122", "Plein 1944 4", "Rue de la Loi 16".
        self.nl_street_type_first = c(
            r"(?<![\w-])(?:Laan|Plein|Kade|Dreef|Singel|Gracht|Dijk|Markt|Weg|Rue|Avenue|Chaussée|Steenweg)"
            r"[ \t]+(?:(?:van|de|der|den|het|ten|ter|op|la|le|du|des|d')[ \t]*){1,3}(?:[A-Z][\w'’-]{0,25}[ \t]+){0,2}$"
        )
        self.flat_before = c(
            r"(?i:\b(?:flat|apartment|apt\.?|unit|suite|appartement)[ \t]+[0-9]{1,4}[A-Za-z]?|(?<![0-9/])[0-9]{1,3}/[0-9]{1,3})"
            r"(?:,[ \t]*(?:[A-Z][\w'’-]+[ \t]+){0,3}[A-Z][\w'’-]+)?,?[ \t]*$"  # and a building: "Flat 7, Rutland Court, "
        )
        # A Dutch or Belgian house number's floor or addition after it: "210 3 hoog", "31 huis", "45 bus 4".
        self.address_addition = c(
            r"[ \t]+(?:(?:[0-9]{1,2}[ \t]*)?(?:hoog|hg)\b|huis\b|bis\b|bus[ \t]+[0-9]{1,4}\b)"
        )
        self.street_after = c(r",[ \t]*((?:[A-Z][\w'’-]+[ \t]+){1,3}[A-Z][\w'’-]+)")
        self.po_box = c(r"(?i)\b(?:p\.?\s?o\.?\s+box|postbus|postbox)\s+[0-9]{1,6}\b")
        # Names.
        name = (
            rf"(?:{_INITIALS}\s?)?(?:(?:{_NAME_PARTICLES})\s+){{0,3}}{_NAME_TOKEN}"
            rf"(?:[ \t]+(?:(?:{_NAME_PARTICLES})[ \t]+){{0,3}}{_NAME_TOKEN}){{0,3}}"
        )
        lower_name = rf"{_LOWER_TOKEN}(?:[ \t]+(?:(?:{_NAME_PARTICLES})[ \t]+){{0,3}}{_LOWER_TOKEN}){{0,2}}"
        # A name right before a date of birth: a list of travellers or of the people on a form ("- Esra Kılıç,
        # geboren 19 januari 1993", "Mohammed Amrani 02-03-1984", "T. Kramer-Bijl, born 3/11/1958"); searched with
        # the date's start as the end.
        self.name_before_dob = c(
            rf"(?:^|(?<=[\s,;:(•*-]))(?P<name>{name})[ \t]*(?:,[ \t]*|\([ \t]*)?"
            r"(?:(?i:geboren|born|geb\.?|b\.|d\.o\.b\.?|dob)(?:[ \t]+(?i:op|on))?[ \t]*:?[ \t]*)?\Z"
        )
        self.name_strong = c(
            r"(?i:\b(?:(?:my|his|her|their|the\s+customer's|the\s+caller's)\s+name\s+(?:is|was)|(?:(?:my|his|her|their)\s+)?name['’]s|"
            r"name\s*:|naam\s*:|(?:mijn|zijn|haar|hun)\s+naam\s+(?:is|was)|ik\s+heet|i\s+am\s+called|"
            r"call\s+me|you\s+can\s+call\s+me|spreek\s+ik\s+met|spreekt\s+met|spreek\s+je\s+met|speaking\s+with|"
            r"speaking\s+to|talking\s+to|talking\s+with|account\s+holder\s+is|account\s+holder\s*:|"
            r"rekeninghouder\s*:?|tenaamstelling\s*:?|(?:voornaam|achternaam|roepnaam|surname|first\s+name|"
            r"last\s+name|given\s+name|family\s+name|full\s+name|applicants?|aanvragers?)\s*:|in\s+the\s+name\s+of|"
            r"op\s+naam\s+van|ten\s+name\s+van|t\.n\.v\.?|attn\.?|c/o|"
            r"(?:(?:the\s+)?name\s+on\s+(?:the\s+)?(?:account|booking|card|ticket|policy|contract|reservation|passport)|"
            r"naam\s+op\s+(?:de|het|mijn)\s+(?:boeking|rekening|kaart|ticket|reservering|polis|contract|paspoort))"
            r"(?:\s+is|\s*:|(?=\s+(?-i:[A-ZÀ-ÖØ-Þ])))|"  # "... is X", "...: X" or a capitalised name after it
            r"(?:full\s+)?name\s+as\s+on\s+(?:the\s+|my\s+)?\w+\s*:|"
            r"naam\s+(?:melder|aanvrager|klant|contactpersoon|bewoner|huurder|eigenaar|patiënt|"
            r"patient|overledene)\s*:|(?:customer|contact|patient|tenant|caller|policyholder)\s+name\s*:|"
            r"account\s+holder(?=\s+(?-i:[A-ZÀ-ÖØ-Þ]))|"
            r"(?:the\s+)?account(?:'s|\s+is)\s+in\s+(?:the\s+)?name\s+(?:of\s+)?|staat\s+op\s+naam\s+van|"
            r"(?:booking|reservation|order|account|policy|ticket|room|table)\s+(?:is|was|'s)\s+under(?=\s+(?-i:[A-ZÀ-ÖØ-Þ]))|"
            r"under\s+the\s+name(?:\s+of)?)\s+)"
            rf"(?P<name>{name}|(?!{_NOT_LOWER_NAME}\b){lower_name})"
        )
        self.name_honorific = c(
            rf"(?i:(?<![\w*'’.-])(?:{_HONORIFICS})\.?\s+)(?P<name>{name}|(?:(?:{_NAME_PARTICLES})\s+){{0,3}}{_LOWER_TOKEN})"
        )
        self.name_weak = c(
            r"(?i:\b(?:speak\s+(?:to|with)|(?:kan|mag)\s+ik|this\s+is|it['’]s|it\s+is|i['’]m|i\s+am|im|ik\s+ben|here\s+is|with\s+you\s+is|dit\s+is|hier\s+is|"
            rf"(?:{_POSSESSIVE_EN})\s+(?:{_KIN_EN})|"
            r"(?:spoke|spoken|talked|chatted)\s+(?:to|with)|(?:gesproken|gebeld|gechat)\s+met|medewerker|name|naam|"
            r"heet|heten|(?:owner|tenant|driver|holder|applicant|passenger|buyer|seller|member)(?:\s+is|\s*:)|"
            r"(?:eigenaar|huurder|bestuurder|passagier|lid|koper|verkoper)(?:\s+is|\s*:)|naam\s+passagier\s*:|"
            r"(?:my|our)\s+client,?|(?:mijn|onze)\s+cliënt,?|it\s+says|"
            rf"(?:{_POSSESSIVE_NL})\s+(?:{_KIN_NL})|"
            r"dear|hi|hello|hey|hiya|good\s+(?:morning|afternoon|evening)|beste|geachte|hoi|hallo|dag|"
            r"goedemorgen|goedemiddag|goedenavond|thanks|thank\s+you|bedankt|dank\s+je(?:wel)?|dank\s+u(?:wel)?|"
            r"colleague|collega|agent|transfer\s+you\s+to|doorverbinden\s+met|ask\s+for|vraag\s+naar|"
            # a chat window's opening line: "Chat started with Tayla", "you're chatting with Sam", "je chat met Mark"
            r"chat(?:ting)?\s+(?:with|met)(?!\s+(?:het|de|the|our|ons|onze)\b)|chat\s+started\s+with|"
            r"now\s+connected\s+(?:to|with)|nu\s+verbonden\s+met|"
            r"in\s+gesprek\s+met)[ \t,]+)"
            rf"(?P<name>{name})"
        )
        # "mijn huisbaas is Harm Dijkstra", "my landlord is Tom Baker": a relation and "is", then a name of two words
        # at least (one word after "is" is too often an adjective: "mijn vrouw is Surinaams").
        self.name_kin_is = c(
            rf"(?i:\b(?:(?:my|her|his|our|their)\s+(?:{_KIN_EN})\s+(?:is|was|called|named)|"
            rf"(?:mijn|haar|zijn|onze|ons|hun)\s+(?:{_KIN_NL})\s+(?:is|was|heet|heette))\s+)"
            rf"(?P<name>{_NAME_TOKEN}(?:[ \t]+(?:(?:{_NAME_PARTICLES})[ \t]+){{0,3}}{_NAME_TOKEN}){{1,3}})"
        )
        # A word spelled letter by letter in a call ("m a c l e o d", "o apostrophe n e i l l"): a name or an
        # address, nearly always; four letters at least.
        self.spelled = c(
            r"(?<![\w'’])(?:[A-Za-z](?:[ \t]+(?i:apostrophe|apostrof|dash|hyphen|streepje|koppelteken)[ \t]+|[ \t]+|-)){3,}"
            r"[A-Za-z](?![\w'’])"
        )
        # "(ik heb) met Fatima gesproken / gebeld".
        self.name_met_spoke = c(
            rf"\b(?i:met)[ \t]+(?P<name>{name})(?=[ \t]+(?i:gesproken|gebeld|gechat|gemaild|contact)\b)"
        )
        # A second person joined to a found one: "spoke to Hannah and Yusuf", "Kevin Boateng en Mirjam de Graaf".
        self.name_and = c(rf"(?:[ \t]*\([^()\n]{{0,40}}\))?,?[ \t]+(?:and|en|&)[ \t]+(?P<name>{name})")
        # An email's name alone on its last line, or on the line above the quoted history ("\n\nDaniel\n\nOn ...").
        self.name_lastline = c(
            rf"\n[ \t]*\n[ \t>]*(?P<name>{name})[ \t]*(?=\s*\Z|\s*\n[ \t>]*(?:(?i:on|op|am|le)\b[^\n]*"
            r"(?i:wrote|schreef|geschreven|schrieb|écrit)|-{3,}|_{5,}|(?i:from|van|sent|verzonden)[ \t]*:"
            # or above the signature's lines: a phone number, "T:", "Tenant ref: ..."
            r"|[+0(]?[0-9][0-9 ()-]{6,}|[A-Za-z][A-Za-z .-]{0,20}:))"
        )
        self.name_met = c(
            rf"(?:^|[.!?,\-–]\s*|\n)\s*(?i:met)\s+(?P<name>{name})(?=\s*[,.!?\n]|\s+(?i:van|from|hier|here)\b)"
        )
        self.name_here = c(
            rf"(?:^|[.!?,]\s*|\n)\s*(?P<name>{name}),?\s+(?i:here|hier|speaking|aan\s+de\s+lijn)\b"
        )
        self.name_signoff = c(
            r"(?i:\b(?:regards|kind\s+regards|best\s+regards|warm\s+regards|best\s+wishes|sincerely|"
            r"yours\s+sincerely|yours\s+faithfully|yours\s+truly|yours|take\s+care|cheers|many\s+thanks|"
            r"thanks(?:\s+again)?|thank\s+you(?:\s+again|\s+for\s+your\s+help)?|best|"
            r"(?:alvast\s+)?bedankt|dank\s+(?:je|u)(?:\s*wel)?|dankjewel|dankuwel|met\s+dank|"
            r"met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|hartelijke\s+groet(?:en)?|"
            r"groet(?:en|jes)?|mvg|m\.v\.g\.?|gr\.?|liefs|thanks\s+a\s+(?:million|lot|bunch)|hoogachtend|"
            r"met\s+hoogachting)\s*[,.!:]?[ \t]*"
            r"(?:\n[ \t]*(?:>[ \t]*)*){0,2}(?:-\s*)?)"
            # not a second sign-off ("Alvast bedankt!\nGroet, Emma Rovers": the name follows "Groet")
            r"(?!(?i:groet(?:en|jes)?|regards|cheers|thanks|bedankt|best|mvg|liefs|kind|met|vriendelijke)\b)"
            rf"(?P<name>{name})(?=\s*$|\s*\n|\s*[.,!]\s*$|[ \t]+[-–|][ \t]|[ \t]*\(|,[ \t]+[^\W\d_][^\n,<>@:]{{1,40}}(?:\n|\Z))"
        )
        # Email threads: the people in a reply's header lines and quoted history. A display name before an
        # address ("Anna Jansen <anna@x.nl>", "\"Jansen, Anna\" <...>", "Anna [mailto:...]"); a header field
        # at the start of a line, quoted or not ("From: Anna Jansen", "> Aan: A. de Vries; Piet Bos"); and the
        # name in a client's reply line ("On Mon, 3 Dec 2026, Anna Jansen wrote:", "Op 3 dec. 2026 schreef
        # Anna Jansen:", "... heeft Anna Jansen het volgende geschreven:").
        # Mail programs also write the surname first ("Jansen, Anna <...>", "de Vries, P. wrote:").
        last_first = rf"{name}(?:,[ \t]+(?:{name}|(?:[A-Z]\.[ \t]?){{1,4}}))?"
        self.name_display = c(
            rf"(?<![\w'’-])(?P<name>{last_first})(?=[ \t]*(?:<[^<>\s@]+@|\[mailto:|\(mailto:))"
        )
        self.name_display_quoted = c(r'"(?P<name>[^"\n<>@]{1,80})"(?=[ \t]*(?:<[^<>\s@]+@|\[mailto:))')
        self.name_header = c(
            r"^[ \t>]*(?i:(?:from|to|cc|bcc|reply-to|sender|van|aan|namens|afzender|ontvanger)[ \t]*:[ \t]*)"
            r"(?P<value>[^\n]{1,300})$",
            re.M,
        )
        # One recipient of a header field: its display part, before any <address> / [mailto:] / (note).
        self.header_person = c(
            r"[ \t]*\"?(?P<name>[^;<>\[\]()\"@\n]*[^;<>\[\]()\"@\n \t])\"?[ \t]*(?:[<\[(][^;]*)?"
        )
        self.name_wrote = c(
            r"^[ \t>]*(?i:(?:on|op|am|le)\b[^\n]{0,160}?(?:,|\bschreef|\bheeft)[ \t]+)"
            rf"(?P<name>{last_first})(?=[ \t]+(?i:wrote|schreef|het\s+volgende\s+geschreven|schrieb|a\s+écrit)\b|[ \t]*:[ \t]*$)",
            re.M,
        )
        self.name_one = c(name)
        # A job before a capitalised name: "your repairs manager Gary Stokes promised", "monteur Kees de Boer".
        self.name_job = c(rf"(?i:\b(?:{'|'.join(sorted(_JOB_WORDS))}))[ \t]+(?P<name>{name})")
        # A social-media reply signed by its agent: "... we'll get an engineer booked in. ^Aleksandra"
        self.name_caret = c(rf"(?<![\w^])\^(?P<name>{_NAME_TOKEN})(?=[ \t]*(?:\n|\Z))")
        # Gazetteer rule: a capitalised first name followed by a surname (optionally with particles).
        self.name_pair = c(
            rf"(?<![\w'’-])(?P<name>(?P<first>{_NAME_TOKEN})[ \t]+(?:(?:{_NAME_PARTICLES})[ \t]+){{0,3}}{_NAME_TOKEN})"
        )
        digit_word = "|".join(sorted(_SPOKEN_DIGIT_VALUE, key=len, reverse=True))
        number_word = "|".join(
            sorted({*_SPOKEN_DIGIT_VALUE, *_SPOKEN_PAIR_VALUE, "hundred", "honderd"}, key=len, reverse=True)
        )
        self.spoken_numbers = c(
            rf"(?i)(?<![\w'’])(?:(?:double|triple|dubbel|tripel)[ ,-]+)?(?:{number_word})"
            rf"(?:(?:[ ,-]{{1,3}}(?:(?:{_FILLERS})[ ,]+)?)(?:(?:double|triple|dubbel|tripel)[ ,-]+)?"
            rf"(?:{number_word})){{3,30}}(?![\w'’])"
        )
        # A birth date said in words after its cue: "date of birth uh the twenty first of november nineteen
        # seventy six", "born on the fourth of july nineteen eighty two", "geboortedatum drie maart negentien
        # achtenzeventig", "twelve zero eight nineteen fifty four".
        ordinal = (
            "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
            "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|1st|2nd|3rd|"
            "[0-9]{1,2}th|[0-9]{1,2}e"
        )
        date_word = (
            rf"{number_word}|{ordinal}|{_MONTHS}|of|the|and|en|thousand|duizend|tweeduizend|negentienhonderd|"
            rf"{_FILLERS}|[0-9]{{1,4}}"
        )
        self.spoken_dob = c(
            r"(?i)\b(?:date\s+of\s+birth|birth\s*date|d\.?o\.?b\.?|born|geboren|geboortedatum|geb\.)"
            rf"[^\n0-9]{{0,25}}?(?<![\w'’])(?P<date>(?:{date_word})(?:[ ,]+(?:{date_word})){{2,12}})(?![\w'’])"
        )
        self.credential = c(
            r"(?i)\b(?:(?:my\s+|the\s+|mijn\s+|het\s+|de\s+)?(?:password|passwd|pwd|passcode|wachtwoord|inlogcode|toegangscode|"
            r"user\s?name|gebruikersnaam|login\s+name|inlognaam)"
            rf"(?:\s+(?:is|was|=|:)|\s*[:=])\s*(?:(?:{_FILLERS})\s+)?(?!(?:{_NOT_A_PASSWORD})\b)(?P<value>[^\s]{{1,64}})"
            r"|(?:pin|pincode|pin\s+code|cvv2?|cvc2?|csc|security\s+code|verification\s+code|beveiligingscode|"
            r"verificatiecode)(?:\s+(?:is|was|=|:)|\s*[:=]|\s)\s*(?P<value2>[0-9]{3,8})(?![0-9])"
            # a login right after its name, shaped like one ("gebruikersnaam mo.haddou1985"), and a wifi key
            r"|(?:user\s?name|gebruikersnaam|login\s+name|inlognaam)[ \t]+(?P<value3>(?=[^\s]*[0-9._])[A-Za-z0-9._-]{3,40})"
            r"(?![\w@])"
            r"|(?:wifi|wi-fi|wlan|router|netwerk|network)\b[^\n?!]{0,40}?\b(?:key|sleutel|wachtwoord|password)"
            r"(?:\s+(?:is|was)|\s*[:=])?[ \t]+(?P<value4>(?=[^\s]*[0-9])(?=[^\s]*[A-Za-z])[A-Za-z0-9][^\s,;]{5,63}))"
        )
        # "the code I just got by text is 583 916", "pin for the card is 4471", "de verificatiecode die ik kreeg is
        # 482913", "the pin they sent is seven seven three one": a code and its value with words between.
        self.credential_phrase = c(
            r"(?i)\b(?P<cue>pin(?:code|\s+code)?|verificatiecode|verification\s+code|beveiligingscode|security\s+code|cvc2?|cvv2?|"
            r"inlogcode|sms[- ]?code|one[- ]time\s+code|otp|code)\b(?P<between>[^\n.?!0-9]{0,40}?)"
            rf"\b(?:is|was|=|:)[ \t]+(?:(?:{_FILLERS})[ \t]+)?"
            rf"(?P<value>[0-9]{{3,4}}(?:[ -]?[0-9]{{2,4}})?(?![0-9])|(?:(?:{digit_word})[ ,]+){{2,7}}(?:{digit_word})\b)"
        )
        # "I reset the password to Sunflower!88", "nieuw wachtwoord aangemaakt (Zomer2023!!)".
        self.credential_set = c(
            r"(?i)\b(?:password|passwd|wachtwoord)\b[^\n.?!]{0,40}?(?:\b(?:to|naar|into)[ \t]+|\([ \t]*)"
            r"(?P<value>[^\s()]{4,64})"
        )
        # "ik kan niet inloggen met r.jagessar / Paramaribo1975", "can't log in as jdoe88 / Summer2024!": a login
        # and its password written side by side.
        self.credential_pair = c(
            r"(?i)\b(?:log\s?in|log\s+on|sign\s+in|inloggen|aanmelden|login)\b[^\n.?!]{0,20}?\b(?:with|as|met|als)[ \t]+"
            r"(?:(?P<user>[^\s/@]{3,40})[ \t]*/[ \t]*(?P<password>[^\s/]{4,64})"
            # "ik log in met kvdlinden en 58213": side by side with "and", one of them shaped like a login
            r"|(?=[^\n]{0,40}?[0-9_])(?P<user2>[^\s/@,]{3,40})[ \t]+(?:and|en)[ \t]+(?P<password2>[^\s/,]{4,64}))"
        )
        # A password written without its cue, in a text about logging in: letters and digits with a capital
        # or a sign ("Paramaribo1975", "Wachtwoord!2024").
        self.password_shape = c(
            r"(?<![\w@./:-])(?=[^\s]*[0-9])(?=[^\s]*[A-Za-z])"
            r"(?:[A-Z][a-z]{3,}[0-9]{4,}[!?#$%&*.]*|[A-Za-z][A-Za-z0-9]{3,}[!?#$%&*][A-Za-z0-9!?#$%&*]{1,}|"
            r"[A-Za-z]{3,}[!?#$%&*]+[0-9]{2,})(?![\w@/-])"
        )
        # A code or a PIN the customer received or gave away: "I got a code by text 482913", "asked for my pin
        # too, I gave them 7720".
        self.credential_given = c(
            r"(?i)\b(?:code|pin|pincode|otp|verificatiecode|sms-?code)\b[^\n.?!0-9]{0,40}?"
            r"\b(?:by\s+text|via\s+sms|per\s+sms|texted(?:\s+me)?|gave\s+(?:them|him|her|it)|gaf\s+(?:ik\s+)?(?:hem|haar|ze|die))"
            r"[ \t:,]+(?P<value>[0-9]{4,8})(?![0-9])"
        )
        self.place_after = c(
            r"[ ,]{0,3}(?:[A-Z]{2}\s+[0-9]{5}\b|[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][A-Z]{2}\b|[1-9][0-9]{3}\s?[A-Z]{2}\b)"
        )
        self.name_leading_particles = c(rf"^(?:(?:{_NAME_PARTICLES})\s+)+")


_PATTERNS: _Patterns | None = None
_PATTERNS_LOCK = threading.Lock()


def _patterns() -> _Patterns:
    global _PATTERNS
    if _PATTERNS is None:
        with _PATTERNS_LOCK:
            if _PATTERNS is None:
                _PATTERNS = _Patterns()
    return _PATTERNS


# ------------------------------------------------------------------------------------------------------
# Checksums


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_shape_ok(digits: str) -> bool:
    """Length and issuer prefix of a payment card (ISO/IEC 7812 IINs of the card schemes in use).

    Cards start with 2-6 (Mastercard 2-series, Amex/Diners/JCB 3, Visa 4, Mastercard/Maestro 5, Discover/
    UnionPay/Maestro 6); 13-19 digits; 14-digit numbers are only Diners (30, 36, 38, 39). Numbers starting
    with 0, 1, 7, 8 or 9 (airline, petroleum, healthcare, national) are left alone.
    """
    n = len(digits)
    if not 13 <= n <= 19 or digits[0] not in "23456":
        return False
    if n == 14:
        return digits[:2] in ("30", "36", "38", "39")
    if digits[0] == "2":
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    return True


def ie_pps_valid(pps: str) -> bool:
    """Irish PPS number: 7 digits, a check letter (weighted sum mod 23, W = 0) and an optional letter."""
    digits, check, extra = pps[:7], pps[7], pps[8:]
    total = sum(int(d) * w for d, w in zip(digits, range(8, 1, -1), strict=True))
    if extra:
        total += 9 * (0 if extra == "W" else ord(extra) - 64)
    r = total % 23
    return check == ("W" if r == 0 else chr(64 + r))


# The account part (BBAN) of the IBANs of the countries a Dutch and English contact centre meets most, from the
# IBAN registry: letters where the bank code has letters, digits where it has digits.
_BBAN_SHAPES = {
    country: re.compile(shape)
    for country, shape in {
        "NL": "[A-Z]{4}[0-9]{10}", "BE": "[0-9]{12}", "DE": "[0-9]{18}", "GB": "[A-Z]{4}[0-9]{14}",
        "IE": "[A-Z]{4}[0-9]{14}", "FR": "[0-9]{10}[A-Z0-9]{11}[0-9]{2}", "LU": "[0-9]{3}[A-Z0-9]{13}",
        "ES": "[0-9]{20}", "IT": "[A-Z][0-9]{10}[A-Z0-9]{12}", "AT": "[0-9]{16}", "PT": "[0-9]{21}",
    }.items()
}


def iban_valid(iban: str) -> bool:
    """ISO 13616 check of a compact, upper-case IBAN: known country, its length, and mod 97 == 1."""
    if len(iban) < 5 or _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    try:
        number = "".join(str(int(ch, 36)) for ch in rearranged)
        return int(number) % 97 == 1
    except ValueError:
        return False


def bsn_valid(digits: str) -> bool:
    """Dutch BSN 11-test on 8 or 9 digits (8 = leading zero dropped)."""
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def be_national_number_valid(digits: str) -> bool:
    """Belgian rijksregisternummer: 97 - (first 9 digits mod 97), with a '2' prefix for births >= 2000."""
    if len(digits) != 11:
        return False
    base, check = int(digits[:9]), int(digits[9:])
    return 97 - base % 97 == check or 97 - int("2" + digits[:9]) % 97 == check


def fr_nir_valid(compact: str) -> bool:
    """French NIR (numéro de sécurité sociale): key = 97 - (13 digits mod 97); Corsica 2A/2B handled."""
    if len(compact) != 15:
        return False
    body = compact[:13].upper().replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not compact[13:].isdigit():
        return False
    return 97 - int(body) % 97 == int(compact[13:])


# ------------------------------------------------------------------------------------------------------
# Scan-copy normalisation (same length as the input)

# Code points already looked at: those that map to an ASCII character (the translate table) and those
# that do not. Bounded, so a stream of random Unicode cannot grow them without limit.
_TRANSLATE: dict[int, int] = {}
_UNMAPPED: set[int] = set()
_CHAR_CACHE_LOCK = threading.Lock()
_CHAR_CACHE_MAX = 100_000


def _scan_copy(text: str) -> str:
    """Map non-ASCII chars with a one-ASCII-char compatibility form to it; keep the length."""
    if text.isascii():
        return text
    new: dict[int, int] = {}
    unmapped: set[int] = set()
    for ch in set(text):
        cp = ord(ch)
        if cp < 128 or cp in _TRANSLATE or cp in _UNMAPPED:
            continue
        dec = unicodedata.decimal(ch, None)
        if dec is not None:
            new[cp] = 48 + dec
            continue
        norm = unicodedata.normalize("NFKC", ch)
        if len(norm) == 1 and norm.isascii():
            new[cp] = ord(norm)
        elif unicodedata.category(ch) == "Zs":
            new[cp] = 32
        else:
            unmapped.add(cp)
    if (new or unmapped) and len(_TRANSLATE) + len(_UNMAPPED) < _CHAR_CACHE_MAX:
        with _CHAR_CACHE_LOCK:
            _TRANSLATE.update(new)
            _UNMAPPED.update(unmapped)
    if new and any(cp not in _TRANSLATE for cp in new):
        return text.translate({**_TRANSLATE, **new})
    return text.translate(_TRANSLATE)


# ------------------------------------------------------------------------------------------------------
# The redactor


class Redactor:
    """Finds and replaces PII. Thread-safe; construct once per worker and reuse.

    >>> Redactor().redact("Mail me at jan.jansen@example.nl").text
    'Mail me at <EMAIL>'
    """

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config or RedactionConfig()
        self._answers: Redactor | None = None
        self._name_key = self.config.name_key or os.urandom(16)
        self._p = _patterns()
        self._on = self.config.entities
        self._names = self.config.redact_names and "PERSON" in self._on
        self._extra_ids = tuple(re.compile(p) for p in self.config.national_id_patterns)
        self._phone_regions = self.config.phone_regions
        if "PHONE" in self._on:
            import phonenumbers  # deferred: ~0.2 s import, only paid when phones are on

            self._pn: Any = phonenumbers
        else:
            self._pn = None

    # -- public -----------------------------------------------------------------------------------------

    def mentions_bsn(self, text: str) -> bool:
        """True when ``text`` names a BSN / burgerservicenummer / sofinummer (e.g. an agent asking for it)."""
        return bool(self._p.bsn_ctx.search(text or ""))

    def asks_for(self, text: str) -> frozenset[str]:
        """The entity types a question asks for ("and your date of birth?" -> {"DOB"}; "what's the
        postcode and the first line of the address" -> {"POSTCODE", "ADDRESS"}); pass them as
        ``answering`` when redacting the reply. Cue words only, so redacted text reads the same."""
        low = text or ""
        kinds = set()
        for kind, rx in self._p.asks:
            low, n = rx.subn(" ", low)
            if n:
                kinds.add(kind)
        return frozenset(kinds) & self._on

    def for_bsn_answers(self) -> Redactor:
        """This redactor, but redacting every 11-test-valid 9-digit number as a BSN: for the replies
        that follow a question about one ("Wat is uw BSN?" - "123456782"), where the number itself
        carries no context word. Same instance every call."""
        if self._answers is None:
            if not self.config.bsn_requires_context:
                self._answers = self
            else:
                self._answers = Redactor(replace(self.config, bsn_requires_context=False, name_key=self._name_key))
        return self._answers

    def redact(
        self,
        text: str,
        language: str | None = None,
        answering: frozenset[str] = frozenset(),
        speaker: str | None = None,
        known_names: frozenset[str] = frozenset(),
        *,
        opening: bool = False,
    ) -> Redaction:
        """Redact ``text``; never raises.

        Args:
            text: the utterance. ``None`` is treated as ``""``; other non-strings are converted with ``str``.
            language: ``"en"``, ``"nl"`` or ``None``. A hint only: every detector runs for both languages,
                because Dutch customers switch to English mid-sentence; Dutch phone regions (NL, BE) are
                tried first when it is ``"nl"``.
            answering: what the question before this reply asked for (:meth:`asks_for`): the reply's bare
                values are read as those ("twenty second of june nineteen seventy one" after a question
                about the date of birth).
            speaker: ``"agent"`` or ``"bot"``: the turn may open with the agent's own first name, said in lower
                case in a transcript ("thanks for calling this is dana", "goedemiddag met sanne").
            known_names: the ``name_keys`` of the conversation's earlier turns: any word that is one of
                those names is redacted, cue or not.
            opening: with an agent or bot ``speaker``, the turn opens the conversation, so its first words are
                a greeting even without a greeting word ("lost property northline rail it's connor").
        """
        try:
            if not isinstance(text, str):
                text = "" if text is None else str(text)
            if not isinstance(language, str):
                language = None
            truncated = len(text) > self.config.max_chars
            if truncated:
                text = text[: self.config.max_chars]
            spans = self.find(text, language, answering, speaker, known_names, opening=opening)
            out, counts = _apply(text, spans)
            if truncated:
                out += TRUNCATED_MARKER
            keys = frozenset(self._name_hash(w) for w in _name_words(text, spans)) if "PERSON" in counts else frozenset()
            return Redaction(out, counts, truncated=truncated, name_keys=keys)
        except Exception:  # fail closed: never let unredacted text through
            return Redaction(FAILED_PLACEHOLDER, {}, failed=True)

    def find(
        self,
        text: str,
        language: str | None = None,
        answering: frozenset[str] = frozenset(),
        speaker: str | None = None,
        known_names: frozenset[str] = frozenset(),
        *,
        opening: bool = False,
    ) -> list[Span]:
        """Detected spans of ``text`` (merged, sorted, non-overlapping). May raise; ``redact`` does not."""
        scan = _scan_copy(text)
        spans: list[Span] = []
        on = self._on
        p = self._p
        has_digit = p.digit.search(scan) is not None
        # Lower-case ASCII words, used to skip patterns whose cue words are absent.
        words = frozenset(p.word.findall(scan.lower()))
        if "URL" in on and ("://" in scan or "www." in scan.lower() or ".com/" in scan.lower()):
            spans += self._urls(scan)
        if "EMAIL" in on:
            spans += self._emails(scan)
        if "HANDLE" in on and "@" in scan:
            spans += [Span(m.start(), m.end(), "HANDLE") for m in p.handle.finditer(scan) if _personal_handle(m.group(1))]
        if has_digit:
            iban_shaped: list[Span] = []
            if "IBAN" in on:
                spans += self._ibans(scan, iban_shaped)
            if "CARD" in on:
                spans += self._cards(scan)
            if "SSN" in on or "BSN" in on:
                spans += self._ssn_bsn(scan)
            if "NATIONAL_ID" in on:
                spans += self._national_ids(scan)
            if "IP" in on:
                spans += self._ips(scan)
            if "PLATE" in on:
                spans += [Span(m.start(), m.end(), "PLATE") for m in p.plate.finditer(scan)]
            if "PHONE" in on:
                # IBAN-shaped strings that fail the checksum are left alone, not half-read as phones
                spans += self._phones(scan, spans + iban_shaped, language)
            if "DOB" in on or "DATE" in on:
                spans += self._dates(scan, words)
            addr_ctx = p.address_ctx.search(scan) is not None
            if "POSTCODE" in on:
                spans += self._postcodes(scan, addr_ctx)
            if "ADDRESS" in on:
                spans += self._grow_addresses(scan, list(self._addresses(scan, addr_ctx)))
        elif self._extra_ids and "NATIONAL_ID" in on:
            spans += self._national_ids(scan)
        if ("PHONE" in on or "CARD" in on) and len(words & _SPOKEN_GATE) >= 2:
            spans += self._spoken_numbers(scan)
        if "DOB" in on and not words.isdisjoint(_CUES_BIRTH):
            spans += self._spoken_dobs(scan)
        if "CREDENTIAL" in on and not words.isdisjoint(_CUES_CREDENTIAL):
            spans += self._credentials(scan)
        if answering:
            spans += _answer_spans(scan, 0, len(scan), answering & on)
        if not words.isdisjoint(_CUES_SELF) and (
            not words.isdisjoint(_SPOKEN_GATE) or "honderd" in scan or "duizend" in scan
        ):  # a value said after its cue is said in number words ("... postcode is n w three two r x")
            spans += self._cued_values(scan)
        if "ADDRESS" in on and not words.isdisjoint(_SPOKEN_GATE) and not _HAS_CAPITALS.search(scan):
            spans += _spoken_addresses(scan)
        if "\n" in scan and "?" in scan:
            spans += _chat_answers(scan, self.asks_for)
        turns = list(_TURN.finditer(scan)) if "\n" in scan and not words.isdisjoint(_CUES_TURN) else []
        transcript = len(turns) >= 2  # a call or chat handed over whole, a speaker's label on each turn
        if transcript:
            spans += _transcript_answers(scan, turns, self.asks_for)
            if self._names:
                for start, end in _agent_turns(scan, turns):
                    spans += self._intro_names(scan, start, end, opening=start == turns[0].end())
                if not words.isdisjoint(_CUES_INTRO):
                    for agent, start, end in _turn_bounds(scan, turns):
                        if not agent:
                            spans += _customer_intros(scan, start, end)
        if self._names and speaker in _AGENT_SIDE and not words.isdisjoint(_CUES_INTRO):
            spans += self._intro_names(scan, 0, len(scan), opening=opening)
        elif self._names and not transcript and not words.isdisjoint(_CUES_INTRO):
            spans += _customer_intros(scan, 0, len(scan))
        if self._names and known_names:
            spans += self._known_names(scan, known_names)
        if self._names:
            spans += self._persons(scan, words)
            if _CAPS_RUN.search(scan):
                spans += self._caps_persons(scan, words)
            if answering or transcript:
                # in a call a name once given is said again, in lower case, with no cue ("... morag")
                spans += _propagate_names(scan, spans)
            elif "\n" in scan:
                # in a chat or an email, as it was written ("Tayla: Hi" after "Chat started with Tayla")
                spans += _propagate_names(scan, spans, any_case=False)
            if any(sp.label == "DOB" for sp in spans):
                spans += self._names_before_dates(scan, spans)
        if "\n" in scan and spans:
            spans += _repeated_values(scan, spans)
        return _merge(spans)

    def _names_before_dates(self, s: str, spans: list[Span]) -> Iterator[Span]:
        """The person whose date of birth follows their name on the same line (``name_before_dob``)."""
        for sp in spans:
            if sp.label != "DOB":
                continue
            line = s.rfind("\n", 0, sp.start) + 1
            m = self._p.name_before_dob.search(s, max(line, sp.start - 60), sp.start)
            if m is None:
                continue
            words = [w.strip(".").lower() for w in m.group("name").split()]
            if all(w in _NOT_NAMES or len(w) < 2 for w in words) or any(
                w in _COMPANY_WORDS or w in _WEEKDAY_ABBREVIATIONS for w in words
            ):  # not "On Tue, 14 May 2024 at 10:02, ... wrote:"
                continue
            yield Span(m.start("name"), m.end("name"), "PERSON")

    # -- detectors --------------------------------------------------------------------------------------

    def _urls(self, s: str) -> Iterator[Span]:
        for m in self._p.url.finditer(s):
            end = m.end()
            while end > m.start() and s[end - 1] in ".,;:!?)'\"":
                end -= 1
            yield Span(m.start(), end, "URL")

    def _emails(self, s: str) -> list[Span]:
        out: list[Span] = []
        if "@" in s:
            out += [Span(m.start(), m.end(), "EMAIL") for m in self._p.email.finditer(s)]
        low = s.lower()
        if "@" in s or " at " in low or "(at)" in low or "[at]" in low or "apenstaartje" in low:
            out += [Span(m.start(), m.end(), "EMAIL") for m in self._p.email_spoken.finditer(s)]
        return out

    def _ibans(self, s: str, shaped: list[Span]) -> Iterator[Span]:
        """Valid IBANs, and IBANs in their country's exact shape (``_BBAN_SHAPES``) that fail mod 97; other
        IBAN-shaped strings (country, length) that fail it are added to ``shaped``."""
        n = len(s)
        for m in self._p.iban_start.finditer(s):
            country = m.group(1).upper()
            length = _IBAN_LENGTHS.get(country)
            if length is None:
                continue
            chars = [country, m.group(2)]
            need = length - 4
            pos = m.end()
            while need and pos < n:
                ch = s[pos]
                if ch.isascii() and ch.isalnum():
                    chars.append(ch.upper())
                    need -= 1
                    pos += 1
                elif ch in " -." and pos + 1 < n and s[pos + 1].isascii() and s[pos + 1].isalnum():
                    pos += 1
                else:
                    break
            if need or (pos < n and s[pos].isascii() and s[pos].isalnum()):
                continue
            compact = "".join(chars)
            bban = _BBAN_SHAPES.get(country)
            # A mistyped IBAN is still the customer's account: one written in its country's exact shape is
            # redacted even when the check fails (an order number has no bank code in the right place).
            if iban_valid(compact) or bban is not None and bban.fullmatch(compact, 4):
                yield Span(m.start(), pos, "IBAN")
            else:
                shaped.append(Span(m.start(), pos, "IBAN"))

    def _cards(self, s: str) -> Iterator[Span]:
        for m in self._p.card_run.finditer(s):
            run = m.group()
            digits = re.sub(r"[^0-9]", "", run)
            if _card_shape_ok(digits) and luhn_valid(digits):
                yield Span(m.start(), m.end(), "CARD")
                continue
            # A longer run (card followed by expiry/CVC, or two numbers): try contiguous digit groups.
            groups = [(g.start(), g.end()) for g in re.finditer(r"[0-9]+", run)]
            if len(groups) < 2:
                if len(digits) > 19:  # one unbroken long number: try 16 and 15-digit prefixes
                    for k in (16, 15, 19, 13):
                        if _card_shape_ok(digits[:k]) and luhn_valid(digits[:k]):
                            yield Span(m.start(), m.start() + k, "CARD")
                            break
                continue
            # Longest contiguous run of groups holding 13-19 digits that passes; bounded: O(groups x 19).
            best: tuple[int, int] | None = None
            for a in range(len(groups)):
                n = 0
                for b in range(a, len(groups)):
                    n += groups[b][1] - groups[b][0]
                    if n > 19:
                        break
                    if n >= 13:
                        d = "".join(run[x:y] for x, y in groups[a : b + 1])
                        if _card_shape_ok(d) and luhn_valid(d):
                            best = (groups[a][0], groups[b][1])
                if best is not None:
                    break
            if best is not None:
                yield Span(m.start() + best[0], m.start() + best[1], "CARD")

    def _context_before(self, pattern: re.Pattern[str], s: str, start: int, window: int = 40) -> bool:
        return pattern.search(s, max(0, start - window), start) is not None

    def _context_near(self, pattern: re.Pattern[str], s: str, start: int, end: int, window: int = 40) -> bool:
        """A context word within ``window`` characters before ``start`` or after ``end``."""
        return (
            pattern.search(s, max(0, start - window), start) is not None
            or pattern.search(s, end, end + window) is not None
        )

    def _ssn_bsn(self, s: str) -> Iterator[Span]:
        p = self._p
        on = self._on
        if "SSN" in on:
            for m in p.ssn_sep.finditer(s):
                yield Span(m.start(), m.end(), "SSN")
        for m in p.nine.finditer(s):
            raw = m.group()
            digits = re.sub(r"[^0-9]", "", raw)
            if "-" in raw and len(digits) == 9 and raw.count("-") == 2 and raw[3] == "-" and raw[6] == "-":
                continue  # SSN shape, handled above
            bsn_ctx = self._context_near(p.bsn_ctx, s, m.start(), m.end(), 50)
            if "BSN" in on and bsn_valid(digits):
                if bsn_ctx or (not self.config.bsn_requires_context and len(digits) == 9):
                    yield Span(m.start(), m.end(), "BSN")
                    continue
                if "." in raw and len(raw) == 11 and raw[4] == ".":
                    yield Span(m.start(), m.end(), "BSN")  # 1234.56.789 is the printed BSN format
                    continue
            if (
                "SSN" in on
                and len(digits) == 9
                and not digits.startswith(("000", "666"))
                and self._context_near(p.ssn_ctx, s, m.start(), m.end(), 50)
            ):
                yield Span(m.start(), m.end(), "SSN")
                continue
            if "BSN" in on and bsn_ctx and len(digits) == 9:
                yield Span(
                    m.start(), m.end(), "BSN"
                )  # explicitly called a BSN: redact even if the test fails

    def _national_ids(self, s: str) -> Iterator[Span]:
        p = self._p
        if p.digit.search(s) is not None:
            for m in p.be_rrn.finditer(s):
                digits = re.sub(r"[^0-9]", "", m.group())
                month = int(digits[2:4])
                # month may be 00 (unknown) or shifted by 20/40 for bis-numbers
                # Written as the card prints it ("85.07.30-033.28") or after its name, a mistyped number is still
                # the person's: the check is waived, the date must still be one.
                shaped = p.be_rrn_written.fullmatch(m.group()) is not None or p.be_rrn_cue.search(
                    s, max(0, m.start() - 40), m.start()
                ) is not None
                if (month <= 12 or 20 <= month <= 32 or 40 <= month <= 52) and (
                    be_national_number_valid(digits) or shaped and 1 <= int(digits[4:6]) <= 31
                ):
                    yield Span(m.start(), m.end(), "NATIONAL_ID")
            for m in p.fr_nir.finditer(s):
                if fr_nir_valid(m.group().replace(" ", "")):
                    yield Span(m.start(), m.end(), "NATIONAL_ID")
            for m in p.uk_nino.finditer(s):
                yield Span(m.start(), m.end(), "NATIONAL_ID")
            for m in p.ie_pps.finditer(s):
                if ie_pps_valid(m.group().upper()):
                    yield Span(m.start(), m.end(), "NATIONAL_ID")
            for m in p.id_cued.finditer(s):
                yield Span(m.start("value"), m.end("value"), "NATIONAL_ID")
        for rx in self._extra_ids:
            for m in rx.finditer(s):
                if m.end() > m.start():
                    yield Span(m.start(), m.end(), "NATIONAL_ID")

    def _ips(self, s: str) -> Iterator[Span]:
        p = self._p
        if "." in s:
            for m in p.ipv4.finditer(s):
                if p.phone_country_before.search(s, max(0, m.start() - 12), m.start()):
                    continue  # "+32 71.25.12.47": a Belgian number written with dots, left to the phone rules
                yield Span(m.start(), m.end(), "IP")
        if s.count(":") >= 2:
            for m in p.ipv6.finditer(s):
                cand = m.group()
                if len(cand) < 6 or sum(ch.isalnum() for ch in cand) < 4:
                    continue
                try:
                    ipaddress.IPv6Address(cand)
                except ValueError:
                    continue
                yield Span(m.start(), m.end(), "IP")

    def _phones(self, s: str, found: list[Span], language: str | None) -> list[Span]:
        p = self._p
        pn = self._pn
        if pn is None or p.phone_pre.search(s) is None:
            return []
        # Mask what stronger detectors already took, so card/IBAN digits are not re-read as phones.
        masked = _mask(s, found)
        regions = self._phone_regions
        if language and language.lower().startswith("nl"):
            nl_first = tuple(r for r in regions if r in ("NL", "BE"))
            regions = nl_first + tuple(r for r in regions if r not in ("NL", "BE"))
        out: list[Span] = []
        budget = _PHONE_VERIFY_BUDGET
        for m in p.phone_cand.finditer(masked):
            raw = m.group()
            n_digits = sum(ch.isdigit() for ch in p.phone_ext_tail.sub("", raw))
            if (
                n_digits < 7
                or p.date_shape.match(raw)
                or p.amount_shape.match(raw)
                or p.hours_shape.match(raw)
            ):
                continue
            start, end = m.start(), m.end()
            if budget <= 0:
                # Verification costs ~0.1 ms a candidate; past the budget (only in huge, digit-dense
                # input) redact unverified so the time stays bounded and nothing leaks.
                out.append(Span(start, end, "PHONE"))
                continue
            budget -= 1
            plain = raw.isdigit()
            phone_ctx = self._context_near(p.phone_ctx, masked, start, end, 40)
            if start > 0 and masked[start - 1] == "#":
                continue  # "#0241349" is an order or ticket number
            if start > 1 and masked[start - 1] == "-" and masked[start - 2].isalpha():
                continue  # "INV-2024-004417", "WO-774102": the number of an id with a letter prefix
            if plain and self._id_word_closer(masked, start):
                continue  # "order 0612345678": a plain number right after an id word
            hits = self._phone_matcher(masked, start, end, regions)
            if hits:
                out += hits
                continue
            if n_digits > 15:
                continue
            if self._phone_possible(raw, regions, phone_ctx):
                out.append(Span(start, end, "PHONE"))
        # Grow spans over an international prefix the matcher left out ("+32(0)...") and extensions.
        grown: list[Span] = []
        for sp in out:
            start, end = sp.start, sp.end
            pm = p.phone_prefix.search(s, max(0, start - 8), start)
            if pm is not None:
                start = pm.start()
            em = p.phone_ext.match(s, end)
            if em is not None:
                end = em.end()
            grown.append(Span(start, end, "PHONE"))
        return grown

    def _id_word_closer(self, s: str, start: int) -> bool:
        """An id word ("order", "ticket", "klantnummer") is nearer before ``start`` than any phone word."""
        p = self._p
        idm = p.not_phone_ctx.search(s, max(0, start - 30), start)
        if idm is None:
            return False
        last_phone = -1
        for pm in p.phone_ctx.finditer(s, max(0, start - 40), start):
            last_phone = pm.end()
        return last_phone < idm.start()

    def _phone_matcher(self, s: str, start: int, end: int, regions: tuple[str, ...]) -> list[Span]:
        """phonenumbers' PhoneNumberMatcher (leniency VALID) on a small window around one candidate."""
        pn = self._pn
        w0 = max(0, start - 2)
        window = s[w0 : min(len(s), end + 2)]
        lead = s[start:end].lstrip(" (")
        if lead.startswith(("+", "00")):
            tries = regions[:1]  # the country code decides; any region parses it
        elif lead.startswith("0"):
            # trunk prefix 0: never NANP
            tries = tuple(r for r in regions if r not in _NANP_REGIONS)
        else:
            # no trunk prefix: only NANP numbers are accepted below, so only NANP regions can match
            tries = tuple(r for r in regions if r in _NANP_REGIONS)
        for region in tries:
            hits: list[Span] = []
            for m in pn.PhoneNumberMatcher(window, region, leniency=pn.Leniency.VALID, max_tries=20):
                raw = m.raw_string
                # National numbers outside NANP are written with their trunk prefix 0; a bare digit run
                # without it is an order number far more often than a phone number.
                if (
                    m.number.country_code != 1 and not raw.startswith(("+", "00", "0", "(0"))
                ) or self._p.date_shape.match(raw):
                    continue
                hits.append(Span(w0 + m.start, w0 + m.end, "PHONE"))
            if hits:
                return hits
        return []

    def _phone_possible(self, raw: str, regions: tuple[str, ...], phone_ctx: bool) -> bool:
        """Fallback for numbers of a possible length that are not (known) valid: international form,
        NANP layout, or a phone word nearby."""
        pn = self._pn
        p = self._p
        raw = raw.strip()
        if raw.startswith(("+", "00")):
            try:
                num = pn.parse("+" + raw[2:] if raw.startswith("00") else raw, None)
            except Exception:
                return False
            return bool(pn.is_possible_number(num))
        if p.nanp_shape.match(raw):
            return True
        if phone_ctx and (
            raw.startswith(("0", "(")) or not raw.isdigit() or (len(raw) == 10 and raw[0] in "23456789")
        ):
            for region in regions:
                try:
                    if pn.is_possible_number(pn.parse(raw, region)):
                        return True
                except Exception:
                    continue
        return False

    def _dates(self, s: str, words: frozenset[str]) -> Iterator[Span]:
        p = self._p
        matches = list(p.date_num.finditer(s))
        if not words.isdisjoint(_MONTH_WORDS) and p.year.search(s) is not None:
            matches += p.date_text.finditer(s)
        for m in matches:
            if "DOB" in self._on and (
                self._context_before(p.dob_ctx, s, m.start(), 50)
                or p.dob_ctx_after.match(s, m.end()) is not None
            ):
                yield Span(m.start(), m.end(), "DOB")
            elif self.config.redact_all_dates:
                yield Span(m.start(), m.end(), "DATE")

    def _postcodes(self, s: str, addr_ctx: bool) -> Iterator[Span]:
        p = self._p
        for m in p.nl_postcode.finditer(s):
            letters = m.group()[-2:]
            if not self._context_before(p.postcode_ctx, s, m.start(), 30) and (
                (letters in _NOT_POSTCODE_LETTERS and p.city_after.match(s, m.end()) is None)
                or p.not_postcode_ctx.search(s, max(0, m.start() - 30), m.start()) is not None
            ):
                continue
            yield Span(m.start(), m.end(), "POSTCODE")
        has_ctx = p.postcode_ctx.search(s) is not None
        if has_ctx or addr_ctx:
            for m in p.nl_postcode_lc.finditer(s):
                letters = m.group()[-2:].upper()
                if letters not in _NOT_POSTCODE_LETTERS or self._context_before(
                    p.postcode_ctx, s, m.start(), 30
                ):
                    yield Span(m.start(), m.end(), "POSTCODE")
        for m in p.uk_postcode.finditer(s):
            g = m.group()
            if (
                g.isupper()
                or self._context_before(p.postcode_ctx, s, m.start(), 30)
                or self._context_before(p.address_ctx, s, m.start(), 60)
            ):
                yield Span(m.start(), m.end(), "POSTCODE")
        for m in p.eircode.finditer(s):
            yield Span(m.start(), m.end(), "POSTCODE")
        for m in p.zip_code.finditer(s):
            if p.us_state_before.search(
                s, max(0, m.start() - 30), m.start()
            ) is not None or self._context_before(p.postcode_ctx, s, m.start(), 30):
                yield Span(m.start(), m.end(), "POSTCODE")
        # Belgian/other 4-digit codes: with a postcode word, or right after a street line and before a city.
        for m in p.be_postcode.finditer(s):
            if self._context_before(p.postcode_ctx, s, m.start(), 30):
                yield Span(m.start(), m.end(), "POSTCODE")
                continue
            cm = p.city_after.match(s, m.end())
            if cm is None or cm.group().strip(" ,\n").split()[0].lower() in _NOT_NAMES:
                continue
            before = s[max(0, m.start() - 12) : m.start()]
            if p.not_postcode_before.search(before) is None:
                yield Span(m.start(), m.end(), "POSTCODE")

    def _grow_addresses(self, s: str, spans: list[Span]) -> list[Span]:
        """An address's flat before it and a street after it: "Flat 3, 27 Harcourt Road", "3/2, 41 Dumbarton
        Road", "Apartment 12, 4 Grand Canal Quay", "Flat 7, Rowan Court, Beech Lane"."""
        p = self._p
        out = []
        for sp in spans:
            start, end = sp.start, sp.end
            m = p.flat_before.search(s, max(0, start - 64), start)
            if m is not None:
                start = m.start()
            m = p.street_after.match(s, end)
            if m is not None and _is_street_type(m.group(1).split()[-1].lower().strip(".,")):
                end = m.end()
            m = p.address_addition.match(s, end)
            if m is not None:
                end = m.end()
            out.append(Span(start, end, sp.label))
        return out

    def _addresses(self, s: str, addr_ctx: bool) -> Iterator[Span]:
        p = self._p
        for m in p.po_box.finditer(s):
            yield Span(m.start(), m.end(), "ADDRESS")
        # English: number, capitalised street name words, street type ("221B Baker Street").
        for m in p.en_address.finditer(s):
            if p.year.fullmatch(m.group(1)) and p.month_before.search(s, max(0, m.start() - 12), m.start()):
                continue  # a year after its month ("On 24 May 2026, Christopher Wells wrote:")
            sp = self._en_street(s, m, m.start(2), allow_lower=False)
            if sp is not None:
                yield sp
        if addr_ctx:
            for m in p.en_address_lc.finditer(s):
                if self._context_before(p.address_ctx, s, m.start(), 40):
                    sp = self._en_street(s, m, m.start(2), allow_lower=True)
                    if sp is not None:
                        yield sp
        # UK style "Flat 9, Richards Fields" (no house number before the street).
        for m in p.uk_flat.finditer(s):
            words = m.group(1).split()
            for k in range(len(words), 1, -1):
                if _is_street_type(words[k - 1].lower().strip(".,")):
                    end = _skip_to(s, m.start(1), words[:k])
                    yield Span(m.start(), end, "ADDRESS")
                    break
        # Dutch / Flemish: street name ending in a street word, then the house number ("Kerkstraat 12a").
        for m in p.nl_street.finditer(s):
            word = m.group(1)
            low = word.lower()
            type_first = None
            if not low.endswith(_NL_STREET_SUFFIXES) or low in _NL_STREET_STOP:
                type_first = p.nl_street_type_first.search(s, max(0, m.start() - 40), m.start())
                if type_first is None:
                    continue
            # lower-case street words are common ("de weg 3 keer"): short ones only with an address cue
            if (
                word[0].islower()
                and len(low) < 8
                and not self._context_before(p.address_ctx, s, m.start(), 40)
            ):
                continue
            start = m.start()
            pm = p.nl_street_prefix.search(s, max(0, start - 60), start)
            if pm is not None:
                start = pm.start()
                # don't swallow sentence-initial words like "Ik" / "Mijn"
                while start < m.start():
                    w = s[start:].split(None, 1)[0]
                    if w.lower() in _NOT_NAMES or w.lower() in (
                        "adres",
                        "address",
                        "straat",
                        "op",
                        "aan",
                        "is",
                        "in",
                    ):
                        start += len(w)
                        while start < m.start() and s[start] in " \t":
                            start += 1
                    else:
                        break
            if type_first is not None:
                start = min(start, type_first.start())
            end = m.end()
            tm = p.nl_house_tail.match(s, end)
            if tm is not None:
                end = tm.end()
            yield Span(start, end, "ADDRESS")

    def _en_street(self, s: str, m: re.Match[str], words_start: int, *, allow_lower: bool) -> Span | None:
        words = m.group(2).split()
        best = 0
        for k, w in enumerate(words, 1):
            lw = w.lower().rstrip(".,")
            if _is_street_type(lw) and (k >= 2 or lw == "broadway"):
                if allow_lower and lw not in _EN_STRONG_STREET_TYPES and not w[0].isupper():
                    continue
                best = k
        if not best:
            return None
        end = _skip_to(s, words_start, words[:best])
        if s[end - 1] == "," or s[end - 1] == ".":
            end -= 1
        um = self._p.unit_after.match(s, end)
        if um is not None:
            end = um.end()
        return Span(m.start(), end, "ADDRESS")

    def _spoken_numbers(self, s: str) -> Iterator[Span]:
        """Numbers read out in call transcripts, digit by digit, in pairs or with hundreds ("oh six one two ...",
        "nul zes eenendertig tweeënveertig negentien zeventig"): 7 to 19 digits are a phone, or a card by Luhn;
        more are an account number read out, taken for an IBAN with the two letters said before it ("f r seven
        six three zero ...")."""
        for m in self._p.spoken_numbers.finditer(s):
            number = spoken_to_digits(re.findall(r"[^\W\d_]+", m.group().lower()))
            country = re.search(r"(?<![\w'’])[a-zA-Z][ ,]+[a-zA-Z][ ,]+$", s[max(0, m.start() - 8) : m.start()])
            if "IBAN" in self._on and (len(number) > 19 or country is not None and len(number) >= 12):
                yield Span(m.start() - (len(country.group()) if country else 0), m.end(), "IBAN")
            elif 7 <= len(number) <= 19:
                label = "CARD" if _card_shape_ok(number) and luhn_valid(number) else "PHONE"
                if label in self._on:
                    yield Span(m.start(), m.end(), label)

    def _spoken_dobs(self, s: str) -> Iterator[Span]:
        """A birth date said in words after its cue (see ``spoken_dob``); the words around it are trimmed."""
        for m in self._p.spoken_dob.finditer(s):
            start, end = m.start("date"), m.end("date")
            toks = [
                (t.start() + start, t.end() + start, t.group().lower())
                for t in re.finditer(r"\S+", s[start:end])
            ]
            edge = _SPOKEN_FILLERS | {"the", "of", "and", "en"}
            while toks and toks[0][2].strip(",") in edge:
                toks.pop(0)
            while toks and toks[-1][2].strip(",") in edge:
                toks.pop()
            words = [t[2].strip(",") for t in toks]
            has_month = any(w in _MONTH_WORDS for w in words)
            digits = spoken_to_digits([w for w in words if w not in _MONTH_WORDS])
            if len(toks) >= 3 and (has_month or len(digits) >= 6):
                yield Span(toks[0][0], toks[-1][1], "DOB")

    def _cued_values(self, s: str) -> Iterator[Span]:
        """A value read out after its own cue in the same sentence ("and the postcode is n w three two r x",
        "het adres is kerkstraat twaalf a drie vijf acht een b k"), read as an answer to that cue. Names and
        free-word credentials are not: after a cue in running text they are too often ordinary words."""
        for m in self._p.cued.finditer(s):
            kind = m.lastgroup
            if kind not in _SELF_CUED or kind not in self._on:
                continue  # "e-mail address" is an email's cue, not an address's
            stop = _SENTENCE_END.search(s, m.end(), m.end() + 160)
            end = stop.start() if stop else min(len(s), m.end() + 160)
            yield from _answer_spans(s, m.end(), end, frozenset({kind}), cued=True)

    def _name_hash(self, word: str) -> str:
        return hashlib.blake2b(word.encode("utf-8"), key=self._name_key, digest_size=8).hexdigest()

    def _known_names(self, s: str, known: frozenset[str]) -> Iterator[Span]:
        """Every word of ``s`` that is a word of a name given earlier in the conversation."""
        for m in _ANSWER_TOKEN.finditer(s):
            w = m.group().lower()
            if len(w) >= 3 and w not in _NOT_NAMES and self._name_hash(w) in known:
                yield Span(m.start(), m.end(), "PERSON")

    def _intro_names(self, s: str, start: int, end: int, *, opening: bool = False) -> Iterator[Span]:
        """An agent's own first name in the lower-case greeting of a transcript ("thanks for calling this is
        dana", "it's bev speaking", "goedemiddag met sanne van de klantenservice"): after "this is", "it's",
        "i'm" only in a greeting or before "speaking"/"here"; after Dutch "met" only at the end or before
        "van"/"namens"/"bij"; before "how can I help" or "am I speaking with" anywhere. ``opening``: the
        turn opens the call, so its words are a greeting ("lost property northline rail it's connor")."""
        for m in _INTRO.finditer(s, start, end):
            tokens = _answer_tokens(s, m.end(), min(end, m.end() + 80))
            name: list[tuple[str, int, int]] = []
            for tok in tokens[:3]:
                if tok[0] in _ANSWER_STOP or tok[0] in _INTRO_AFTER or _is_number_token(tok[0]):
                    break
                if tok[0] in _COMPANY_WORDS or tok[0].endswith(_ROLE_ENDINGS):
                    break  # "you're through to reservations", "... to caledon energy how can i help"
                if not tok[0].replace("-", "").replace("'", "").isalpha():
                    break
                if not s[tok[1]].islower():
                    break  # a capitalised name is the weak rules' above
                name.append(tok)
            if not name or len(name) == 3 or re.fullmatch(rf"(?:{_NAME_PARTICLES})", name[0][0]):
                continue  # "met de bank", "met het waterbedrijf"
            rest = tokens[len(name)] if len(name) < len(tokens) else None
            after = s[name[-1][2] : rest[1] if rest else end]
            follower = rest[0] if rest and not _CLAUSE_BREAK.search(after) else None
            cue = " ".join(m.group().lower().split())
            before = [t for t, _, _ in _answer_tokens(s, start, m.start())]
            greeting = len(before) <= 14 and (opening or not _GREETING_WORDS.isdisjoint(before) or "through" in cue)
            nxt2 = tokens[len(name) + 1][0] if follower and len(name) + 1 < len(tokens) else None
            # "this is yolanda how can i help", "this is dwayne am i speaking with ...", "met anke waarmee kan ik"
            offers = (follower, nxt2) in _INTRO_OFFERS
            if cue in {"u spreekt met", "je spreekt met"}:
                ok = follower is None or follower in _INTRO_AFTER_NL
            elif cue == "met":  # "goedemiddag met sanne", not "een geldautomaat met muntfunctie"
                ok = greeting and (follower is None or follower in _INTRO_AFTER_NL)
            else:
                ok = follower in {"speaking", "here"} or greeting and (follower is None or follower in _INTRO_AFTER)
            ok = ok or offers
            if ok:
                yield Span(name[0][1], name[-1][2], "PERSON")

    def _credentials(self, s: str) -> Iterator[Span]:
        """Passwords, PINs and card security codes said in the conversation: the value after the cue."""
        for m in self._p.credential.finditer(s):
            group = next(g for g in ("value", "value2", "value3", "value4") if m.group(g) is not None)
            yield Span(m.start(group), m.end(group), "CREDENTIAL")
        for m in self._p.credential_set.finditer(s):
            value = m.group("value").rstrip(".,;:)'\"")
            # a password has a digit or a sign besides its letters; "reset it to my email" has not
            if re.search(r"[^\W\d_]", value) and re.search(r"[\d\W_]", value) and "@" not in value:
                yield Span(m.start("value"), m.start("value") + len(value), "CREDENTIAL")
        for m in self._p.credential_pair.finditer(s):
            user, password = ("user", "password") if m.group("user") is not None else ("user2", "password2")
            if user == "user2" and not re.search(r"[0-9_.]", m.group(user) + m.group(password)):
                continue  # "log in with google and nothing happens"
            yield Span(m.start(user), m.end(user), "CREDENTIAL")
            yield Span(m.start(password), m.end(password), "CREDENTIAL")
        for m in self._p.credential_given.finditer(s):
            yield Span(m.start("value"), m.end("value"), "CREDENTIAL")
        if _LOGIN_TALK.search(s):
            for m in self._p.password_shape.finditer(s):
                yield Span(m.start(), m.end(), "CREDENTIAL")
        for m in self._p.credential_phrase.finditer(s):
            # A bare "code" is a credential only when it was sent to the customer ("the code you texted me");
            # "the discount code is 2024" is not.
            if m.group("cue").lower() == "code" and _CODE_SENT.search(m.group("between")) is None:
                continue
            yield Span(m.start("value"), m.end("value"), "CREDENTIAL")

    def _persons(self, s: str, words: frozenset[str], *, caps: bool = False) -> Iterator[Span]:
        """Names. ``caps``: ``s`` is a text whose capitalised lines were title-cased ("MS AYSE DEMIR" -> "Ms Ayse
        Demir"); only the rules that do not take any capitalised word after a greeting run on it."""
        p = self._p
        low = s.lower()
        strong = []
        if not words.isdisjoint(_CUES_STRONG) or "t.n.v" in low or "c/o" in low:
            strong.append(p.name_strong)
        if not words.isdisjoint(_CUES_HONORIFIC):
            strong.append(p.name_honorific)
        weak = [
            rx
            for rx, cues in (
                (p.name_weak, _CUES_WEAK),
                (p.name_kin_is, _CUES_WEAK),
                (p.name_met, _CUES_MET),
                (p.name_here, _CUES_HERE),
                (p.name_signoff, _CUES_SIGNOFF),
            )
            if not words.isdisjoint(cues) or (rx is p.name_signoff and "m.v.g" in low)
        ]
        if not words.isdisjoint(_CUES_MET_SPOKE):
            weak.append(p.name_met_spoke)
        if "\n" in s:
            weak.append(p.name_lastline)
        if caps:
            weak = [rx for rx in weak if rx is p.name_signoff or rx is p.name_lastline]
        found: list[Span] = []
        for rx in strong:
            for m in rx.finditer(s):
                if rx is p.name_honorific and _after_house_number(s, m.start()):
                    continue
                sp = self._name_span(s, m, strict=False)
                if sp is not None:
                    found.append(sp)
        for rx in weak:
            for m in rx.finditer(s):
                if rx is p.name_weak and _after_house_number(s, m.start()):
                    continue
                sp = self._name_span(s, m, strict=True)
                if sp is not None:
                    found.append(sp)
        for sp in found:
            yield sp
            while (joined := p.name_and.match(s, sp.end)) is not None and (
                nxt := self._name_span(s, joined, strict=True)
            ):
                yield nxt
                sp = nxt
        for m in p.spelled.finditer(s) if not caps else ():
            start = m.start()
            if s[start] in "uaiUAI" and s[start + 1] in " \t":
                # "kunt u a b c doen", "I a b ...": the first letter is a word; four letters must follow it
                if len(re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", m.group()[1:])) < 4:
                    continue
                start += 1
                while s[start] in " \t":
                    start += 1
            yield Span(start, m.end(), "PERSON")
        if not words.isdisjoint(_JOB_WORDS):
            for m in p.name_job.finditer(s):
                if not s[m.start()].islower() or p.name_leading_particles.match(m.group("name")):
                    continue  # a signature's title ("Adviseur Pensioenen"); "de monteur van Kemper Installatietechniek"
                sp = self._name_span(s, m, strict=True)
                if sp is not None:
                    yield sp
        if "^" in s:
            for m in p.name_caret.finditer(s):
                yield Span(m.start("name"), m.end("name"), "PERSON")
        if "@" in s or "mailto" in low:
            for rx in (p.name_display, p.name_display_quoted):
                for m in rx.finditer(s):
                    sp = self._name_span(s, m, strict=False)
                    if sp is not None:
                        yield sp
        if ":" in s and not words.isdisjoint(_CUES_HEADER):
            for m in p.name_header.finditer(s):
                yield from self._header_people(s, m.start("value"), m.end("value"))
        if not words.isdisjoint(_CUES_WROTE):
            for m in p.name_wrote.finditer(s):
                sp = self._name_span(s, m, strict=False)
                if sp is not None:
                    yield sp
        if not caps and not words.isdisjoint(_KIN_CUES):
            yield from _kin_names(s)
        if "\n" in s and ":" in s:
            yield from _label_names(s, p.name_one)
        first_names = self.config.first_names
        if first_names and not caps and not words.isdisjoint(first_names):
            for m in p.name_pair.finditer(s):
                if m.group("first").lower() in first_names and m.group("first").lower() not in _NOT_NAMES:
                    sp = self._name_span(s, m, strict=True)
                    if sp is not None:
                        yield sp

    def _caps_persons(self, s: str, words: frozenset[str]) -> Iterator[Span]:
        """Names written in capitals ("MS AYSE DEMIR", "Name: JOHN SMITH", "AGENT (RAVI):"): the name rules
        that need a strong cue, a title, a sign-off or a label run on a copy with the capitalised words
        title-cased, and what they find in those words is kept."""
        titled = _CAPS_WORD.sub(_title_word, s)
        if len(titled) != len(s):
            return
        for sp in self._persons(titled, words, caps=True):
            if _CAPS_WORD.search(s, sp.start, sp.end):
                yield sp

    def _header_people(self, s: str, start: int, end: int) -> Iterator[Span]:
        """The people of an email header field's value ``s[start:end]`` ("Anna Jansen <...>; Jansen, P."):
        each recipient's display part is a ``PERSON`` unless it holds no capitalised word or only words that
        are not names ("Customer Service", "Klantenservice")."""
        pos = start
        while pos < end:
            semi = s.find(";", pos, end)
            stop = end if semi < 0 else semi
            m = self._p.header_person.match(s, pos, stop)
            if m is not None and m.group("name"):
                words = re.findall(r"[^\W\d_][\w'’.-]*", m.group("name"))
                if any(w[0].isupper() for w in words) and any(
                    w.lower().strip(".") not in _NOT_NAMES for w in words if w[0].isupper()
                ):
                    yield Span(m.start("name"), m.end("name"), "PERSON")
            pos = stop + 1

    def _name_span(self, s: str, m: re.Match[str], *, strict: bool) -> Span | None:
        start, end = m.start("name"), m.end("name")
        comma = s.find(",", start, end)
        if comma >= 0 and all(
            t.lower().strip(".") in _NOT_NAMES or t.lower().strip(".") in _DATE_ABBREVIATIONS
            for t in s[start:comma].split()
            if not re.fullmatch(rf"(?:{_NAME_PARTICLES})", t)
        ):
            # "Thanks, Anna <anna@x.nl>", "On Mon, Acme <support@acme.example> wrote:": the words before the
            # comma are not a surname.
            start = comma + 1
            while start < end and s[start] in " \t":
                start += 1
        tokens = s[start:end].split()
        # Drop trailing tokens that are not names ("Sarah From ...", "John Thanks").
        # After a surname the given name stays, even one that is a word elsewhere ("Bijlsma, Lot", "Jansen, A.").
        comma_at = next((i for i, t in enumerate(tokens[:-1]) if t.endswith(",")), None)
        while tokens and tokens[-1].lower().strip(".,") in _NOT_NAMES:
            if comma_at is not None and (
                len(tokens) == comma_at + 2 or re.fullmatch(r"(?:[A-Z]\.)+", tokens[-1])
            ):
                break
            tokens.pop()
        org = next((k for k, t in enumerate(tokens) if t.lower().strip(".,;:!?") in _ORG_WORDS), None)
        if org is not None:
            # "Customer Care", "Team Slimme Meters", "Smart Metering Team": a team signs, not a person; but
            # "met sanne van de klantenservice": a name, then "van de" and the team
            tokens = tokens[:org]
            particles = 0
            while tokens and re.fullmatch(rf"(?:{_NAME_PARTICLES})", tokens[-1]):
                tokens.pop()
                particles += 1
            if not particles:
                return None
        if tokens and tokens[0] in {"in", "op", "te", "at"} and (len(tokens) < 2 or tokens[1] not in {"'t", "het", "de", "den"}):
            return None  # "my cousin in Cork", "haar opa in Bologna": a place; but "in 't Veld" is a name
        core = [t for t in tokens if not re.fullmatch(rf"(?:{_NAME_PARTICLES})", t)]
        if not core:
            return None
        # The first word must look like a name unless a second name word follows ("I'm April Anderson",
        # not "I'm Very Angry").
        if core[0].lower().strip(".") in _NOT_NAMES and (
            len(core) == 1 or core[1].lower().strip(".") in _NOT_NAMES
        ):
            return None
        end = _skip_to(s, start, tokens)
        if self._p.place_after.match(s, end) is not None:
            return None  # "It's East Ronald, TX 71619": a place followed by its postcode
        return Span(start, end, "PERSON")


_MONTH_WORDS = frozenset(_MONTHS.split("|"))
# Words of a team's or a company's name, never of a person's.
_ORG_WORDS = frozenset(
    _words(
        "team teams afdeling department dept klantenservice klantcontact customer service services support care "
        "claims accounts payable receivable administratie crediteurenadministratie debiteurenadministratie "
        "financiële financial finance inkoop verkoop facturatie billing helpdesk servicedesk officer housing "
        "metering commissie bewonerscommissie ltd limited inc gmbh bv b.v. nv n.v. vof webcare bank insurance "
        "verzekeringen energy energie mobile telecom airlines airways rail group groep company holdings hospital "
        "ziekenhuis clinic kliniek pharmacy apotheek gemeente municipality council water gas power electric "
        "electricity broadband office offices memberships liaison advice dienst burgerzaken loket faculteit faculty "
        "university universiteit hogeschool bureau"
    )
)
_WEEKDAY_ABBREVIATIONS = frozenset(_words("mon tue tues wed thu thur thurs fri sat sun ma di wo do vr za zo"))
# Weekdays and months as a mail program abbreviates them before a comma ("On Mon, Acme <...> wrote:");
# "Jan" is a name too, so these are not in _NOT_NAMES.
_DATE_ABBREVIATIONS = _MONTH_WORDS | frozenset(
    _words("mon tue tues wed thu thur thurs fri sat sun ma di wo do vr za zo mo mi fr sa so lun mar mer jeu ven sam dim")
)

_SPOKEN_DIGIT_VALUE = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "nul": "0", "een": "1", "één": "1",
    "twee": "2", "drie": "3", "vier": "4", "vijf": "5", "zes": "6", "zeven": "7", "acht": "8", "negen": "9",
}  # fmt: skip
_SPOKEN_DIGITS = frozenset(_SPOKEN_DIGIT_VALUE) - {"o", "één"}


def _spoken_number_words() -> tuple[dict[str, int], dict[str, int]]:
    """Teens, tens and Dutch compounds ("eenendertig", "tweeënveertig") as said in a number read out in pairs:
    (word -> value of 10-99, tens word -> its tens, for "twenty one")."""
    values: dict[str, int] = {}
    tens: dict[str, int] = {}
    teens_en = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ]
    teens_nl = [
        "tien",
        "elf",
        "twaalf",
        "dertien",
        "veertien",
        "vijftien",
        "zestien",
        "zeventien",
        "achttien",
        "negentien",
    ]
    tens_en = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    tens_nl = ["twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig"]
    units_nl = ["een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"]
    for i, (en, nl) in enumerate(zip(teens_en, teens_nl, strict=True)):
        values[en] = values[nl] = 10 + i
    for i, (en, nl) in enumerate(zip(tens_en, tens_nl, strict=True)):
        values[en] = values[nl] = tens[en] = 20 + 10 * i
        for u, unit in enumerate(units_nl, 1):
            for joint in {"ën" if unit.endswith("e") else "en", "en"}:  # "tweeënveertig", also "tweeenveertig"
                values[f"{unit}{joint}{nl}"] = 20 + 10 * i + u
    return values, tens


_SPOKEN_PAIR_VALUE, _SPOKEN_TENS = _spoken_number_words()
_SPOKEN_GATE = _SPOKEN_DIGITS | frozenset(_SPOKEN_PAIR_VALUE) | {"hundred", "honderd"}
_SPOKEN_FILLERS = frozenset(_FILLERS.split("|"))
_SPOKEN_REPEAT = {"double": 2, "dubbel": 2, "triple": 3, "tripel": 3}


def spoken_to_digits(words: list[str]) -> str:
    """The digits of a number read out in words: "oh seven seven double oh nine hundred four eight one" ->
    "07700900481", "nul zes eenendertig tweeënveertig" -> "063142", "twenty one" -> "21"."""
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w in _SPOKEN_FILLERS:
            continue
        if w in _SPOKEN_REPEAT:
            repeat = _SPOKEN_REPEAT[w]
            continue
        if w in ("hundred", "honderd"):
            out.append("00")
        elif (
            w in _SPOKEN_TENS
            and i < len(words)
            and words[i] in _SPOKEN_DIGIT_VALUE
            and words[i] not in ("zero", "oh", "o", "nought", "nul")
        ):
            out.append(str(_SPOKEN_TENS[w] + int(_SPOKEN_DIGIT_VALUE[words[i]])))
            i += 1
        elif w in _SPOKEN_PAIR_VALUE:
            out.append(str(_SPOKEN_PAIR_VALUE[w]))
        elif w in _SPOKEN_DIGIT_VALUE:
            out.append(_SPOKEN_DIGIT_VALUE[w] * repeat)
        repeat = 1
    return "".join(out)


_CUES_CREDENTIAL = frozenset(
    _words(
        "password passwd pwd passcode pin pincode cvv cvc cvv2 cvc2 csc security verification wachtwoord "
        "inlogcode beveiligingscode verificatiecode toegangscode code otp username user gebruikersnaam login "
        "inlognaam inloggen log sign aanmelden text sms gave gaf wifi wlan router netwerk network"
    )
)
# What follows "my password is" when no password is given ("... is wrong", "... is verlopen").
_NOT_A_PASSWORD = (
    "not|wrong|incorrect|correct|right|invalid|expired|in|on|at|the|a|an|my|still|too|already|being|been|blocked|"
    "locked|gone|changed|reset|case|niet|fout|verkeerd|verlopen|geblokkeerd|veranderd|gewijzigd|kwijt|onjuist|"
    "ongeldig|al|nog|weg|te|juist|goed"
)
# A text about logging in, where a token shaped like a password is one.
_LOGIN_TALK = re.compile(r"(?i)\b(?:password|passwd|wachtwoord|log\s?in|inloggen|ingelogd|sign\s+in|aanmelden)")
_CUES_BIRTH = frozenset(_words("birth dob born geboren geboortedatum geb d"))
_CODE_SENT = re.compile(
    r"(?i)\b(?:text|texted|sms|sent|send|got|get|received|kreeg|krijg|gekregen|ontvangen|gestuurd|stuurde|stuurden|"
    r"gesmst|ge-sms't|app|e-?mailed|gemaild)\b"
)

# First words of the name cues; a name pattern only runs when one of its words is in the text.
_CUES_STRONG = frozenset(
    _words(
        "name name's name’s naam heet called call spreek spreekt speaking talking holder attn tnv rekeninghouder "
        "tenaamstelling voornaam achternaam roepnaam surname applicant applicants aanvrager aanvragers under"
    )
)
_CUES_HONORIFIC = frozenset(
    _words(
        "mr mrs ms miss mx dr prof sir mister madam madame dame lady lord meneer mevrouw mevr mw dhr heer "
        "juffrouw mej ir ing drs"
    )
)
_CUES_WEAK = frozenset(
    _words(
        "speak kan mag this it is it's it’s i'm i’m am im ben here with dit hier husband wife partner son daughter mother father mum mom dad "
        "cousin roommate flatmate housemate neighbour neighbor nephew niece uncle aunt auntie grandson granddaughter "
        "grandmother grandfather gran nan grandad grandma grandpa stepson stepdaughter fiance fiancé fiancee fiancée "
        "boyfriend girlfriend carer landlord landlady neef nicht oom tante buurman buurvrouw kleinzoon kleindochter oma "
        "opa schoonmoeder schoonvader huisgenoot verloofde stiefzoon stiefdochter verhuurder zoontje dochtertje broertje zusje schoonzoon schoondochter ons "
        "brother sister colleague friend man vrouw zoon dochter moeder vader broer zus collega vriend "
        "vriendin dear hi hello hey hiya morning afternoon evening beste geachte hoi hallo dag goedemorgen chat "
        "chatting connected verbonden gesprek "
        "goedemiddag goedenavond thanks thank bedankt dank agent transfer doorverbinden ask vraag spoke spoken "
        "talked chatted medewerker name naam gesproken gebeld gechat heet heten owner tenant driver holder "
        "applicant passenger buyer seller member eigenaar huurder bestuurder passagier lid koper verkoper client "
        "cliënt says"
    )
)
_JOB_WORDS = frozenset(
    _words(
        "manager engineer technician driver courier advisor adviser adviseur consultant receptionist monteur "
        "bezorger chauffeur supervisor teamleider inspector surveyor caseworker contactpersoon behandelaar "
        "dossierbehandelaar casemanager coordinator coördinator nurse verpleegkundige"
    )
)
_CUES_MET = frozenset({"met"})
_CUES_MET_SPOKE = frozenset(_words("gesproken gebeld gechat gemaild contact"))
_CUES_HEADER = frozenset(_words("from to cc bcc reply sender van aan namens afzender ontvanger"))
_CUES_WROTE = frozenset(_words("wrote schreef geschreven schrieb écrit"))
_CUES_HERE = frozenset(_words("here hier speaking aan"))
_CUES_SIGNOFF = frozenset(
    _words(
        "regards sincerely faithfully truly cheers thanks thank best wishes groet groeten groetjes "
        "vriendelijke hartelijke mvg gr liefs yours care bedankt dank dankjewel dankuwel hoogachtend hoogachting"
    )
)

_NOT_POSTCODE_LETTERS = frozenset(
    _words(
        """AM PM GB MB KB TB KM CM MM KG EU US UK NL BE DE FR ML CL DL MG HZ KW PK TV PC ID OK NO EN OF OR IN ON
    AT TO IS IT AN AS BY DO GO HE IF ME MY SO UP WE HR GT XL DM EX BC AD CE NR TM CO VS PS RE"""
    )
)


def _is_street_type(word: str) -> bool:
    """English street-type word, plurals included ("Roads", "Ridges", "Meadows")."""
    return word in _EN_STREET_TYPES or (
        len(word) > 3 and word.endswith("s") and word[:-1] in _EN_STREET_TYPES
    )


def _skip_to(s: str, start: int, tokens: Iterable[str]) -> int:
    """End offset of the whitespace-separated ``tokens`` found in ``s`` from ``start`` on."""
    pos = start
    for t in tokens:
        idx = s.find(t, pos)
        if idx < 0:
            break
        pos = idx + len(t)
    return pos


def _mask(s: str, spans: Iterable[Span]) -> str:
    """``s`` with the characters of ``spans`` replaced by ``X`` (same length)."""
    chars: list[str] | None = None
    for sp in spans:
        if chars is None:
            chars = list(s)
        chars[sp.start : sp.end] = "X" * (sp.end - sp.start)
    return s if chars is None else "".join(chars)


def _merge(spans: list[Span]) -> list[Span]:
    """Sort and merge overlapping spans; the merged span takes the higher-priority type."""
    if not spans:
        return []
    spans = sorted((sp for sp in spans if sp.end > sp.start), key=lambda sp: (sp.start, -sp.end))
    out: list[Span] = []
    for sp in spans:
        if out and sp.start < out[-1].end:
            last = out[-1]
            label = last.label if _PRIORITY[last.label] <= _PRIORITY[sp.label] else sp.label
            out[-1] = Span(last.start, max(last.end, sp.end), label)
        else:
            out.append(sp)
    return out


def _apply(text: str, spans: list[Span]) -> tuple[str, dict[str, int]]:
    if not spans:
        return text, {}
    parts: list[str] = []
    counts: dict[str, int] = {}
    pos = 0
    for sp in spans:
        parts.append(text[pos : sp.start])
        parts.append(_PLACEHOLDERS.get(sp.label) or f"<{sp.label}>")
        counts[sp.label] = counts.get(sp.label, 0) + 1
        pos = sp.end
    parts.append(text[pos:])
    return "".join(parts), counts


# -- answers: a value given as the reply to an agent's question ---------------------------------------
# In a call the cue is often on the agent's line and the value alone on the customer's next one
# ("agent: and your date of birth" / "customer: twenty second of june nineteen seventy one"). Such a
# reply is read as the value asked for: the worker remembers the question across events (see
# ``streams.processor``), and a transcript handed over whole ("agent: ..." / "customer: ..." lines) is read
# line by line here.

#: What a question asks for: (entity type, cue), any case. Checked in this order, each cue removed once
#: matched, so "e-mail address" asks for an email, not an address, and "maiden name" for a credential, not a
#: name.
_ASK_CUES: tuple[tuple[str, str], ...] = (
    ("EMAIL", r"e-?mail(?:\s*address|adres)?|mailadres"),
    (
        "CREDENTIAL",
        r"password|passcode|pass\s+code|\bpin\b|pincode|pin\s?code|memorable|security\s+(?:question|answer|word|code|number)|"
        r"maiden\s+name|meisjesnaam|first\s+pet|one[-\s]time|verification\s+code|\bcode\b|characters?\s+(?:of|from)|"
        r"digits?\s+(?:of|from)|letters?\s+(?:of|from)|wachtwoord|inlogcode|verificatiecode|beveiligingscode|"
        r"beveiligingsvraag|toegangscode|user\s?name|gebruikersnaam|login|geboorteplaats|place\s+of\s+birth|"
        r"birth\s?place|eerste\s+huisdier|favou?rite|lievelings",
    ),
    ("IBAN", r"iban|i\s+b\s+a\s+n|rekeningnummer|rekening\s+nummer|bank\s+account(?:\s+number)?|account\s+number"),
    ("DOB", _DOB_CONTEXT),
    ("POSTCODE", r"post\s?code|\bzip\b|zip\s?code|eircode|postal\s+code|postnummer"),
    (
        "ADDRESS",
        r"address|first\s+line|house\s+number|\badres|woonadres|huisnummer|straat|where\s+(?:do|does)\s+\w+\s+live|"
        r"waar\s+woon|lives?\s+(?:at|on)|living\s+at|woon(?:t|en)?\s+(?:op|aan)",
    ),
    (
        "NATIONAL_ID",
        r"national\s+insurance|\bni\s+number|\bpps\b|rijksregister|passport|paspoort|driving\s+licen[cs]e|driver'?s?\s+licen[cs]e|"
        r"rijbewijs|identiteitskaart|id[-\s]?kaart|social\s+security|\bssn\b",
    ),
    ("BSN", _BSN_CONTEXT),
    ("PLATE", r"registration|\breg\b|number\s?plate|licen[cs]e\s+plate|\bplate\b|kenteken|nummerplaat|nummerbord"),
    (
        "PHONE",
        r"phone|contact\s+number|mobile|telefoon|mobiel|\bgsm\b|nummer\s+waarop|terugbel|call\s+you\s+back|bereikbaar",
    ),
    (
        "PERSON",
        r"\bname|\bnaam|who\s+am\s+i\s+(?:speaking|talking)|who'?s\s+calling|met\s+wie|\bspell|spellen|hoe\s+heet|"
        r"achternaam|voornaam",
    ),
)
# The cues that are followed by their value in the same sentence (Redactor._cued_values).
_SELF_CUED = frozenset({"DOB", "POSTCODE", "ADDRESS", "NATIONAL_ID", "BSN", "PHONE", "CREDENTIAL", "IBAN", "PLATE"})
_CUES_SELF = frozenset(
    _words(
        "address adres woonadres huisnummer postcode post zip eircode birth dob born geboortedatum geboren "
        "insurance pps rijksregisternummer passport paspoort licence license rijbewijs bsn burgerservicenummer "
        "registration reg plate numberplate kenteken nummerplaat nummerbord "
        "pin pincode code password passcode wachtwoord pincode live lives living woon woont wonen phone mobile "
        "telefoon telefoonnummer mobiel gsm iban rekeningnummer rekening account"
    )
)
_SENTENCE_END = re.compile(r"[.!?;]\s|\n")
_LINE = re.compile(r"[^\n]*\S[^\n]*")
_CUSTOMER_LABELS = frozenset(_words("customer klant caller beller client cliënt you me ik user gebruiker"))
# A speaker's label at the start of a chat line ("Council: ", "[09:17] Klant: ", "Agent (Priyanka): ", "> ").
_LINE_LABEL = re.compile(
    r"[ \t>]*(?:\[[0-9:./ -]{3,16}\][ \t]*|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?[ \t]+)?(?:(?P<label>[^\W\d_][\w .&'’()|–—-]{0,40}?)[ \t]*:[ \t]+)?"
)
# How an agent opens a call with their own name ("... this is dana", "goedemiddag met sanne").
_INTRO = re.compile(
    r"(?i)\b(?:this\s+is|it['’]s|it\s+is|i['’]m|i\s+am|im|u\s+spreekt\s+met|je\s+spreekt\s+met|met|"
    r"you['’]re\s+through\s+to|you\s+are\s+through\s+to)\s+"
)
# Words after the agent's name in a greeting ("this is dana speaking", "met sanne van de klantenservice").
_INTRO_AFTER_NL = frozenset(_words("van namens bij hoe waarmee wat"))
_INTRO_AFTER = _INTRO_AFTER_NL | frozenset(_words("speaking here from with at on how what can and"))
_INTRO_OFFERS = frozenset(
    {("how", "can"), ("how", "may"), ("am", "i"), ("waarmee", "kan"), ("hoe", "kan"), ("wat", "kan"), ("spreek", "ik")}
)
_CUES_INTRO = frozenset(_words("this it's it’s is i'm i’m am im met through"))
_GREETING_WORDS = frozenset(
    _words(
        "hi hello hey hiya morning afternoon evening calling through welcome line team services "
        "service care desk office support centre center helpline goedemorgen goedemiddag goedenavond goeiemorgen "
        "goeiemiddag goeiendag goeiedag goeienavond hallo hoi dag welkom bedankt klantenservice helpdesk"
    )
)
# A speaker's turn in a transcript handed over whole.
_AGENT_SIDE = frozenset(_words("agent medewerker operator advisor adviseur bot assistant rep"))
_CUES_TURN = _AGENT_SIDE | frozenset(_words("customer caller client klant beller"))
_TURN = re.compile(rf"(?im)^[ \t]*(?P<who>{'|'.join(sorted(_CUES_TURN))})[ \t]*:[ \t]*")
_CLAUSE_BREAK = re.compile(r"[,;:!?()\n]|\.\s")
_ANSWER_TOKEN = re.compile(r"[^\W_]+(?:['’./-][^\W_]+)*")
_EN_ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|"
    "fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
)
_NUMBER_WORD = re.compile(
    rf"(?:(?:{'|'.join(sorted(set(_SPOKEN_DIGIT_VALUE) - {'o'}))}|"
    r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundred|thousand|double|triple|dubbel|tripel)"
    rf"(?:-(?:one|two|three|four|five|six|seven|eight|nine|{_EN_ORDINALS}))?|{_EN_ORDINALS}|"
    # Dutch: one word made of number parts ("honderdvierenzestig", "tweeënveertig"), ordinals too
    r"(?:één|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|zestien|"
    r"zeventien|achttien|negentien|twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|honderd|"
    r"duizend|ën|en)+(?:ste|de|e)?|eerste|derde)"
)
# Letters said by name in a postcode or a code, after its first digit ("elf nul twee ee jee", "b s six bee
# dee"); not those that are words too ("en", "er", "es", "why", "see").
_LETTER_NAMES = frozenset(
    _words("bee cee dee ee ef gee jee ha ka em pee kuu tee uu vee wee iks ij zet jay kay zed oo")
)
# Said between a plate's groups ("k l streepje vier zeven nul").
_PLATE_DASHES = frozenset(_words("dash hyphen streepje koppelteken"))
# Said inside a number or a date ("two thousand and one", "the first of june"), never alone.
_NUMBER_GLUE = frozenset(_words("and en of the van de oh o"))
# Words before the value of an answer ("yeah it's ...", "ja dat is ...", "my name is ...").
_ANSWER_LEAD = frozenset(
    _words(
        "yes yeah yep yup aye sure ok okay right so well oh it it's its it’s that's thats is was my name name's "
        "names full i i'm im am this that be ja jawel jazeker nou dus het dat is mijn naam ik ben met zeker "
        "goed oké oke prima uhm hmm mm mhm the his her hers hij zij haar zijn first last surname achternaam "
        "voornaam should would could all o ah oops oeps under"
    )
) | _SPOKEN_FILLERS
_ING_NAMES = frozenset(
    _words("aisling fleming manning browning harding channing sterling irving deming golding spalding jennings")
)
# Words that may follow a name or a memorable word in a reply ("morag mcintyre that's m c ...").
_ARTICLES = frozenset(_words("de het een the a an mijn my uw your"))
# The cue of the next value in the same reply ("mehmet yildiz postcode is ...").
_VALUE_CUE_WORDS = frozenset(
    _words("postcode zip eircode address adres date birth geboortedatum geboren born phone telefoon number nummer")
)
_VALUE_FOLLOWERS = (
    frozenset(_words("that's thats that dat and en but maar spelled spelt gespeld with met like zoals is was"))
    | _SPOKEN_FILLERS
    | _VALUE_CUE_WORDS
)
# Words after which a reply names someone ("in my wife's name ...", "mijn man ...", "ik ben ...").
_NAME_INTRODUCERS = frozenset(
    _words(
        "name name's names naam wife's husband's son's daughter's mum's mom's dad's mother's father's partner's "
        "wife husband son daughter mum mom dad mother father partner man vrouw zoon dochter moeder vader ben "
        "i'm im heet called ikzelf myself mezelf"
    )
)
# Words that end the value of an answer ("... mcintyre that's m c ...", "... road in leicester").
_ANSWER_STOP = _NOT_NAMES - frozenset(_words("van de der den het ter ten te el al bin ben la le du da di")) | frozenset(
    _words(
        "and but no nope sorry that that's thats it's its is was we i i'm you he she they in on at for to from "
        "with please thanks thank cheers yeah yes ok okay right so because cause if when then now just like "
        "actually en maar nee niet dat dit is ik we wij u je hij zij ze op bij voor naar met alstublieft dank "
        "bedankt ja oké oke dus nou hoor toch want omdat als dan nu even gewoon eigenlijk my your uw mijn old "
        "new previous vorige oude nieuwe spelled spelt spelling gespeld brilliant perfect lovely great cool fab "
        "fantastic wonderful awesome super top mooi geweldig fijn helemaal precies klopt correct exactly sec "
        "moment momentje hang hold wait wacht staat staan stond zit zitten ligt gaat komt heb hebt heeft kan wil moet "
        "weet denk zijn waren wordt word think know want need got get it's under listed down put he's she's "
        "they're we're you're that's there's what's i'll i'd actually same mine i've don't can't won't didn't "
        "isn't wasn't haven't hasn't doesn't couldn't wouldn't aren't let's seriously really honestly absolutely "
        "definitely obviously why waarom hoezo echt serieus alweer again nogmaals wife husband son daughter mum "
        "mom dad mother father partner brother sister man vrouw zoon dochter moeder vader broer zus whatever "
        "pardon huh hè"
    )
)


def _is_number_token(tok: str) -> bool:
    return any(ch.isdigit() for ch in tok) or _NUMBER_WORD.fullmatch(tok) is not None and tok not in {"en", "ën"}


def _spoken(text: str) -> bool:
    """Text as speech-to-text writes it: (nearly) no capital letters, so names are not capitalised either."""
    upper = sum(c.isupper() for c in text)
    return upper <= 2 or upper < 0.02 * sum(c.isalpha() for c in text)


def _is_ordinal(tok: str) -> bool:
    """"third", "twenty-first", "achtste", "derde": a floor or a day, not a house number or a code."""
    return _NUMBER_WORD.fullmatch(tok) is not None and (
        re.search(rf"(?:{_EN_ORDINALS})$", tok) is not None or tok.endswith(("ste", "de"))
    )


def _answer_tokens(s: str, start: int, end: int) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _ANSWER_TOKEN.finditer(s, start, end)]


def _value_runs(tokens: list[tuple[str, int, int]], kind: str) -> Iterator[tuple[int, int, int, int]]:
    """Runs of tokens that can be the value of ``kind``: numbers and digits, and for a date month words,
    for a code single letters. Yields (first token, last token + 1, numbers, letters) for each run."""
    i, n = 0, len(tokens)
    letters_ok = kind in {"POSTCODE", "NATIONAL_ID", "CREDENTIAL", "PHONE", "BSN", "IBAN", "PLATE"}
    while i < n:
        tok = tokens[i][0]
        if tok in {"oh", "o", "een", "one"} and not (i + 1 < n and _is_number_token(tokens[i + 1][0])):
            i += 1  # "oh it's ...", "een momentje", "the old one": a word, not a number
            continue
        if not (_is_number_token(tok) or (kind == "DOB" and tok in _MONTH_WORDS) or (letters_ok and len(tok) == 1)):
            i += 1
            continue
        j, numbers, letters, last = i, 0, 0, i
        while j < n:
            t = tokens[j][0]
            if _is_number_token(t) or (kind == "DOB" and t in _MONTH_WORDS):
                numbers += 1
                last = j
            elif letters_ok and (len(t) == 1 and t.isalpha() or t in _LETTER_NAMES and numbers):
                letters += 1
                last = j
            elif not (t in _NUMBER_GLUE or t in _SPOKEN_FILLERS or kind == "PLATE" and t in _PLATE_DASHES):
                break
            j += 1
        yield i, last + 1, numbers, letters
        i = j + 1


def _answer_spans(s: str, start: int, end: int, kinds: frozenset[str], *, cued: bool = False) -> list[Span]:
    """Spans of ``s[start:end]``, the reply to a question that asked for ``kinds``, read as those values;
    ``cued``: the words after the cue in the same sentence, where a code needs three digits said, not one."""
    tokens = _answer_tokens(s, start, end)
    if not tokens:
        return []
    # a postcode is said with the address ("... harcourt road m fourteen five l s")
    implied = "ADDRESS" in kinds and "POSTCODE" not in kinds
    found = _run_spans(tokens, kinds | {"POSTCODE"} if implied else kinds, cued or implied)
    if "PERSON" in kinds and not cued:
        found += _introduced_names(tokens)
    free = _free_span(s, tokens, kinds, cued)
    if free is None:
        return found
    if free.label == "ADDRESS" and "POSTCODE" not in kinds:
        # the house number inside the address is no postcode ("fifty two stratford road")
        found = [sp for sp in found if not (sp.label == "POSTCODE" and free.start <= sp.start and sp.end <= free.end)]
        # and a postcode said after it ends it ("... harcourt road m fourteen five l s")
        after = [sp.start for sp in found if sp.label == "POSTCODE" and free.start < sp.start < free.end < sp.end]
        if after:
            cut = min(after)
            while cut > free.start and s[cut - 1].isspace():
                cut -= 1
            free = Span(free.start, cut, "ADDRESS")
    return [*found, free]


def _run_spans(tokens: list[tuple[str, int, int]], kinds: frozenset[str], cued: bool) -> list[Span]:
    """The values of ``kinds`` said as numbers, dates or letter codes; ``cued``: not asked for, so a postcode
    needs two numbers and four characters ("n w three two r x", not "a tweede")."""
    out = []
    for kind in kinds & {"DOB", "POSTCODE", "PHONE", "BSN", "NATIONAL_ID", "CREDENTIAL", "IBAN", "PLATE"}:
        for a, b, numbers, letters in _value_runs(tokens, kind):
            first = tokens[a][0]
            digits = sum(ch.isdigit() for t, _, _ in tokens[a:b] for ch in t)
            if cued and digits:
                continue  # written digits after a cue are the detectors' above (dates, order numbers, amounts)
            if kind == "DOB":
                ok = numbers >= 2 or re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", first) is not None
            elif kind == "POSTCODE":
                numbers -= sum(_is_ordinal(t) for t, _, _ in tokens[a:b])  # "op de achtste", "een tweede"
                if cued:
                    ok = numbers >= 2 and numbers + letters >= 4
                else:
                    ok = (numbers >= 1 and numbers + letters >= 2) or (b - a == 1 and digits >= 4)
            elif kind == "CREDENTIAL":
                # one digit only as the whole reply ("uh eight"), the way a PIN's digits are asked one by one;
                # not "I've given it three times"
                ok = numbers >= (3 if cued else 2) or numbers == 1 and all(
                    t in _ANSWER_LEAD or t in _NUMBER_GLUE for t, _, _ in tokens[:a] + tokens[b:]
                )
            elif kind == "IBAN":
                ok = numbers >= 8  # "n l acht negen b u n q twee nul vier ..."
            elif kind == "PLATE":  # "y k one nine d f v", "s g streepje vier negen een streepje t"
                ok = numbers >= 1 and letters >= 2 and 5 <= numbers + letters <= 9
            else:
                ok = numbers >= 4 or digits >= 6
            if ok:
                out.append(Span(tokens[a][1], tokens[b - 1][2], kind))
    return out


# Words of an address besides the street's ("flat nineteen kingsley house", "apartment four b").
_ADDRESS_UNITS = frozenset(_words("flat apartment apt unit house huis bus woning appartement hoog"))


def _introduced_names(tokens: list[tuple[str, int, int]]) -> list[Span]:
    """In a reply to a question about a name, the words after one that introduces a name ("it's in my wife's
    name um joanna kowalczyk", "dat staat op mijn man hans vermeulen maar ik ben els")."""
    out = []
    for k, (t, _, _) in enumerate(tokens):
        if t not in _NAME_INTRODUCERS:
            continue
        i = k + 1
        while i < len(tokens) and tokens[i][0] in _SPOKEN_FILLERS:
            i += 1
        j = i
        while j < len(tokens) and j - i < 4:
            w = tokens[j][0]
            if w in _ANSWER_STOP or w in _NAME_INTRODUCERS or _is_number_token(w) or len(w) == 1:
                break
            if j == i and re.fullmatch(rf"(?:{_NAME_PARTICLES})", w):
                break
            j += 1
        while j > i and re.fullmatch(rf"(?:{_NAME_PARTICLES})", tokens[j - 1][0]):
            j -= 1
        if j > i:
            out.append(Span(tokens[i][1], tokens[j - 1][2], "PERSON"))
    return out


# A relation or a title before a name written in lower case ("my wife morag said", "mijn zoon ronald zei",
# "with doctor hussain at ten", "bij dokter de meyer").
_KIN_LOWER = re.compile(rf"(?i)\b(?:{_POSSESSIVE_EN}|{_POSSESSIVE_NL})\s+(?:{_KIN_EN}|{_KIN_NL}),?[ \t]+")
_KIN_NL_WORDS = frozenset(_KIN_NL.split("|"))
_TITLE_WORDS = frozenset(_words("doctor dokter docter tandarts huisarts nurse verpleegkundige professor"))
_KIN_CUES = (
    _KIN_NL_WORDS
    | frozenset(w for w in _KIN_EN.split("|") if w.isalpha())
    | frozenset(_words("fiance fiancé fiancee fiancée"))
    | _TITLE_WORDS
)
_TITLE = re.compile(
    r"(?i)\b(?P<article>(?:the|a|an|my|your|our|his|her|their|de|het|een|mijn|uw|je|jouw|onze|zijn|haar|hun)\s+)?"
    rf"(?:{'|'.join(sorted(_TITLE_WORDS))})[ \t]+"
)
# Words that may follow a relation's name: a verb of the closed classes, "and", "who" ("my wife morag said",
# "mijn man joost heeft"); any word ending in -ed too ("my grandson tyrone waited").
_KIN_FOLLOWERS = frozenset(
    _words(
        "is was has had said says told tells called calls rang rings went goes got gets will would can could did "
        "does do may might must should shall wants wanted needs needed thinks thought knows knew tried tries uses "
        "used lives lived works worked paid pays and who or heeft had zei zegt belde belt kan kon wil wilde wou "
        "gaat ging moet moest komt kwam woont woonde werkt werkte deed doet zal zou mag mocht weet wist denkt dacht "
        "probeerde betaalt betaalde en die of"
    )
)
# Words that are not a name after a relation or a title ("my wife usually ...", "doctor appointment").
_KIN_STOP = (
    _ANSWER_STOP
    | _NOT_NAMES
    | _KIN_FOLLOWERS
    | _TITLE_WORDS
    | frozenset(
        _words(
            "also always never usually actually already recently finally apparently just only even still too though "
            "instead herself himself themselves myself yourself both each either neither every whom whose which "
            "haar zijn hun jullie hen doesnt dont cant wont didnt isnt wasnt havent hasnt couldnt wouldnt shouldnt "
            "ive youre theyre whats erbij ermee eraan where as if than once twice since until till while after before later last next over up down out off "
            "away into onto around through across against without within by via per who's used gets "
            "appointment appointments visit note letter surgery office practice referral report receptionist "
            "bill fees prescription ook altijd nooit meestal eigenlijk al nog net pas zelf toen soms wel alleen "
            "daarom wie waar wanneer er daar inmiddels intussen vroeger straks afspraak brief verwijzing praktijk "
            "assistente recept bezoek post bellen gebeld mee thuis weer zo erg heel gave took made came saw bought "
            "sent left lost found put kept brought fell broke died moved helps makes takes gives comes sees buys "
            "sends leaves keeps brings falls dies moves pay give take make come see buy send leave keep bring fall "
            "die move help get go let put birth gaf nam maakte kwam zag kocht stuurde liet verloor vond hield "
            "bracht viel brak stierf overleed verhuisde hielp krijgt kreeg geeft neemt maakt ziet koopt stuurt laat "
            "verloren gevonden overleden verhuisd geholpen gekregen gegeven genomen gemaakt gekomen gezien gekocht "
            "gestuurd"
        )
    )
)


# Particles inside a name written in lower case ("dokter de meyer", "doctor ní bhriain"); not "in", "op", "te",
# which are prepositions far more often ("my brother in law").
_KIN_PARTICLES = frozenset(
    _words("van de der den ter ten el al bin ben la le du da di dos del von mac mc ní nic ó")
)


# Dutch words before a clause whose verb comes last ("als mijn vader valt", "die bij hun moeder wonen").
_NL_SUBORDINATORS = frozenset(
    _words("als omdat dat wanneer toen of zodat terwijl nadat voordat sinds totdat hoewel tenzij die waar waardoor")
)


def _verbish(tok: str) -> bool:
    """"uploaded", "waited", "struggling", "geregeld", "verlopen": a verb after a relation, not a name."""
    return (
        len(tok) > 4 and tok.endswith("ed")
        or tok in _KIN_FOLLOWERS
        or len(tok) > 5 and tok.endswith("ing") and tok not in _ING_NAMES
        or len(tok) >= 7 and tok.startswith(("ge", "ver", "be")) and tok.endswith(("en", "d", "t"))
    )


_EN_CARDINAL = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    "eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
)
# An address said in a call with no cue before it: "the address on file which is twelve oh eight maple ridge
# drive", "on the driveway at nine laburnum way", "het is kapelstraat zeventien a".
_SPOKEN_EN_ADDRESS = re.compile(
    rf"(?<![\w'’-])(?:(?:flat|apartment|unit)[ \t]+)?(?:{_EN_CARDINAL})(?:[ \t-]+(?:{_EN_CARDINAL}|oh|o|and))*"
    rf"(?:[ \t]+[a-h])?(?P<words>(?:[ \t]+[a-z][a-z'’-]+){{1,3}})[ \t]+(?P<type>[a-z]+)(?![\w'’-])"
)
_NL_NUMBER = (
    r"(?:één|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|vijftien|zestien|"
    r"zeventien|achttien|negentien|twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig|honderd|"
    r"duizend|ën|en)+"
)
_SPOKEN_NL_ADDRESS = re.compile(
    rf"(?<![\w'’-])(?P<street>[a-z][a-zà-ÿ'’-]{{2,40}})[ \t]+(?P<num>{_NL_NUMBER}(?:[ \t]+{_NL_NUMBER})?)"
    r"(?:[ \t]+(?:[a-h]|bis|bus[ \t]+[a-z]+))?(?![\w'’-])"
)
# Capital letters other than the pronoun "I": written text, whose names are capitalised.
_HAS_CAPITALS = re.compile(r"(?!I\b)[A-ZÀ-ÖØ-Þ]")


def _spoken_addresses(s: str) -> Iterator[Span]:
    """A street address read out in number words (lower-case speech only): a cardinal, one to three words and
    an English street type; or a Dutch street name and its number."""
    for m in _SPOKEN_EN_ADDRESS.finditer(s):
        words = m.group("words").split()
        if m.group("type") not in _EN_STRONG_STREET_TYPES or any(
            w in _ANSWER_STOP or _is_number_token(w) or w in _EN_STRONG_STREET_TYPES for w in words
        ):
            continue  # "two lane road" has no name; "the one way" has no number
        yield Span(m.start(), m.end(), "ADDRESS")
    for m in _SPOKEN_NL_ADDRESS.finditer(s):
        street = m.group("street")
        if m.group("num").split()[0] in {"een", "en", "één"}:
            continue  # "aan de achterkant een vergunning": an article, not a number
        if (
            not street.endswith(_NL_STREET_SUFFIXES)
            or street in _NL_STREET_SUFFIXES
            or street in _NL_STREET_STOP
            or _is_number_token(street)
        ):
            continue
        yield Span(m.start(), m.end(), "ADDRESS")


def _kin_names(s: str) -> Iterator[Span]:
    """A name in lower case after a relation ("my wife morag said it", "mijn zus agata kan") when the word
    after it is a verb, "and" or the end of the clause; and after a title ("doctor okonkwo", "bij dokter de
    meyer"), which is not "the doctor said" or "doctor appointment"."""
    for rx, kin in ((_KIN_LOWER, True), (_TITLE, False)):
        for m in rx.finditer(s):
            tokens = _answer_tokens(s, m.end(), min(len(s), m.end() + 80))
            if not tokens or tokens[0][1] != m.end() or not s[m.end()].isalpha():
                continue
            line_start = s.rfind("\n", 0, m.start()) + 1
            line_end = s.find("\n", m.end())
            line = s[line_start : len(s) if line_end < 0 else line_end]
            if s[m.end()].islower() and _HAS_CAPITALS.search(line):
                continue  # a line with capitals capitalises a name too: not "Mijn partner rijdt."
            dutch = kin and m.group().split()[1].strip(",").lower() in _KIN_NL_WORDS
            clause = s[line_start : m.start()]
            clause = re.split(r"[,;:!?()]|\.\s", clause)[-1]
            if kin and dutch and not _NL_SUBORDINATORS.isdisjoint(t for t, _, _ in _answer_tokens(clause, 0, len(clause))):
                continue  # "als mijn vader valt kan hij ...": the verb comes after the subject
            if not kin and m.group("article") and not re.fullmatch(rf"(?:{_NAME_PARTICLES})", tokens[0][0]):
                continue  # "the doctor said"; but "bij de dokter de meyer"
            run: list[tuple[str, int, int]] = []
            for k, tok in enumerate(tokens[:4]):
                if k and _CLAUSE_BREAK.search(s, tokens[k - 1][2], tok[1]):
                    break
                t = tok[0]
                particle = t in _KIN_PARTICLES
                verb = s[tok[1]].islower() and _verbish(t)  # "Vermeiren" is capitalised: a name
                if not particle and (t in _KIN_STOP or verb or _is_number_token(t) or len(t) < 2):
                    break
                if not t.replace("-", "").replace("'", "").replace("’", "").isalpha():
                    break
                run.append(tok)
            while run and run[-1][0] in _KIN_PARTICLES:
                run.pop()
            if not run or (kin and not s[run[0][1]].islower()):
                continue  # a capitalised name after a relation is the weak rules'
            if not kin:
                core = next(k for k, tok in enumerate(run) if tok[0] not in _KIN_PARTICLES)
                # a surname, or a capitalised first name and surname ("Dokter Anna Boersma")
                two = core + 1 < len(run) and s[run[core][1]].isupper() and s[run[core + 1][1]].isupper()
                run = run[: core + (2 if two else 1)]
            elif len(run) > 3:
                run = run[:3]
            if kin:
                nxt = tokens[len(run)] if len(run) < len(tokens) else None
                ended = nxt is None or bool(_CLAUSE_BREAK.search(s, run[-1][2], nxt[1]))
                if dutch and (ended or nxt[0] == "en") and run[-1][0].endswith(("t", "en", "de", "te")):  # type: ignore[index]
                    continue  # "mijn partner rijdt.", "bij mijn vriend wonen en", "mijn zus cadeau doen?"
                if not ended and not _verbish(nxt[0]):  # type: ignore[index]
                    second = run[1][0] if len(run) > 1 else ""
                    if len(second) > 4 and second.endswith("s") or second in _KIN_FOLLOWERS:
                        run = run[:1]  # "my nephew howard drives me"
                    else:
                        continue  # "my son bought a ..."
            yield Span(run[0][1], run[-1][2], "PERSON")


def _free_span(s: str, tokens: list[tuple[str, int, int]], kinds: frozenset[str], cued: bool) -> Span | None:
    """The words of a reply after its lead-in ("yeah it's ...") up to a word that ends it, read as the name,
    address or memorable word asked for."""
    free = kinds & ({"ADDRESS"} if cued else {"PERSON", "ADDRESS", "CREDENTIAL"})
    if not free:
        return None
    i = 0
    while i < len(tokens) and tokens[i][0] in _ANSWER_LEAD:
        i += 1
    j = i
    while j < len(tokens) and j - i < 8:
        t = tokens[j][0]
        after_number = j > i and _is_number_token(tokens[j - 1][0])
        irish = t == "an" and j > i and tokens[j - 1][0] in {"nic", "mac", "ní", "ni", "ó", "o"}  # "nic an bhaird"
        if t in _ANSWER_STOP and not irish and not (
            after_number and (t in _NUMBER_GLUE or len(t) == 1 and "ADDRESS" in free)
        ):
            break  # ... but "two thousand and one", "kerkstraat twaalf a" go on
        if len(t) == 1 and j > i and not _is_number_token(t) and "ADDRESS" not in free:
            break  # "lauren pike p i k e": the spelling is read by the letter rule
        if t in _VALUE_CUE_WORDS and "ADDRESS" not in free:
            break  # "mehmet yildiz postcode is ..."
        if j > i and _CLAUSE_BREAK.search(s, tokens[j - 1][2], tokens[j][1]):
            break  # "Dolores Jenkins, account 8201-...": a comma ends the value
        j += 1
    if j == i:
        return None
    body = tokens[i:j]
    # a name or a memorable word is the whole reply, or ends where the reply goes on to spell it, to a number
    # or to "that's ..."; not "seriously again", "absolutely not", "waarom wil je dat weten"
    ends = j == len(tokens) or bool(_CLAUSE_BREAK.search(s, tokens[j - 1][2], tokens[j][1])) or (
        tokens[j][0] in _VALUE_FOLLOWERS or len(tokens[j][0]) == 1 or _is_number_token(tokens[j][0])
    )
    if j < len(tokens) and tokens[j][0] in {"is", "was"}:
        # "kareem is k a r e e m", "boateng is de achternaam"; not "de debetkaart is weg"
        article = body[0][0] in _ARTICLES or i > 0 and tokens[i - 1][0] in _ARTICLES
        ends = j + 1 < len(tokens) and len(tokens[j + 1][0]) == 1 or not article
    if "PERSON" in free and not _spoken(s[tokens[0][1] : tokens[-1][2]]) and not all(
        s[b].isupper() or re.fullmatch(rf"(?:{_NAME_PARTICLES})", t) for t, b, _ in body if not _is_number_token(t)
    ):
        free = free - {"PERSON"}  # written text capitalises a name: not "membership 60418827"
    numbered = next((k for k, (t, _, _) in enumerate(body) if _is_number_token(t)), None)
    written = any(c.isdigit() for t, _, _ in body for c in t)
    counted = any(_is_number_token(t) and not _is_ordinal(t) for t, _, _ in body)  # not "the third floor"
    street = any(_is_street_type(t) or t in _ADDRESS_UNITS or t.endswith(_NL_STREET_SUFFIXES) for t, _, _ in body)
    if "ADDRESS" in free and numbered is not None and not (cued and (written or not counted or not street)):
        return Span(body[0][1], body[-1][2], "ADDRESS")
    # "this is taking forever": a verb, unless one of the names that end like one
    verb = len(body[0][0]) > 5 and body[0][0].endswith("ing") and body[0][0] not in _ING_NAMES
    if "PERSON" in free and numbered != 0 and (ends or numbered is not None) and not verb:
        named = body[:numbered]  # "it's lauren pike oh four oh nine ...": the date is read above
        if len(named) <= 5:
            return Span(named[0][1], named[-1][2], "PERSON")
    if "CREDENTIAL" in free and len(body) <= 3 and ends and not verb:
        return Span(body[0][1], body[-1][2], "CREDENTIAL")
    return None


def _chat_answers(s: str, asks_for: Any) -> Iterator[Span]:
    """A chat handed over whole: the line after a company side's question that asks for personal data
    ("Council: Thanks. And your name please?" / "Chelsea Marie Hobbs") read as its answer. The question's line
    carries a speaker label that is not the customer's; the answer's line carries none or another one."""
    lines = [(m.start(), m.end()) for m in _LINE.finditer(s)]
    for (q0, q1), (a0, a1) in zip(lines, lines[1:], strict=False):
        if "?" not in s[q0:q1]:
            continue
        q_match = _LINE_LABEL.match(s, q0, q1)
        q_label = (q_match.group("label") or "").lower() if q_match else ""
        if not q_label or not _CUSTOMER_LABELS.isdisjoint(_words(q_label)):
            continue  # a customer's own question ("is the promo code still valid?") asks the company nothing
        asked = asks_for(s[q_match.end() if q_match else q0 : q1])
        if not asked:
            continue
        a_match = _LINE_LABEL.match(s, a0, a1)
        a_label = (a_match.group("label") or "").lower() if a_match else ""
        if a_label == q_label:
            continue  # the same speaker goes on
        yield from _answer_spans(s, a_match.end() if a_match else a0, a1, asked)


# Words of a chat speaker label's role part ("Medha (Relationship Manager):", "Support - Priscilla:").
_ROLE_WORDS = _AGENT_SIDE | _ORG_WORDS | frozenset(
    _words(
        "manager relationship specialist consultant representative medewerkster klantadviseur adviseuse "
        "chat livechat bot assistent assistente sales receptie reception technieker monteur technician engineer"
    )
)
# The labels of a chat's customer side that name a role, not the person ("Patiënt:", "Tenant:").
_CUSTOMER_ROLES = frozenset(
    _words(
        "patient patiënt student tenant huurder member lid reiziger passenger traveller guest gast burger bewoner "
        "ouder parent client cliënt consumer consument buyer koper seller verkoper visitor bezoeker applicant "
        "aanvrager policyholder verzekerde claimant shopper note notes status update reply answer question subject tip ps "
        "edit info system admin moderator notification reminder opmerking notitie antwoord vraag onderwerp "
        "systeem melding resident inwoner homeowner"
    )
)
# Job titles of a person (not of a company or a bot) that a chat label puts before the name.
_PERSON_JOBS = (_AGENT_SIDE - frozenset(_words("bot assistant"))) | frozenset(
    _words("medewerkster adviseuse consultant specialist manager representative technieker monteur technician engineer")
)
_ROLE_ENDINGS = (
    "bank", "service", "desk", "care", "zorg", "support", "helpdesk", "centrum", "center", "centre", "adviseur", "team",
    "dienst",
)


def _role_part(text: str) -> bool:
    """A label's part names a role or a company ("Relationship Manager", "Vlaamse Spaarbank")."""
    words = {w.strip(".").lower() for w in re.split(r"[\s\-–]+", text) if w}
    return not words.isdisjoint(_ROLE_WORDS) or any(w.endswith(_ROLE_ENDINGS) for w in words)
_LABEL_PARTS = re.compile(r"(?P<a>[^()|]+?)[ \t]*(?:\((?P<b>[^()]+)\)|[ \t][-–|][ \t]+(?P<c>[^()]+))[ \t]*")


def _label_names(s: str, name_rx: re.Pattern[str]) -> Iterator[Span]:
    """The person in a chat line's speaker label that pairs a name with a role ("Medha (Relationship Manager):",
    "Support - Priscilla:", "Studiefinanciering-chat (Mark):"); ``name_rx`` matches one name."""
    def person(start: int, end: int) -> bool:
        words = s[start:end].split()
        return (
            name_rx.fullmatch(s, start, end) is not None
            and len(words) <= 3
            and all(w.lower() not in _NOT_NAMES and w.lower() not in _ROLE_WORDS for w in words)
            and not _role_part(s[start:end])
        )

    labels = []
    for line in _LINE.finditer(s):
        m = _LINE_LABEL.match(s, line.start(), line.end())
        if m is not None and m.group("label") is not None:
            labels.append((m.start("label"), m.end("label")))
    agent_side = False
    for start, end in labels:
        label = s[start:end]
        parts = _LABEL_PARTS.fullmatch(s, start, end)
        if parts is None:
            agent_side = agent_side or _role_part(label)
            # a person's job and a name ("Reisadviseur Kim:", "Technieker Jef:"; not "Gemeente Almere:")
            first, _, rest = label.partition(" ")
            job = first.lower() in _PERSON_JOBS or first.lower().endswith(("adviseur", "adviseuse", "medewerker"))
            if rest and " " not in rest and job and person(start + len(first) + 1, end):
                yield Span(start + len(first) + 1, end, "PERSON")
            continue
        other = "b" if parts.group("b") is not None else "c"
        for name, role in (("a", other), (other, "a")):
            if not _role_part(parts.group(role)):
                continue
            agent_side = True
            if person(*parts.span(name)):
                yield Span(*parts.span(name), "PERSON")
                break
    said = Counter(s[start:end] for start, end in labels)
    customer_side = any(
        not _CUSTOMER_LABELS.isdisjoint(words) or not _CUSTOMER_ROLES.isdisjoint(words)
        for words in ({w.lower() for w in label.split()} for label in said)
    )
    if agent_side and not customer_side:
        # the other side of a chat whose agent's label names a role, and whose customer's label is not a role,
        # is the customer's name ("Agent Liam:" / "Neha:")
        for start, end in labels:
            words = {w.lower() for w in s[start:end].split()}
            if (
                said[s[start:end]] >= 2  # a speaker speaks more than once; "Note:", "Order status:" once
                and words.isdisjoint(_CUSTOMER_LABELS)
                and words.isdisjoint(_CUES_TURN)
                and words.isdisjoint(_CUSTOMER_ROLES)
                and person(start, end)
            ):
                yield Span(start, end, "PERSON")


# A customer giving their own name as a call's turn opens, in lower case: a greeting (and perhaps the agent's name
# said back), then Dutch "met" or English "it's" / "this is" ("hallo met ronald pinas ik heb een vraag", "hi dana
# it's tadhg brennan i'm calling about ...").
_CUSTOMER_INTRO = re.compile(r"(?i)\b(?:met|it['’]s|it\s+is|this\s+is)\s+")
_INTRO_LEAD = frozenset(_words("ja yes yeah yep oh uh um eh ehm good there")) | _GREETING_WORDS
_INTRO_FILLERS = frozenset(_words("uh um eh ehm erm mij jou hem haar ons jullie hun wie wat mn m'n het"))
_INTRO_PARTICLES = frozenset(_words("van de der den ter ten te el al bin ben la le du da di dos del von mac"))
_CUSTOMER_INTRO_AFTER_NL = frozenset(_words("ik en hier van uit"))
_CUSTOMER_INTRO_AFTER_EN = frozenset(_words("i i'm im and from"))


def _customer_intros(s: str, start: int, end: int) -> Iterator[Span]:
    """The customer's own name at the start of a turn in lower case (``start``..``end``), after a greeting:
    after "met" a name of one to four words ending the clause or before "ik", "en", "hier", "van", "uit";
    after "it's" / "this is" one word before "here", "speaking" or "calling", or two or more words also before
    "i'm", "and", "from" or the end of the clause (not "hi it's broken again", "hello it's about my bill")."""
    m = _CUSTOMER_INTRO.search(s, start, min(end, start + 60))
    if m is None or _HAS_CAPITALS.search(s, start, end):
        return  # written text capitalises names (the other rules); a transcript's turn is in lower case
    before = [t for t, _, _ in _answer_tokens(s, start, m.start())]
    if not before or len(before) > 5 or before[0] not in _INTRO_LEAD or _GREETING_WORDS.isdisjoint(before):
        return
    if sum(t not in _INTRO_LEAD for t in before) > 2:  # at most the agent's name said back ("hi dana it's ...")
        return
    tokens = _answer_tokens(s, m.end(), min(end, m.end() + 80))
    name: list[tuple[str, int, int]] = []
    for tok in tokens[:6]:
        w = tok[0]
        if not s[tok[1]].islower() or not w.replace("-", "").replace("'", "").replace("’", "").isalpha():
            break
        if name and _CLAUSE_BREAK.search(s[name[-1][2] : tok[1]]):
            break
        if w in _INTRO_PARTICLES:
            if not name:
                return  # "met de bank", "met het waterbedrijf"
            name.append(tok)
            continue
        if (w in _ANSWER_STOP or w in _INTRO_FILLERS or w in _INTRO_AFTER or w in _COMPANY_WORDS
                or w.endswith(_ROLE_ENDINGS) or _verbish(w) or _is_number_token(w)):
            break
        name.append(tok)
    while name and name[-1][0] in _INTRO_PARTICLES:
        name.pop()
    words = [t for t in name if t[0] not in _INTRO_PARTICLES]
    if not words or len(words) > 4:
        return
    k = tokens.index(name[-1]) + 1
    follower = tokens[k][0] if k < len(tokens) else None
    if follower is not None and _CLAUSE_BREAK.search(s[name[-1][2] : tokens[k][1]]):
        follower = None
    if m.group().lower().startswith("met"):
        ok = follower is None or follower in _CUSTOMER_INTRO_AFTER_NL
    else:
        ok = follower in {"here", "speaking", "calling"} or len(words) >= 2 and (
            follower is None or follower in _CUSTOMER_INTRO_AFTER_EN
        )
    if ok:
        yield Span(name[0][1], name[-1][2], "PERSON")


def _turn_bounds(s: str, turns: list[re.Match[str]]) -> Iterator[tuple[bool, int, int]]:
    """(agent or bot speaking, start, end) of each turn of a transcript handed over whole (``turns``: its labels)."""
    for k, m in enumerate(turns):
        yield m.group("who").lower() in _AGENT_SIDE, m.end(), turns[k + 1].start() if k + 1 < len(turns) else len(s)


def _agent_turns(s: str, turns: list[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """(start, end) of each agent or bot turn of a transcript handed over whole (``turns``: its labels)."""
    return ((start, end) for agent, start, end in _turn_bounds(s, turns) if agent)


def _transcript_answers(s: str, turns: list[re.Match[str]], asks_for: Any) -> Iterator[Span]:
    """A transcript handed over whole (``turns``: its speaker labels): each customer turn after an agent's
    question read as its answer."""
    asked: frozenset[str] = frozenset()
    for agent, start, end in _turn_bounds(s, turns):
        if agent:
            asked = asks_for(s[start:end])
        elif asked:
            yield from _answer_spans(s, start, end, asked)


def _name_words(s: str, spans: Iterable[Span], *, lower: bool = True) -> set[str]:
    """The words (lower-cased unless ``lower`` is false) of the names among ``spans`` that can be looked for
    elsewhere: three letters or more, no particles ("van", "de"), no common words."""
    return {
        w.lower() if lower else w
        for sp in spans
        if sp.label == "PERSON"
        for w in _ANSWER_TOKEN.findall(s[sp.start : sp.end])
        if len(w) >= 3 and w.lower() not in _NOT_NAMES and not re.fullmatch(rf"(?:{_NAME_PARTICLES})", w)
    }


_COMPANY_WORDS = (_ROLE_WORDS - frozenset(_words("chat livechat"))) | frozenset(
    _words(
        "member members membership reception medical centre center resolution online security polikliniek poli "
        "praktijk homes architects stichting woonstichting bakkerij reservations bookings enquiries complaints "
        "returns repairs lettings admissions payments collections renewals accounts scheduling"
    )
)

# A handle whose words name an organisation or a service is a company's account, not personal data
# ("@AppleSupport", "@AskPlayStation", "@TeamYouTube", "@NS_online", "@SouthwestAir", "@KPN").
_HANDLE_ORG_WORDS = _COMPANY_WORDS | frozenset(  # (an organisation's words are among a company's)
    _words("help helps cares air trains travel games studios news app apps shop store hq info gym")
)
_HANDLE_ORG_ENDINGS = ("help", "helps", "support", "care", "cares", "service", "services", "bank", "verzekeringen",
                       "energie", "airlines", "airways", "telecom", "desk")
_HANDLE_ORG_INSIDE = ("support", "webcare", "klantenservice", "bedrijf")
_HANDLE_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# ... or starts "Ask"/"Team", is an acronym, or is a name in CamelCase with a country after it ("@NetlinkNL").
_HANDLE_ORG_START = re.compile(r"(?:Ask|Team)[A-Z_]|[A-Z][A-Z0-9]{1,5}$|(?:[A-Z][a-z]+)+_?(?:NL|BE|UK|US|IE|DE|FR|EU)$")
# "@" as "at": a time, an amount or a place ("@5pm", "2 @ 20", "@home"), a domain ("@gmail.com"), or the
# placeholder itself ("@user", so redacting twice counts once).
_HANDLE_NOT = re.compile(r"(?i)[0-9]{1,4}(?:[.:][0-9]{2})?(?:am|pm|h|u|uur)?|home|work|school|all|everyone|here|channel|user")
_HANDLE_DOMAIN = re.compile(r"(?i).+\.(?:com|net|org|nl|be|de|fr|uk|eu|io|info|biz|us|edu|gov|me)")


def _personal_handle(handle: str) -> bool:
    """Whether ``handle`` (after the "@") is a person's account: not a company's, a time or a domain."""
    if _HANDLE_NOT.fullmatch(handle) or _HANDLE_DOMAIN.fullmatch(handle) or _HANDLE_ORG_START.match(handle):
        return False
    flat = handle.lower().replace("_", "").replace(".", "")
    if flat.endswith(_HANDLE_ORG_ENDINGS) or any(w in flat for w in _HANDLE_ORG_INSIDE):
        return False
    return _HANDLE_ORG_WORDS.isdisjoint(w.lower() for w in _HANDLE_PARTS.findall(handle))


# Words in capitals, two letters or more; two of them in a row make a text worth reading for names in capitals.
# After a space, a bracket or a slash only ("F***ING" is no "Ing ..."); not "AM", "PM", "UK"...
_CAPS_WORD = re.compile(
    r"(?:(?<=[\s(\[\"/,:;])|^)(?!(?:AM|PM|OK|UK|US|EU|NL|BE|TV|PC|ID|IT|CC|RE|FW|FWD|PS|NB|OR|CEO|FYI|ASAP)\b)"
    r"[A-ZÀ-ÖØ-ÞĀ-ſ]{2,}(?:['’-][A-ZÀ-ÖØ-ÞĀ-ſ]+)*(?![\w'’*-])",
    re.M,
)
_CAPS_RUN = re.compile(
    r"(?<![\w'’-])[A-ZÀ-ÖØ-ÞĀ-ſ]{2,}(?:[ \t]+|[ \t]*[(/][ \t]*|:[ \t]+)[A-ZÀ-ÖØ-ÞĀ-ſ]{2,}(?![\w'’-])"
)


def _title_word(m: re.Match[str]) -> str:
    """"DEMIR" -> "Demir", "O'BRIEN" -> "O'Brien"; a word whose lower case has another length stays as it is."""
    word = m.group()
    titled = re.sub(r"[^\W\d_]+", lambda p: p.group()[0] + p.group()[1:].lower(), word)
    return titled if len(titled) == len(word) else word


# A word of a brand's name: "Huis&Co", "Huis & Co".
_BRAND_AFTER = re.compile(r"[ \t]?&")
def _company_neighbours(s: str) -> set[str]:
    """The words of ``s`` that stand within two words (spaces between, nothing else) of a word of a company's or
    a team's name ("Fibrelink Customer Care", "Polikliniek Dermatologie")."""
    tokens = list(_ANSWER_TOKEN.finditer(s))
    out: set[str] = set()
    for k, m in enumerate(tokens):
        if m.group().lower() not in _COMPANY_WORDS:
            continue
        for step in (-1, 1):
            a, b = k, k + step
            for _ in range(2):
                if not 0 <= b < len(tokens):
                    break
                lo, hi = (tokens[b], tokens[a]) if step < 0 else (tokens[a], tokens[b])
                if s[lo.end() : hi.start()].strip(" \t"):
                    break  # only spaces between: not "Tayla (NBN Support)"
                out.add(tokens[b].group())
                a, b = b, b + step
    return out


def _repeated_values(s: str, spans: list[Span]) -> Iterator[Span]:
    """A value found once, said or written again in the same conversation: an agent reading back what the
    customer said ("y k one nine d f v thank you"), a quoted reply. Values of six characters or more with a digit
    or three words, matched whole words, any case; not names (``_propagate_names``) nor credentials, whose digits
    asked for ("digits two and four of your pin") are said again as the question."""
    low = s.lower()
    seen: set[str] = set()
    for sp in spans:
        value = low[sp.start : sp.end]
        if sp.label in {"PERSON", "CREDENTIAL"} or value in seen or len(value) < 6:
            continue
        seen.add(value)
        if not any(ch.isdigit() for ch in value) and value.count(" ") < 2:
            continue
        at = low.find(value)
        while at >= 0:
            end = at + len(value)
            whole = (at == 0 or not low[at - 1].isalnum()) and (end == len(low) or not low[end].isalnum())
            if whole and at != sp.start:
                yield Span(at, end, sp.label)
            at = low.find(value, at + 1)


def _propagate_names(s: str, spans: list[Span], *, any_case: bool = True) -> Iterator[Span]:
    """Every other occurrence of a word of a name found: in any case in a call ("... it's morag mcintyre" /
    "lovely and your date of birth morag"), as written elsewhere ("Chat started with Tayla" / "Tayla: Hi")."""
    names = _name_words(s, spans, lower=any_case)
    if not any_case and names:
        # not a word that is a company's elsewhere in the text ("Fibrelink Customer Care", "PureFit")
        company = _company_neighbours(s)
        names = {
            w
            for w in names
            if w.lower() not in _COMPANY_WORDS
            and not re.search(r"[a-z][A-Z]", w)
            and w not in company
            and "." not in w  # "Snelkoop.nl"
        }
    if not names:
        return
    for m in _ANSWER_TOKEN.finditer(s):
        word = m.group().lower() if any_case else m.group()
        if word in names and (any_case or not _BRAND_AFTER.match(s, m.end())):
            yield Span(m.start(), m.end(), "PERSON")
