"""Glue between an author's plugin class and the bindings componentize-py
generates for `logpipe:plugin@0.2.0` (package `wit_world`).

The entry module written by `logpipe plugin build-py` calls `export_filter` or
`export_parser` with the author's module; the class returned is the one
componentize-py exports. Imported at build time (componentize-py runs the
module's top level then), so a plugin file without exactly one plugin class
fails the build, not the first batch.
"""

import json
import sys
import traceback
from typing import Callable, List, Optional

from componentize_py_types import Err

from ._api import ConfigError, Event, EventError, Filter, Parser

_to_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def plugin_class(module, base: type) -> type:
    """The one subclass of `base` defined in `module`."""
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, base)
        and value is not base
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise TypeError(
            f"{module.__name__}.py must define exactly one subclass of "
            f"logpipe_plugin.{base.__name__} (found: {names})"
        )
    cls = found[0]
    if not isinstance(cls.name, str) or not cls.name:
        raise TypeError(f"{cls.__name__}.name must be a non-empty string ([a-z0-9-]+)")
    return cls


def _configure(cls: type, config) -> object:
    """An instance of `cls`, configured, or `Err` with the reason. Anything but
    a `ConfigError` also prints its traceback, which the host shows."""
    config = dict(config)
    unknown = [key for key in config if key not in cls.config_keys]
    if unknown:
        # Worded as the Rust SDK's, which `logpipe plugin check` reads.
        known = ", ".join(cls.config_keys) or "none"
        raise Err(f"unknown configuration key `{unknown[0]}` (known keys: {known})")
    try:
        plugin = cls()
        plugin.configure(config)
        return plugin
    except ConfigError as e:
        raise Err(str(e))
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        raise Err(f"configure raised {type(e).__name__}: {e}")


def _reason(e: Exception) -> str:
    if isinstance(e, EventError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _pairs(answer):
    """`parse`'s answer as (channel, document) pairs, or a clear error for
    the usual mistakes (returning the document itself)."""
    if answer is None:
        return
    if isinstance(answer, (dict, str, bytes)):
        raise TypeError(
            f"parse must return or yield (channel, document) pairs, not a {type(answer).__name__}"
        )
    for item in answer:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"parse must yield (channel, document) pairs, not {item!r:.60}")
        yield item


def _events(batch, needs: List[str]):
    """The batch's events, as (position, Event)."""
    text = batch.text
    parts = batch.parts
    if text.isascii():
        # Byte offsets are character offsets: slice the string itself.
        def part(span) -> str:
            return text[span.start : span.start + span.len]
    else:
        raw = text.encode()

        def part(span) -> str:
            return raw[span.start : span.start + span.len].decode()

    width = 1 + len(needs)
    for i in range(len(parts) // width):
        at = i * width
        fields = {}
        for j, name in enumerate(needs):
            span = parts[at + 1 + j]
            if span is not None:
                fields[name] = part(span)
        yield i, Event(part(parts[at]), fields)


def export_filter(module) -> type:
    """The class componentize-py exports for world `filter-plugin`."""
    from wit_world.exports import filter as wit
    from wit_world.imports import types

    cls = plugin_class(module, Filter)
    needs = list(cls.needs)
    state: List[Optional[Filter]] = [None]

    class Export:
        def info(self):
            return types.PluginInfo(cls.name, cls.version, needs, [])

        def configure(self, config) -> None:
            state[0] = _configure(cls, config)

        def accept(self, batch):
            plugin = state[0]
            keep = []
            errors = []
            for i, event in _events(batch, needs):
                try:
                    keep.append(bool(plugin.accept(event)))
                except Exception as e:
                    keep.append(False)
                    errors.append(types.EventError(i, _reason(e)))
            return wit.Decisions(keep, errors)

    return Export


def export_parser(module) -> type:
    """The class componentize-py exports for world `parser-plugin`."""
    from wit_world.exports import parser as wit
    from wit_world.imports import types

    cls = plugin_class(module, Parser)
    needs = list(cls.needs)
    channels = list(cls.channels)
    channel_of = {name: n for n, name in enumerate(channels)}
    state: List[Optional[Parser]] = [None]

    def channel(c) -> int:
        if isinstance(c, str):
            n = channel_of.get(c)
            if n is None:
                raise ValueError(f"unknown channel {c!r} (channels: {channels})")
            return n
        if isinstance(c, int) and 0 <= c < len(channels):
            return c
        raise ValueError(f"channel {c!r} is neither a name nor a position in {channels}")

    class Export:
        def info(self):
            return types.PluginInfo(cls.name, cls.version, needs, channels)

        def configure(self, config) -> None:
            state[0] = _configure(cls, config)

        def parse(self, batch):
            plugin = state[0]
            texts: List[str] = []
            documents = []
            errors = []
            at = 0
            for i, event in _events(batch, needs):
                try:
                    made = []
                    for c, doc in _pairs(plugin.parse(event)):
                        text = doc if isinstance(doc, str) else _to_json(doc)
                        made.append((channel(c), text))
                except Exception as e:
                    errors.append(types.EventError(i, _reason(e)))
                    continue
                for c, text in made:
                    size = len(text) if text.isascii() else len(text.encode())
                    documents.append(wit.Document(i, c, types.Span(at, size)))
                    texts.append(text)
                    at += size
            return wit.Parsed("".join(texts), documents, errors)

    return Export
