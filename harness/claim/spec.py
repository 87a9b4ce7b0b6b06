"""What a ``claim`` marker says, checked once: id, title, source, hypothesis, variant.

::

    @pytest.mark.claim("CV4", source="cheese-vector notebook", variant="trend")
    def test_cv4_transfer_degrades_with_offset(claim, subject):
        '''Transfer of the cheese vector degrades with the offset of the cheese.

        Per source maze, the drop of P(cheese) falls as the target's cheese moves away.
        '''

The title is the docstring's first line and the hypothesis the rest, so a claim reads like
the sentence in the paper followed by what is tested; ``title=`` and ``hypothesis=`` in the
marker override them. ``variant`` names one of several tests of the same claim id
(``CV4[trend]`` beside the parametrized ``CV4[offset=2]``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLAIM_ID_PATTERN = re.compile(r"^[A-Z]{2,4}\d+[a-z]?$")
REQUIRED_FIELDS = ("id", "title", "source", "hypothesis")
OPTIONAL_FIELDS = ("variant",)


class ClaimSpecError(ValueError):
    """A ``claim`` marker that lacks a field or has a malformed id."""


@dataclass(frozen=True)
class ClaimSpec:
    """A claim as its marker states it."""

    id: str
    title: str
    source: str
    hypothesis: str
    variant: str | None = None

    @classmethod
    def from_marker(
        cls, args: tuple[Any, ...], kwargs: Mapping[str, Any], doc: str | None = None
    ) -> ClaimSpec:
        """Parse ``claim("CV1", source=...)`` or the all-keyword form; ``doc`` (the test's
        docstring) gives the title (first line) and hypothesis (the rest) the marker omits."""
        fields = {**_from_docstring(doc), **kwargs}
        if args:
            if len(args) > 1 or "id" in kwargs:
                raise ClaimSpecError("claim marker: give the id once, positionally or as id=")
            fields["id"] = args[0]
        unknown = sorted(set(fields) - {*REQUIRED_FIELDS, *OPTIONAL_FIELDS})
        missing = [
            f for f in REQUIRED_FIELDS if not isinstance(fields.get(f), str) or not fields[f]
        ]
        problems = []
        if missing:
            problems.append(f"missing or empty {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown field(s) {', '.join(unknown)}")
        if not missing and not CLAIM_ID_PATTERN.match(fields["id"]):
            problems.append(f"id {fields['id']!r} does not look like a CLAIMS.md id (e.g. CV1)")
        variant = fields.get("variant")
        if variant is not None and not (isinstance(variant, str) and variant):
            problems.append(f"variant must be a non-empty string, got {variant!r}")
        if problems:
            raise ClaimSpecError("claim marker: " + "; ".join(problems))
        return cls(**{f: fields.get(f) for f in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)})

    def record_id(self, case: str | None = None) -> str:
        """The id of one test of this claim: ``CV1``, ``CV4[trend]``, ``CV4[offset=2]``."""
        parts = [p for p in (self.variant, case) if p]
        return f"{self.id}[{'-'.join(parts)}]" if parts else self.id


def _from_docstring(doc: str | None) -> dict[str, str]:
    """``title`` (the first paragraph) and ``hypothesis`` (the rest) of a claim's docstring."""
    if not doc:
        return {}
    paragraphs = [" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n") if p.strip()]
    out = {"title": paragraphs[0].rstrip(".")} if paragraphs else {}
    if len(paragraphs) > 1:
        out["hypothesis"] = " ".join(paragraphs[1:])
    return out
