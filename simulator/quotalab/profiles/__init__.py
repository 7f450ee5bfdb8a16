"""Providers as data: the profile model and the TOML loader."""

from quotalab.profiles.loader import BUILTIN_PROFILES, load_config
from quotalab.profiles.profile_model import (
    ClientSpec,
    EndpointSpec,
    FaultSpec,
    LimitRule,
    ProfileSettings,
    ProviderConfig,
    ResponseSpec,
)

__all__ = [
    "BUILTIN_PROFILES",
    "ClientSpec",
    "EndpointSpec",
    "FaultSpec",
    "LimitRule",
    "ProfileSettings",
    "ProviderConfig",
    "ResponseSpec",
    "load_config",
]
