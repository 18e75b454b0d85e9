"""Which connector class serves which account kind: the built-ins and third-party connectors
registered under the ``aduan.connectors`` entry-point group, each imported on first use.
"""
from __future__ import annotations

import importlib
from importlib import metadata

from connectors.base import Connector

BUILTIN_CONNECTORS: dict[str, str] = {
    "sandbox": "connectors.sandbox:SandboxConnector",
    "x": "connectors.x:XConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "instagram": "connectors.instagram:InstagramConnector",
    "telegram": "connectors.telegram:TelegramConnector",
    "whatsapp": "connectors.whatsapp:WhatsAppConnector",
    "email": "connectors.email:EmailConnector",
}

ENTRY_POINT_GROUP = "aduan.connectors"


class RegistryError(Exception):
    pass


def registered_kinds() -> dict[str, str]:
    """Every connector kind and its ``module:Class`` path; a duplicate kind is refused loudly."""
    kinds = dict(BUILTIN_CONNECTORS)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in kinds:
            raise RegistryError(
                f"connector kind {ep.name!r} from {ep.value} is already provided by {kinds[ep.name]}")
        kinds[ep.name] = ep.value
    return kinds


_loaded: dict[str, type[Connector]] = {}


def connector_class(kind: str) -> type[Connector]:
    """Import the connector class for ``kind`` on first use; raises RegistryError."""
    if kind in _loaded:
        return _loaded[kind]
    kinds = registered_kinds()
    if kind not in kinds:
        raise RegistryError(f"unknown account kind {kind!r} (known: {', '.join(sorted(kinds))})")
    module_name, _, attr = kinds[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)) or cls.kind != kind:
        raise RegistryError(f"{kinds[kind]} is not a Connector of kind {kind!r}")
    _loaded[kind] = cls
    return cls
