"""The customer's own words in an email: the quoted history a mail program appends is cut off before scoring.

A reply in an email thread usually carries the whole thread below (or around) the new text: the company's
earlier answers and the customer's earlier messages, after a reply line ("On Mon, 3 Dec 2026, Anna
<...> wrote:", "Op 3 dec. 2026 schreef ...:"), an Outlook header block ("From: / Sent: / To: / Subject:",
"Van: / Verzonden: / Aan: / Onderwerp:") or a separator ("-----Original Message-----"), often with every
line quoted ("> "). Scored whole, a "thanks, that worked" reply to a thread that once asked for a manager
raises the escalation and human-request alerts again with every message, and an agent's reply that quotes
a customer's abuse is flagged as abusive itself. :func:`own_words` keeps what was written this time:

- everything from the first header block, separator, forwarded-message line, or reply line that is not
  followed by ">"-quoted lines, is history;
- ">"-quoted lines are history wherever they are; a reply line followed by quoted lines is dropped with
  them, and the unquoted lines between or after them are kept (inline answers, bottom-posting);
- when nothing is left (a bare forward), the whole text is read.

An HTML body (a mail platform or chat widget passing the markup on) is first made plain text
(:func:`html_to_text`: block elements end lines, ``<blockquote>`` lines are ">"-quoted), before redaction, so
names after a ``<br>`` are found and the history is cut as in a plain-text reply.

Pure text in, text out (no I/O, no model); the worker applies it to the redacted text of every utterance
(``IMON_QUOTED_HISTORY``; the markers are an email's, but a reply sent with another channel or pasted into a chat
carries the same history), and a text without them is read whole; the scored record and the audit trail say how
many characters were left out. English, Dutch, German and French mail-program formats.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

#: A reply line, alone or wrapped over up to three lines: "On <date>, <name> <addr> wrote:",
#: "Op <datum> schreef <naam>:", "Op <datum> heeft <naam> het volgende geschreven:", "Am ... schrieb ...:",
#: "Le ... a écrit :".
_REPLY_LINE = re.compile(
    r"(?is)^[ \t]*(?:on|op|am|le)\b.{0,300}?(?:\bwrote|\bschreef\b.{0,200}?|\bgeschreven|\bschrieb\b.{0,200}?"
    r"|\ba\s+écrit)[ \t]*:[ \t]*$"
)
_REPLY_START = re.compile(r"(?i)^[ \t]*(?:on|op|am|le)\b")
#: "-----Original Message-----", "---------- Forwarded message ---------", "Begin forwarded message:",
#: "--- Earlier messages in this case ---", a helpdesk's "##- Please type your reply above this line -##", ...
_SEPARATOR = re.compile(
    r"(?i)^[ \t]*(?:-{2,}[ \t]*(?:original message|oorspronkelijk bericht|origineel bericht|forwarded message"
    r"|doorgestuurd bericht|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré"
    r"|message original|(?:previous|earlier|original) messages?\b[^\n]{0,40}|(?:eerdere|vorige|oorspronkelijke)"
    r" berichten?\b[^\n]{0,40})[ \t]*-{2,}|begin (?:forwarded|doorgestuurd) (?:message|bericht)[ \t]*:"
    r"|doorgestuurd bericht[ \t]*:)[ \t]*$"
    # a helpdesk's reply delimiter: "##- Please type your reply above this line -##"
    r"|^[^\n]{0,20}\b(?:reply|write|type|respond)\b[^\n]{0,30}\babove this line\b[^\n]{0,20}$"
    r"|^[^\n]{0,20}\b(?:antwoord|reageer|typ|schrijf)\b[^\n]{0,30}\bboven deze (?:regel|lijn)\b[^\n]{0,20}$"
)
#: The first line of a header block ("From: ...", "Van: ...", "*From:* ..." from HTML mail) and the fields
#: one of which must follow within five lines for it to be one.
_HEADER_FROM = re.compile(r"(?i)^[ \t]*\*?(?:from|van|von|de)[ \t]*:\*?[ \t]*\S")
_HEADER_FIELD = re.compile(
    r"(?i)^[ \t]*\*?(?:sent|date|to|cc|subject|verzonden|datum|aan|onderwerp|gesendet|an|betreff|envoyé"
    r"|à|objet)[ \t]*:"
)
_QUOTED = re.compile(r"^[ \t]*>")
_RULE = re.compile(r"^[ \t]*[_\-=*]{5,}[ \t]*$")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class OwnWords:
    """``text``: what the model reads; ``quoted_chars``: characters of the input left out as history
    (0: none); ``how``: "none" (nothing found), "cut" or "only_history" (nothing of the customer's own
    was left, so ``text`` is the whole input)."""

    text: str
    quoted_chars: int
    how: str


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(lines[i]):
        return False
    return any(_HEADER_FIELD.match(line) for line in lines[i + 1 : i + 6])


def _reply_line_at(lines: list[str], i: int) -> int:
    """How many lines (1-3) a reply line starting at line ``i`` takes; 0 if none starts there."""
    if not _REPLY_START.match(lines[i]):
        return 0
    for n in (1, 2, 3):
        if i + n > len(lines):
            break
        if _REPLY_LINE.match(" ".join(lines[i : i + n])):
            return n
    return 0


def _next_is_quoted(lines: list[str], i: int) -> bool:
    for line in lines[i:]:
        if line.strip():
            return _QUOTED.match(line) is not None
    return False


def own_words(text: str) -> OwnWords:
    """The customer's own words of an email ``text`` (see the module docstring)."""
    if "\n" not in text:
        return OwnWords(text, 0, "none")
    lines = text.split("\n")
    kept: list[str] = []
    i = 0
    cut = False
    while i < len(lines):
        line = lines[i]
        if _SEPARATOR.match(line) or _is_header_block(lines, i):
            cut = True
            break
        n = _reply_line_at(lines, i)
        if n:
            cut = True
            if not _next_is_quoted(lines, i + n):
                break
            i += n  # the reply line of a quoted block: dropped with it
            continue
        if _QUOTED.match(line):
            cut = True
        else:
            kept.append(line)
        i += 1
    if not cut:
        return OwnWords(text, 0, "none")
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()  # the blank lines and the rule ("______") a mail program puts above the history
    body = "\n".join(kept).strip()
    if not _WORD.search(body):
        return OwnWords(text, 0, "only_history")
    return OwnWords(body, len(text) - len(body), "cut")


# --- HTML bodies ------------------------------------------------------------------------------------------------

#: A tag that only markup has: an HTML body sent as the text (a chat widget or mail platform passing it on).
_HTML_TAG = re.compile(
    r"(?i)<(?:!doctype\s+html|html|head|body|div|p|br|span|table|tr|td|blockquote|font|ul|ol|li|h[1-6]|hr|meta|style)"
    r"(?:\s[^<>]{0,500})?/?>"
)
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead",
    "tfoot", "tr", "ul",
})  # fmt: skip
_SKIP = frozenset({"head", "script", "style", "title", "template", "noscript"})
_SPACE = re.compile(r"\s+")


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?:[\s/][^<>]*)?>")


def _without_comments(text: str) -> str:
    """``text`` without ``<!-- ... -->`` (an unclosed one runs to the end, as in a browser); linear."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        if end < 0:
            return "".join(out)
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


class _Lines:
    """Plain-text lines being built: block elements end a line, a ``<blockquote>``'s lines are quoted ("> ") as a
    plain-text mail program quotes them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.quote = 0  # blockquote depth
        self.line_quote = 0  # the depth the current line's first text was at

    def data(self, chunk: str) -> None:
        if chunk:
            if not "".join(self.line).strip():
                self.line_quote = self.quote
            self.line.append(html.unescape(chunk))

    def end(self) -> None:
        text = _SPACE.sub(" ", "".join(self.line)).strip()
        if text or (self.lines and self.lines[-1]):
            self.lines.append(("> " * min(self.line_quote, 8) if text else "") + text)  # depth capped: size
        self.line = []
        self.line_quote = self.quote


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is an HTML body rather than plain text (it holds a tag only markup has)."""
    return "<" in text and _HTML_TAG.search(text) is not None


def html_to_text(text: str) -> str:
    """Plain text of an HTML body: block elements end lines, ``<blockquote>`` lines are ">"-quoted, scripts, styles
    and comments dropped, entities decoded. A text that is not HTML comes back unchanged. Linear in the length of
    the text (a regular-expression tokenizer, not :mod:`html.parser`, which is quadratic on unclosed tags)."""
    if not looks_like_html(text):
        return text
    text = _without_comments(text)
    out = _Lines()
    skip = 0
    pos = 0
    for m in _TAG.finditer(text):
        if not skip:
            out.data(text[pos : m.start()])
        pos = m.end()
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag in _SKIP:
            skip = max(0, skip - 1) if closing else skip + 1
        elif tag in _BLOCK and not skip:
            out.end()
            if tag == "blockquote":
                out.quote = max(0, out.quote - 1) if closing else out.quote + 1
                out.line_quote = out.quote
        elif tag == "td" and closing:
            out.data(" ")
    if not skip:
        out.data(text[pos:])
    out.end()
    return "\n".join(out.lines).strip()
