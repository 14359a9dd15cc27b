"""The logpipe plugin SDK for Python.

A plugin is one class: a subclass of `Filter` or `Parser` with a `name`, a
`version`, the fields it `needs` and (parsers) the `channels` it writes on, a
`configure(config)` method and `accept(event)` or `parse(event)`. The SDK turns
the host's packed batches into `Event`s and the answers back, exactly as the
Rust SDK does: an author never sees byte offsets or generated bindings.

    from logpipe_plugin import Parser

    class ErrorLines(Parser):
        name = "error-lines"
        version = "0.1.0"
        needs = ["level"]
        channels = ["errors"]

        def parse(self, event):
            if event.fields.get("level") == "ERROR":
                yield "errors", {"text": event.message}

`logpipe plugin build-py DIR` builds `DIR/plugin.py` into a component.
"""

from ._api import ConfigError, Event, EventError, Filter, Parser

__all__ = ["ConfigError", "Event", "EventError", "Filter", "Parser"]
