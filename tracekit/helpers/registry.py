"""Which vendor adapter handles a payload: detection by shape, or selection by provider/api_type.

Adapters are tried in `ADAPTERS` order; the first whose `is_response` / `is_chunk` accepts the
payload wins. When none does, UnsupportedPayloadError lists what each API's check looks for
(the first docstring line of its `is_response` / `is_chunk`, so the message never drifts from
the code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tracekit.errors import UnsupportedPayloadError
from tracekit.helpers import anthropic, gemini, openai_chat, openai_responses
from tracekit.helpers.base import VendorAdapter

__all__ = ["ADAPTERS", "adapter_for", "adapters_for", "detect_chunk", "detect_response"]

ADAPTERS: Final[tuple[VendorAdapter, ...]] = (openai_chat, openai_responses, anthropic, gemini)
"""Every vendor adapter, in detection order."""

_PROVIDER_ALIASES: Final = {"gemini": "google", "azure": "openai", "azure_openai": "openai"}


def _summary(func: Any) -> str:
    doc = (getattr(func, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


_FOUND: dict[tuple[str | None, str | None], tuple[VendorAdapter, ...]] = {}
"""adapters_for's answers so far (asked on every recorded call, always with a handful of names)."""


def adapters_for(provider: str | None = None, api_type: str | None = None) -> tuple[VendorAdapter, ...]:
    """The adapters matching `provider` and/or `api_type` (all of them when both are None)."""
    if (provider is None or type(provider) is str) and (api_type is None or type(api_type) is str):
        key = (provider, api_type)
        found = _FOUND.get(key)
        if found is None:
            found = _FOUND[key] = _adapters_for(provider, api_type)
        return found
    return _adapters_for(provider, api_type)


def _adapters_for(provider: str | None, api_type: str | None) -> tuple[VendorAdapter, ...]:
    for name, value in (("provider", provider), ("api_type", api_type)):
        if value is not None and not isinstance(value, str):
            raise UnsupportedPayloadError(
                f"{name} must be a str or None, got {type(value).__name__} {value!r:.60}; "
                "pass the vendor's name, such as 'openai', or leave it out"
            )
    if provider is not None:
        provider = _PROVIDER_ALIASES.get(provider.lower(), provider.lower())
    found = tuple(
        a
        for a in ADAPTERS
        if (provider is None or provider == a.PROVIDER) and (api_type is None or api_type == a.API_TYPE)
    )
    if not found:
        known = ", ".join(f"{a.PROVIDER}/{a.API_TYPE}" for a in ADAPTERS)
        raise UnsupportedPayloadError(
            f"no adapter for provider={provider!r}, api_type={api_type!r}; known provider/api_type "
            f"pairs: {known}. Pass one of them, or neither to detect the API from the payload."
        )
    return found


def adapter_for(provider: str | None = None, api_type: str | None = None) -> VendorAdapter:
    """The one adapter for `provider`/`api_type`; UnsupportedPayloadError if none or several match."""
    found = adapters_for(provider, api_type)
    if len(found) > 1:
        choices = ", ".join(repr(a.API_TYPE) for a in found)
        raise UnsupportedPayloadError(
            f"provider={provider!r}, api_type={api_type!r} matches several APIs ({choices}); "
            "pass api_type to pick one"
        )
    return found[0]


def _keys(payload: Mapping[str, Any]) -> str:
    keys = list(payload)
    shown = ", ".join(repr(k) for k in keys[:12])
    return shown + (f", ... ({len(keys)} keys)" if len(keys) > 12 else "")


def detect_response(
    payload: Mapping[str, Any], candidates: tuple[VendorAdapter, ...] = ADAPTERS
) -> VendorAdapter:
    """The adapter whose `is_response` accepts `payload`; UnsupportedPayloadError naming what each
    API looks for when none does."""
    for adapter in candidates:
        if adapter.is_response(payload):
            return adapter
    looked = "; ".join(f"{a.API_TYPE}: {_summary(a.is_response)}" for a in candidates)
    raise UnsupportedPayloadError(
        f"unrecognised response payload with keys [{_keys(payload)}]. Looked for: {looked}. "
        "Pass the vendor's response JSON (or SDK object), or give provider=/api_type= explicitly."
    )


def detect_chunk(chunk: Mapping[str, Any], candidates: tuple[VendorAdapter, ...] = ADAPTERS) -> VendorAdapter:
    """The adapter whose `is_chunk` accepts `chunk`; UnsupportedPayloadError naming what each API
    looks for when none does."""
    for adapter in candidates:
        if adapter.is_chunk(chunk):
            return adapter
    looked = "; ".join(f"{a.API_TYPE}: {_summary(a.is_chunk)}" for a in candidates)
    raise UnsupportedPayloadError(
        f"unrecognised stream chunk with keys [{_keys(chunk)}]. Looked for: {looked}. "
        "Pass the stream's chunks/events as sent (dicts or SDK objects), or give provider=/api_type=."
    )
