"""The profile schema: which tables and keys a profile may have, and their types.

A profile is a TOML file of per-checkpoint facts (layer, channels, coefficients, margins,
published values). Channel 55 is a fact about one checkpoint, so claims read such values
from the active profile. The check names every bad or missing key, with the file, so a typo
('treshold') is an error instead of a silently ignored value. Claim-specific values that
are not in the list below go into the free-form ``[claims.<ID>.params]`` table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CLAIM_ID = re.compile(r"^[A-Z]{2,4}\d+[a-z]?$")

Check = Callable[[Any], str | None]


def _is_number(v: Any) -> bool:
    """A finite int or float (TOML allows ``nan`` and ``inf``; no claim parameter is one)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _string(v: Any) -> str | None:
    return None if isinstance(v, str) and v else "a non-empty string"


def _number(v: Any) -> str | None:
    return None if _is_number(v) else "a finite number"


def _positive(v: Any) -> str | None:
    return None if _is_number(v) and v > 0 else "a number > 0"


def _int_list(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
    return None if ok and all(i >= 0 for i in v) else "a list of non-negative integers"


def _number_list(v: Any) -> str | None:
    return None if isinstance(v, list) and all(_is_number(i) for i in v) else "a list of numbers"


def _hashes(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(h, str) and SHA256.match(h) for h in v)
    return None if ok else "a list of lowercase hex sha256 strings (64 characters)"


def _margin(v: Any) -> str | None:
    if _is_number(v) and v > 0:
        return None
    if isinstance(v, list) and len(v) == 2 and all(_is_number(i) for i in v) and v[0] < v[1]:
        return None
    return "a number > 0 or [low, high] with low < high"


def _tolerance(v: Any) -> str | None:
    """A number > 0, or a table of numbers > 0 by variant (``default`` for the rest)."""
    if _is_number(v) and v > 0:
        return None
    if isinstance(v, dict) and v and all(_is_number(x) and x > 0 for x in v.values()):
        return None
    return "a number > 0 or a table of numbers > 0 by variant ({ default = 0.05, trend = 0.01 })"


def _alternative(v: Any) -> str | None:
    return None if v in ("greater", "less", "two-sided") else "'greater', 'less' or 'two-sided'"


def _sample_size(v: Any) -> str | None:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 3:
        return None
    sizes_ok = isinstance(v, dict) and set(v) == {"quick", "default", "paper"}
    if sizes_ok and all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 3 for i in v.values()
    ):
        return None
    return "an integer >= 3 or a table with integer quick, default, paper"


def _published(v: Any) -> str | None:
    if _is_number(v) or (isinstance(v, str) and v):
        return None
    if isinstance(v, dict) and v and set(v) <= {"value", "text", "source", "n"}:
        return None
    return "a number, a string, or a table with value/text/source/n"


def _maze_size(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and v % 2 == 1 and 3 <= v <= 25
    return None if ok else "an odd integer in 3..25"


def _verdict(v: Any) -> str | None:
    return None if v in ("supported", "refuted") else "'supported' or 'refuted'"


def _table(v: Any) -> str | None:
    return None if isinstance(v, dict) else "a table"


PROFILE_KEYS: dict[str, tuple[bool, Check]] = {
    "name": (True, _string),
    "description": (False, _string),
    "checkpoint_sha256": (False, _hashes),
    # what every verdict on this checkpoint is about (shown in each report's run header)
    "caveat": (False, _string),
}
MODEL_KEYS: dict[str, tuple[bool, Check]] = {
    "layer": (False, _string),
    "cheese_channels": (False, _int_list),
    "effective_channels": (False, _int_list),
    "non_cheese_channels": (False, _int_list),
    "channel_scale": (False, _positive),
    "min_size": (False, _maze_size),
    "max_size": (False, _maze_size),
    "coverage_note": (False, _string),
}
CLAIM_KEYS: dict[str, tuple[bool, Check]] = {
    "threshold": (False, _number),
    "margin": (False, _margin),
    "alternative": (False, _alternative),
    "coefficient": (False, _number),
    "coefficients": (False, _number_list),
    "channels": (False, _int_list),
    "layer": (False, _string),
    "n": (False, _sample_size),
    "published": (False, _published),
    "params": (False, _table),
    "expect": (False, _verdict),
    "rationale": (False, _string),
    # the effect change a regression check tolerates (--baseline), in the statistic's units
    "regression_tolerance": (False, _tolerance),
}


def _count(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
    return None if ok else "a non-negative integer"


#: Tables that several claims read, and their keys (one place per parameter).
SHARED_TABLES: dict[str, dict[str, tuple[bool, Check]]] = {
    # CH3 and CH4: the retargeting clamps (single channel and the values written: absolute,
    # or as multiples of the channels' typical peak)
    "retargeting": {
        "channels": (False, _int_list),
        **{
            f"{name}_{kind}": (False, _number)
            for name in ("single", "effective", "all")
            for kind in ("value", "multiple")
        },
    },
    # BH1-BH3: one data set and one model family
    "behaviour": {"horizon": (False, _count), "l1_c": (False, _positive)},
    # regression checks (--baseline): the tolerance of a claim that declares none
    "regression": {"tolerance": (False, _positive), "rationale": (False, _string)},
    # NM1 and ED1: the NMF fit and the choice of its cheese direction
    "nmf": {
        key: (False, _count)
        for key in ("components", "fit_mazes", "positions", "fit_seed", "placements", "tolerance")
    },
}
#: Where ``discover-channels`` selected the profile's channels: claims that test them
#: refuse to run on these seeds (selection and confirmation use disjoint mazes).
DISCOVERY_KEYS: dict[str, tuple[bool, Check]] = {
    "base_seed": (True, _count),
    "mazes": (True, _count),
    "last_seed": (False, _count),
    "min_size": (False, _maze_size),
    "placements": (False, _count),
    "tolerance": (False, _count),
    "min_rate": (False, _number),
}
TOP_KEYS = ("profile", "model", "discovery", "shared", "claims")


def _check_table(
    table: Any, keys: dict[str, tuple[bool, Check]], where: str, problems: list[str]
) -> None:
    if not isinstance(table, dict):
        problems.append(f"[{where}] must be a table")
        return
    for key in sorted(set(table) - set(keys)):
        problems.append(f"[{where}] unknown key {key!r} (known: {', '.join(sorted(keys))})")
    for key, (required, check) in keys.items():
        if key not in table:
            if required:
                problems.append(f"[{where}] missing required key {key!r}")
            continue
        expected = check(table[key])
        if expected is not None:
            problems.append(f"[{where}] {key} must be {expected}, got {table[key]!r}")


def _check_shared(shared: Any, problems: list[str]) -> None:
    if not isinstance(shared, dict):
        problems.append("[shared] must be a table of tables, e.g. [shared.retargeting]")
        return
    for name, table in shared.items():
        if name not in SHARED_TABLES:
            known = ", ".join(sorted(SHARED_TABLES))
            problems.append(f"[shared.{name}] is not a known shared table (known: {known})")
            continue
        _check_table(table, SHARED_TABLES[name], f"shared.{name}", problems)


def _check_size_range(model: Any, problems: list[str]) -> None:
    """Declared maze sizes must leave some mazes: caught here, not per claim at run time."""
    if not isinstance(model, dict):
        return
    low, high = model.get("min_size"), model.get("max_size")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"[model] min_size {low} is above max_size {high}: no maze has such a size")


def _check_discovery(table: Any, problems: list[str]) -> None:
    _check_table(table, DISCOVERY_KEYS, "discovery", problems)
    if not isinstance(table, dict):
        return
    first, last = table.get("base_seed"), table.get("last_seed")
    if isinstance(first, int) and isinstance(last, int) and last < first:
        problems.append(f"[discovery] last_seed {last} is below base_seed {first}")


def profile_problems(data: Any) -> list[str]:
    """Every schema problem of a parsed profile, in words (empty when valid)."""
    if not isinstance(data, dict):
        return ["a profile must be a TOML table"]
    problems: list[str] = []
    for key in sorted(set(data) - set(TOP_KEYS)):
        problems.append(f"unknown top-level table {key!r} (known: {', '.join(TOP_KEYS)})")
    if "profile" not in data:
        problems.append("missing required table [profile]")
    else:
        _check_table(data["profile"], PROFILE_KEYS, "profile", problems)
    if "model" in data:
        _check_table(data["model"], MODEL_KEYS, "model", problems)
        _check_size_range(data["model"], problems)
    if "discovery" in data:
        _check_discovery(data["discovery"], problems)
    _check_shared(data.get("shared", {}), problems)
    claims = data.get("claims", {})
    if not isinstance(claims, dict):
        problems.append("[claims] must be a table of claim tables, e.g. [claims.CV1]")
        return problems
    for claim_id, table in claims.items():
        if not CLAIM_ID.match(claim_id):
            problems.append(f"[claims.{claim_id}] is not a claim id like CV1")
        _check_table(table, CLAIM_KEYS, f"claims.{claim_id}", problems)
    return problems
