"""Load a provider profile from the shipped TOML plus an optional user file.

The shipped profile (``auth0.toml``, ``twitter.toml``, ``entra.toml``,
``okta.toml``) and the demo clients
(``demo.toml``) are merged with the user's ``--config`` file, key by key, so a
user can override any single value or define a whole new provider. Every
problem raises ``ConfigError(file, key, expected)`` naming the file that set
the offending key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from quotalab.errors import ConfigError
from quotalab.profiles.profile_model import ProviderConfig
from quotalab.profiles.schema import ALGORITHM_KEYS, ConfigReader, fault_from_json
from quotalab.user_files import UnusableText, read_text, read_toml

BUILTIN_PROFILES = ("auth0", "twitter", "entra", "okta")
__all__ = ["BUILTIN_PROFILES", "fault_from_json", "load_config"]


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return read_toml(text)
    except UnusableText as error:
        raise ConfigError(source, "", f"not valid TOML ({error})") from None


def _builtin(name: str) -> tuple[dict[str, Any], str]:
    source = f"<builtin {name}.toml>"
    text = resources.files("quotalab.profiles").joinpath(f"{name}.toml").read_text("utf-8")
    return _read_toml(text, source), source


def _merge(
    base: dict[str, Any], extra: dict[str, Any], source: str, origins: dict[str, str], path: str
) -> None:
    """Merge ``extra`` into ``base`` in place, remembering which file set each key."""
    for key, value in extra.items():
        dotted = f"{path}.{key}" if path else key
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, source, origins, dotted)
        else:
            base[key] = value
            _record(value, source, origins, dotted)


def _record(value: Any, source: str, origins: dict[str, str], dotted: str) -> None:
    origins[dotted] = source
    if isinstance(value, dict):
        for key, inner in value.items():
            _record(inner, source, origins, f"{dotted}.{key}")


def _drop_replaced_algorithms(
    user: dict[str, Any], base: dict[str, Any], source: str, origins: dict[str, str]
) -> None:
    """A user limit naming another ``algorithm`` than its base limit replaces the base's
    algorithm keys (a bucket's ``burst`` means nothing to a window) instead of merging
    with them; the keys every algorithm shares (``key``, ``reject``, ...) stay."""
    user_limits, base_limits = user.get("limits"), base.get("limits")
    if not isinstance(user_limits, dict) or not isinstance(base_limits, dict):
        return
    for name, table in user_limits.items():
        held = base_limits.get(name)
        if not isinstance(table, dict) or not isinstance(held, dict):
            continue
        if "algorithm" not in table or table["algorithm"] == held.get("algorithm"):
            continue
        for key in {k for keys in ALGORITHM_KEYS.values() for k in keys}:
            held.pop(key, None)
            origins.pop(f"limits.{name}.{key}", None)
        origins[f"limits.{name}"] = source  # a key it now lacks is the user's to give


def _check_same_provider(
    user: dict[str, Any], base: dict[str, Any], profile: str, source: str
) -> None:
    """A user file naming another provider than its base profile is a new provider
    written over the base one, whose endpoints, limits and clients it would keep: a
    provider is written from scratch (``profile = "none"``) or on its own profile."""
    provider = user.get("provider")
    name = provider.get("name") if isinstance(provider, dict) else None
    base_name = base.get("provider", {}).get("name")
    if profile == "none" or not isinstance(name, str) or name == base_name:
        return
    hint = f'profile = "{name}"' if name in BUILTIN_PROFILES else 'profile = "none"'
    raise ConfigError(
        source,
        "provider.name",
        f"{name!r} is not the {base_name!r} profile this file is merged over (its endpoints, "
        f"limits and clients would stay); start the file with {hint}",
    )


def load_config(
    profile: str = "auth0", config_path: str | Path | None = None, *, demo: bool = True
) -> ProviderConfig:
    """Build a ``ProviderConfig`` for ``profile``, overridden by ``config_path``.

    The user file may hold a top-level ``profile = "twitter"`` to pick the base,
    or ``profile = "none"`` to describe a provider from scratch.
    """
    user: dict[str, Any] = {}
    user_source = ""
    if config_path is not None:
        user_source = str(config_path)
        try:
            text = read_text(config_path)
        except OSError as error:
            raise ConfigError(user_source, "", f"cannot be read ({error.strerror})") from None
        except UnicodeDecodeError as error:
            raise ConfigError(user_source, "", f"not UTF-8 text (byte {error.start})") from None
        user = _read_toml(text, user_source)
        chosen = user.pop("profile", None)
        if chosen is not None:
            if not isinstance(chosen, str) or chosen not in (*BUILTIN_PROFILES, "none"):
                known = ", ".join((*BUILTIN_PROFILES, "none"))
                raise ConfigError(user_source, "profile", f"one of {known}")
            profile = chosen
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    sources: list[str] = []
    if profile != "none":
        if profile not in BUILTIN_PROFILES:
            raise ConfigError(
                "--profile",
                "",
                f"{profile!r} is not a built-in profile; "
                f"expected one of {', '.join(BUILTIN_PROFILES)}",
            )
        base, source = _builtin(profile)
        _merge(merged, base, source, origins, "")
        sources.append(source)
        if demo:
            demo_all, demo_source = _builtin("demo")
            demo_part = demo_all.get(profile, {})
            _merge(merged, demo_part, demo_source, origins, "")
            sources.append(demo_source)
    if user_source:
        _check_same_provider(user, merged, profile, user_source)
        _drop_replaced_algorithms(user, merged, user_source, origins)
        _merge(merged, user, user_source, origins, "")
        sources.append(user_source)
    return ConfigReader(merged, origins, sources[-1] if sources else "<config>").build(
        tuple(sources)
    )
