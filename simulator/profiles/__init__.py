"""Providers as data: the profile model and the TOML loader."""

from simulator.profiles.loader import BUILTIN_PROFILES, load_config
from simulator.profiles.model import (
    ClientSpec,
    EndpointSpec,
    FaultSpec,
    LimitRule,
    ProviderConfig,
    ProviderSettings,
    ResponseSpec,
)

__all__ = [
    "BUILTIN_PROFILES",
    "ClientSpec",
    "EndpointSpec",
    "FaultSpec",
    "LimitRule",
    "ProviderConfig",
    "ProviderSettings",
    "ResponseSpec",
    "load_config",
]
