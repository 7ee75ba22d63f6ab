"""Just enough PromQL reading for the dashboard tests: metric names, selectors and their matchers.

Not a parser: it relies on the shapes dashboards/build.py writes (label values in double quotes,
aggregation clauses as ``by (...)``), which promtool then checks properly.
"""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
}
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_SELECTOR = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def metric_names(expr: str) -> set[str]:
    """Names of the series ``expr`` selects (functions, keywords, labels and durations left out)."""
    s = _STRING.sub('""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    return {m.group(1) for m in _IDENT.finditer(s)} - _KEYWORDS


def selectors(expr: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """(metric name, {label: (operator, value)}) of every ``name{...}`` selector in ``expr``."""
    out = []
    for m in _SELECTOR.finditer(expr):
        out.append((m.group(1), {k: (op, v) for k, op, v in _MATCHER.findall(m.group(2))}))
    return out


def label_values_selector(definition: str) -> str:
    """The series selector of a Grafana ``label_values(<selector>, <label>)`` variable query."""
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", definition.strip())
    if not m:
        raise ValueError(f"not a label_values() query: {definition!r}")
    return m.group(1)
