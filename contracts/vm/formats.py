"""The format-string rules shared by the checker (at deploy) and the values layer (at run time).

Both must refuse exactly the same templates and specs, so the rules live here once; neither
module needs the other for them.
"""

from __future__ import annotations

import re
from string import Formatter

from contracts.vm import gas

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
            raise ValueError(f"field {field_name!r}: attribute and index access are not allowed")
        if field_name and not field_name.isdigit() and not field_name.isidentifier():
            raise ValueError(f"field {field_name!r} is not a position or a name")
        if field_name.startswith("_"):
            raise ValueError(f"field {field_name!r}: names starting with '_' are not allowed")
        if spec and ("{" in spec or "}" in spec):
            raise ValueError("nested fields in a format spec are not allowed")
        if conversion not in (None, "r", "s"):
            raise ValueError(f"conversion !{conversion} is not supported")
        out.append((literal, field_name, conversion, spec or ""))
    return out
