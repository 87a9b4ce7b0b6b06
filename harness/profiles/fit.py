"""Does a profile fit the checkpoint it is run on, and does it name only real claims?

A profile is a set of facts about one checkpoint. Run on another (the original's scale-4
profile on a scale-1 policy), its channel numbers point at unrelated channels and its
published values are printed beside verdicts about a different network, so the run is
refused before any claim starts. A claim id the suite does not have is a typo whose values
would be ignored silently, so it is refused too, with the closest ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from harness.profiles import Profile


def fit_problems(
    profile: Profile, scale: int, layer_channels: Mapping[str, int], checkpoint: str
) -> list[str]:
    """Every way ``profile`` contradicts the checkpoint (its channel scale, and the channel
    count of each layer it names), in words; ``layer_channels`` maps hook labels to channels."""
    problems = []
    declared = profile.model.channel_scale
    if declared is not None and declared != scale:
        problems.append(
            f"profile {profile.name!r} is written for channel scale {declared:g} "
            f"({int(16 * declared)} channels in block 1), but checkpoint {checkpoint} has "
            f"scale {scale} ({16 * scale} channels): choose this checkpoint's profile with "
            f"--profile, or draft one with `python -m harness discover-channels`"
        )
        return problems  # every channel number below would be wrong for the same reason
    for where, layer, channels in _channel_facts(profile):
        if layer is None:
            continue
        if layer not in layer_channels:
            close = difflib.get_close_matches(layer, list(layer_channels), n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            problems.append(f"{where}: layer {layer!r} is not a layer of {checkpoint}{hint}")
            continue
        count = layer_channels[layer]
        bad = sorted(c for c in channels if c >= count)
        if bad:
            problems.append(
                f"{where}: channels {bad} do not exist at {layer} of {checkpoint}, which has "
                f"{count} channels (0..{count - 1})"
            )
    return problems


def _channel_facts(profile: Profile) -> Iterable[tuple[str, str | None, tuple[int, ...]]]:
    model = profile.model
    for key in ("cheese_channels", "effective_channels", "non_cheese_channels"):
        values = getattr(model, key)
        if values:
            yield f"profile {profile.name!r} [model] {key}", model.layer, tuple(values)
    retargeting = profile.tables.get("retargeting", {})
    if retargeting.get("channels"):
        where = f"profile {profile.name!r} [shared.retargeting] channels"
        yield where, model.layer, tuple(retargeting["channels"])
    for claim_id, params in sorted(profile.claims.items()):
        layer = params.layer or model.layer
        if params.layer is not None or params.channels:
            yield f"profile {profile.name!r} [claims.{claim_id}]", layer, params.channels or ()


def unknown_claim_ids(profile: Profile, known: Iterable[str]) -> list[str]:
    """The profile's ``[claims.<ID>]`` sections that name no claim in ``known``, each with
    the closest known ids."""
    known = sorted(set(known))
    problems = []
    for claim_id in sorted(set(profile.claims) - set(known)):
        close = difflib.get_close_matches(claim_id, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        problems.append(
            f"profile {profile.name!r} has [claims.{claim_id}], but no claim {claim_id} is "
            f"collected or listed in the generic profile{hint}"
        )
    return problems
