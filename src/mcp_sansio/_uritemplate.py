"""RFC 6570 URI templates, level 1 (``{var}``) plus reserved (``{+var}``) expansion, for matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["UriTemplate"]

_EXPRESSION = re.compile(r"\{([+]?)([A-Za-z0-9_]+)\}")


@dataclass(frozen=True, slots=True)
class UriTemplate:
    """A parsed template that can tell which URIs it matches."""

    text: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> UriTemplate:
        """Parse ``text``; raises ValueError on an unsupported or repeated expression."""
        parts: list[str] = []
        names: list[str] = []
        pos = 0
        for match in _EXPRESSION.finditer(text):
            parts.append(re.escape(text[pos : match.start()]))
            reserved, name = match.groups()
            if name in names:
                raise ValueError(f"variable {name!r} appears twice in {text!r}")
            names.append(name)
            # Group names must be identifiers; RFC 6570 names may start with a digit.
            parts.append(f"(?P<v{len(names) - 1}>{'.+' if reserved else '[^/?#]+'})")
            pos = match.end()
        literal = _EXPRESSION.sub("", text)
        if "{" in literal or "}" in literal:
            raise ValueError(f"unsupported URI template expression in {text!r}")
        parts.append(re.escape(text[pos:]))
        return cls(text, re.compile("".join(parts)), tuple(names))

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables bound by ``uri``, or None if it does not match."""
        found = self.pattern.fullmatch(uri)
        if found is None:
            return None
        return {name: unquote(found.group(f"v{index}")) for index, name in enumerate(self.variables)}
