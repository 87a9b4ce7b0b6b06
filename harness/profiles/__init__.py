"""Per-checkpoint claim parameters (TOML profiles): loading, checking, choosing.

The active profile is chosen by ``--profile`` (a bundled profile's name or a path to a
``.toml`` file) or, without it, by the checkpoint's sha256 listed in a bundled profile's
``checkpoint_sha256``. Bundled profiles live next to this module (``harness/profiles/*.toml``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.profiles.schema import profile_problems

PROFILE_DIR = Path(__file__).resolve().parent


class ProfileError(ValueError):
    """A profile that cannot be found, parsed, or that breaks the schema (problems named)."""


@dataclass(frozen=True)
class ClaimParams:
    """One claim's table of a profile. Absent keys are None; ``require`` names what's missing."""

    claim_id: str
    profile: str
    threshold: float | None = None
    margin: float | tuple[float, float] | None = None
    alternative: str | None = None
    coefficient: float | None = None
    coefficients: tuple[float, ...] | None = None
    channels: tuple[int, ...] | None = None
    layer: str | None = None
    n: int | Mapping[str, int] | None = None
    published: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Ground truth (planted policies): the verdict this claim must get, by construction.
    expect: str | None = None
    #: Why the threshold and margin are what they are, in the claim's own words (reported).
    rationale: str | None = None
    #: The effect change a regression check tolerates: a number, or numbers by variant.
    regression_tolerance: float | Mapping[str, float] | None = None

    def tolerance_for(self, variant: str | None) -> float | None:
        """The declared regression tolerance of one variant (``CH3[distance]``: "distance")."""
        value = self.regression_tolerance
        if isinstance(value, Mapping):
            return value.get(variant or "", value.get("default"))
        return value

    def require(self, key: str) -> Any:
        """The value of ``key`` (a field or a ``params`` entry), or a ProfileError naming it."""
        value = getattr(self, key, None) if key in self.__dataclass_fields__ else None
        if value is None:
            value = self.params.get(key)
        if value is None:
            raise ProfileError(
                f"profile {self.profile!r} has no {key!r} for claim {self.claim_id} "
                f"(add it under [claims.{self.claim_id}] or [claims.{self.claim_id}.params])"
            )
        return value


@dataclass(frozen=True)
class TableParams:
    """A table several claims read (``[shared.<table>]``, e.g. the retargeting clamp values
    of CH3 and CH4): one place for a parameter, never another claim's section."""

    table: str
    profile: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def require(self, key: str) -> Any:
        """The value of ``key``, or a ProfileError naming the table."""
        if self.values.get(key) is None:
            raise ProfileError(f"profile {self.profile!r} has no {key!r} in [shared.{self.table}]")
        return self.values[key]


@dataclass(frozen=True)
class ModelParams:
    layer: str | None = None
    cheese_channels: tuple[int, ...] | None = None
    effective_channels: tuple[int, ...] | None = None
    non_cheese_channels: tuple[int, ...] | None = None
    channel_scale: float | None = None
    min_size: int | None = None
    max_size: int | None = None
    coverage_note: str | None = None


@dataclass(frozen=True)
class DiscoveryParams:
    """Where the profile's channels were selected (its ``[discovery]`` table)."""

    base_seed: int
    mazes: int
    last_seed: int | None = None
    min_size: int | None = None
    placements: int | None = None
    tolerance: int | None = None
    min_rate: float | None = None


def _fill(specific: Any, general: Any) -> Any:
    """A copy of the dataclass ``specific`` whose None fields take ``general``'s values."""
    changes = {
        f: getattr(general, f)
        for f in specific.__dataclass_fields__
        if getattr(specific, f) is None and f not in ("claim_id", "profile")
    }
    return replace(specific, **changes)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path | None
    description: str = ""
    #: What every verdict on this checkpoint is about, for the report's run header.
    caveat: str = ""
    checkpoint_sha256: tuple[str, ...] = ()
    model: ModelParams = ModelParams()
    claims: Mapping[str, ClaimParams] = field(default_factory=dict)
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Where the channels were selected; never inherited from the defaults (a fact of the
    #: profile's own checkpoint).
    discovery: DiscoveryParams | None = None

    def claim(self, claim_id: str) -> ClaimParams:
        """Parameters of one claim; an empty section (all None) when the profile has none."""
        return self.claims.get(claim_id, ClaimParams(claim_id=claim_id, profile=self.name))

    def shared(self, table: str) -> TableParams:
        """A shared table (``[shared.<table>]``); empty when the profile has none."""
        return TableParams(table, self.name, dict(self.tables.get(table, {})))

    def with_defaults(self, defaults: Profile) -> Profile:
        """This profile with every key it leaves out taken from ``defaults`` (per claim and
        for the model; ``params`` tables are merged key by key, this profile winning)."""
        claims = dict(self.claims)
        for claim_id, general in defaults.claims.items():
            own = self.claim(claim_id)
            merged = _fill(own, general)
            claims[claim_id] = replace(merged, params={**general.params, **own.params})
        tables = {
            name: {**defaults.tables.get(name, {}), **self.tables.get(name, {})}
            for name in dict.fromkeys([*defaults.tables, *self.tables])
        }
        return replace(self, model=_fill(self.model, defaults.model), claims=claims, tables=tables)


def _tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def profile_from_dict(data: Mapping[str, Any], path: Path | None = None) -> Profile:
    """Check ``data`` against the schema and build a Profile (ProfileError lists problems)."""
    where = str(path) if path is not None else "profile"
    problems = profile_problems(data)
    if problems:
        raise ProfileError(f"{where}: " + "; ".join(problems))
    head = data["profile"]
    name = head["name"]
    model = data.get("model", {})
    claims = {}
    for claim_id, table in data.get("claims", {}).items():
        margin = table.get("margin")
        claims[claim_id] = ClaimParams(
            claim_id=claim_id,
            profile=name,
            threshold=table.get("threshold"),
            margin=tuple(margin) if isinstance(margin, list) else margin,
            alternative=table.get("alternative"),
            coefficient=table.get("coefficient"),
            coefficients=_tuple(table.get("coefficients")),
            channels=_tuple(table.get("channels")),
            layer=table.get("layer"),
            n=table.get("n"),
            published=table.get("published"),
            params=dict(table.get("params", {})),
            expect=table.get("expect"),
            rationale=table.get("rationale"),
            regression_tolerance=table.get("regression_tolerance"),
        )
    return Profile(
        name=name,
        path=path,
        description=head.get("description", ""),
        caveat=head.get("caveat", ""),
        checkpoint_sha256=tuple(head.get("checkpoint_sha256", ())),
        model=ModelParams(
            layer=model.get("layer"),
            cheese_channels=_tuple(model.get("cheese_channels")),
            effective_channels=_tuple(model.get("effective_channels")),
            non_cheese_channels=_tuple(model.get("non_cheese_channels")),
            channel_scale=model.get("channel_scale"),
            min_size=model.get("min_size"),
            max_size=model.get("max_size"),
            coverage_note=model.get("coverage_note"),
        ),
        claims=claims,
        tables={name: dict(table) for name, table in data.get("shared", {}).items()},
        discovery=DiscoveryParams(**data["discovery"]) if "discovery" in data else None,
    )


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return profile_from_dict(data, path)


def bundled_profiles(directories: Iterable[Path] = (PROFILE_DIR,)) -> list[Profile]:
    """Every profile in the given directories, sorted by file name."""
    profiles = []
    for directory in directories:
        profiles.extend(load_profile(p) for p in sorted(Path(directory).glob("*.toml")))
    return profiles


def resolve_profile(
    choice: str | None,
    checkpoint_sha256: str | None = None,
    directories: Iterable[Path] = (PROFILE_DIR,),
) -> Profile:
    """``--profile`` (path or bundled name) if given, else the profile listing the hash."""
    directories = tuple(directories)
    if choice:
        path = Path(choice)
        if path.suffix == ".toml" or path.exists():
            return load_profile(path)
        known = bundled_profiles(directories)
        for profile in known:
            if profile.name == choice:
                return profile
        names = ", ".join(p.name for p in known) or "none"
        raise ProfileError(f"no profile named {choice!r} (bundled profiles: {names})")
    if checkpoint_sha256 is None:
        raise ProfileError(
            "no profile chosen: pass --profile NAME|PATH, or load a checkpoint whose sha256 "
            "is listed in a bundled profile"
        )
    digest = checkpoint_sha256.lower()
    matches = [p for p in bundled_profiles(directories) if digest in p.checkpoint_sha256]
    if len(matches) > 1:
        raise ProfileError(
            f"checkpoint {digest[:12]}... is listed by several profiles: "
            f"{', '.join(p.name for p in matches)}; choose one with --profile"
        )
    if not matches:
        raise ProfileError(
            f"no bundled profile lists checkpoint sha256 {digest}; pass --profile NAME|PATH"
        )
    return matches[0]


__all__ = [
    "PROFILE_DIR",
    "ClaimParams",
    "DiscoveryParams",
    "ModelParams",
    "Profile",
    "ProfileError",
    "TableParams",
    "bundled_profiles",
    "load_profile",
    "profile_from_dict",
    "resolve_profile",
]
