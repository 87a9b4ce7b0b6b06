"""The errors an intervention raises, all :class:`InterventionError` (a ``ValueError``).

They live apart from the kinds so that the value checks of
:mod:`harness.intervention_values` can raise them too; :mod:`harness.interventions`
re-exports every one, and that is where callers import them from.
"""

from __future__ import annotations


class InterventionError(ValueError):
    """An intervention that cannot apply to the layer it names."""


class ChannelOutOfRangeError(InterventionError):
    """A channel index outside ``0 .. channels - 1`` of the layer."""


class CellOutOfRangeError(InterventionError):
    """A spatial cell outside the layer's ``H x W`` map (or a layer without one)."""


class InterventionShapeError(InterventionError):
    """A vector, map or per-example tensor whose shape does not fit the layer or batch."""


class InterventionDeviceError(InterventionError):
    """A tensor on another device than the policy."""


class DirectionError(InterventionError):
    """A channel-space direction that is zero or not finite: nothing to project out."""


class NonFiniteValueError(InterventionError):
    """A NaN or infinite vector, map, coefficient or clamp value. It is refused when the
    intervention is built: applied, it would silently turn every probability into NaN."""


class NonFiniteDirectionError(NonFiniteValueError, DirectionError):
    """A direction with NaN or infinite entries (caught as either parent)."""


class InterventionTypeError(InterventionError, TypeError):
    """An argument of the wrong type (a float or bool channel, a string coefficient) that
    would otherwise be coerced silently into something the caller did not mean."""
