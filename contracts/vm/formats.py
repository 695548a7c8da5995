"""Format strings: the format specs and ``str.format`` templates contracts may use.

Shared by the checker (literal templates and f-string specs are refused at check time) and the
run-time formatting in ``values`` (templates built at run time), so neither imports the other.
"""

from __future__ import annotations

import re
from string import Formatter

from contracts.vm import gas
from contracts.vm.errors import worded

# Format specs allowed in f-strings and str.format: fill/align, sign, #, 0, width, grouping,
# precision and an integer/str presentation type. No nested fields, no float or locale types.
FORMAT_SPEC = re.compile(
    r"\A(?:[^{}]?[<>=^])?[+\- ]?#?0?(?P<width>\d+)?[,_]?(?:\.(?P<prec>\d+))?[bdoxXs]?\Z"
)


def check_format_spec(spec: str) -> str | None:
    """Return a problem description for a format spec, or None when it is allowed."""
    m = FORMAT_SPEC.match(spec)
    if m is None:
        return f"format spec {spec!r} is not supported (allowed: fill, align, sign, width, , _ and b d o x X s)"
    for part in ("width", "prec"):
        text = m.group(part)
        if text is not None and (len(text) > 6 or int(text) > gas.MAX_FORMAT_WIDTH):
            return f"format width/precision above {gas.MAX_FORMAT_WIDTH}"
    return None


def parse_format(template: str) -> list[tuple[str, str | None, str | None, str]]:
    """Parse a str.format template into (literal, field, conversion, spec), refusing
    attribute/index access and nested fields (the classic ``"{0.__class__}"`` escapes)."""
    out: list[tuple[str, str | None, str | None, str]] = []
    for literal, field_name, spec, conversion in Formatter().parse(template):
        if field_name is None:
            out.append((literal, None, None, ""))
            continue
        if "." in field_name or "[" in field_name:
            raise worded(
                ValueError, f"field {field_name!r}: attribute and index access are not allowed"
            )
        if field_name and not field_name.isdigit() and not field_name.isidentifier():
            raise worded(ValueError, f"field {field_name!r} is not a position or a name")
        if field_name.startswith("_"):
            raise worded(
                ValueError, f"field {field_name!r}: names starting with '_' are not allowed"
            )
        if spec and ("{" in spec or "}" in spec):
            raise worded(ValueError, "nested fields in a format spec are not allowed")
        if conversion not in (None, "r", "s"):
            raise worded(ValueError, f"conversion !{conversion} is not supported")
        out.append((literal, field_name, conversion, spec or ""))
    return out
