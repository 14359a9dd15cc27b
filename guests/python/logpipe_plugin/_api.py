"""What a plugin author writes against: no bindings, no byte offsets."""

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union


class ConfigError(Exception):
    """Raised by `configure` to refuse the configuration; the message is shown
    to the operator as is (say which key and what was wrong)."""


class EventError(Exception):
    """Raised by `accept` or `parse` to report a problem with one event; the
    message is logged with the line's id. Any other exception is reported the
    same way, prefixed by its type."""


class Event:
    """One log event: its `message` (the line after its header) and the
    `fields` the plugin `needs` that the event has (absent ones are missing
    from the dict, never empty strings)."""

    __slots__ = ("message", "fields")

    def __init__(self, message: str, fields: Optional[Dict[str, str]] = None):
        self.message = message
        self.fields = fields if fields is not None else {}

    def field(self, name: str) -> Optional[str]:
        """The text of field `name`, or `None` when the event lacks it."""
        return self.fields.get(name)

    def __repr__(self) -> str:
        return f"Event({self.message!r}, {self.fields!r})"


class _Plugin:
    """What filters and parsers share."""

    #: Short name, `[a-z0-9-]+`, used in configuration, metrics and error reports.
    name: str = ""
    #: The plugin's own version (semver).
    version: str = "0.1.0"
    #: Fields besides the message the plugin wants: `timestamp`, `level`,
    #: `logger`, or a scalar field an earlier stage produced (`http_method`).
    needs: List[str] = []
    #: The configuration keys the plugin takes; any other key is refused
    #: before `configure` is called (and `logpipe plugin check` lists these).
    config_keys: List[str] = []

    def configure(self, config: Mapping[str, str]) -> None:
        """Receives the configuration once, before any event: the keys of
        `config_keys` that the operator set, with their text. Raise
        `ConfigError` to refuse it. The default takes it as it is."""


class Filter(_Plugin):
    """A filter: `accept(event)` returns whether the line feeds the derived
    indices."""

    def accept(self, event: Event) -> bool:
        raise NotImplementedError("a Filter must define accept(self, event)")


#: What `Parser.parse` may produce for one event: pairs of a channel (its name
#: or its position in `channels`) and a document (a dict, or the text of one
#: JSON object).
Documents = Optional[Iterable[Tuple[Union[str, int], Union[Dict[str, Any], str]]]]


class Parser(_Plugin):
    """A parser: `parse(event)` returns (or yields) `(channel, document)`
    pairs; nothing (or `None`) when the event makes no document."""

    #: The names of the channels the plugin writes documents on; the host's
    #: configuration maps each to an index.
    channels: List[str] = []

    def parse(self, event: Event) -> Documents:
        raise NotImplementedError("a Parser must define parse(self, event)")
