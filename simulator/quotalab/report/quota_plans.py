"""Which quota plan a report reads: the profile's ``[plans.*]`` data, by name."""

from __future__ import annotations

from quotalab.errors import InputError
from quotalab.profiles.profile_model import ProviderConfig
from quotalab.report.values import NO_QUOTA, QuotaPlan


def quota_plan(config: ProviderConfig, profile: str, name: str | None) -> QuotaPlan:
    """``--plan NAME`` of ``config``, else its first plan; ``NO_QUOTA`` when it lists none."""
    if not config.plans:
        if name is not None:
            raise InputError(f"--plan {name!r}: profile {profile!r} has no plans")
        return NO_QUOTA
    chosen = name or next(iter(config.plans))
    if chosen not in config.plans:
        known = ", ".join(config.plans)
        raise InputError(f"--plan {chosen!r} is not a plan of profile {profile!r}; use {known}")
    return QuotaPlan(f"{profile}-{chosen}", config.plans[chosen])
