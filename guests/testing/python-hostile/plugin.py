"""A Python parser that misbehaves on purpose, for the sandbox tests.

Every event gives `{"message": ...}` on channel `out`, except those whose
message contains TRIGGER, on which it does what `mode` says: `loop` forever,
`alloc` memory until refused, `raise` an exception. `mode = "configure"`
raises while being configured, after printing to stderr.
"""

import sys

from logpipe_plugin import Parser

MODES = ("loop", "alloc", "raise", "configure")


class Hostile(Parser):
    name = "python-hostile"
    version = "0.1.0"
    channels = ["out"]
    config_keys = ["mode"]

    def configure(self, config):
        self.mode = config.get("mode", "raise")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mode == "configure":
            print("about to fail in configure", file=sys.stderr)
            {}["no-such-key"]

    def parse(self, event):
        if "TRIGGER" in event.message:
            if self.mode == "loop":
                while True:
                    pass
            if self.mode == "alloc":
                hog = []
                while True:
                    hog.append(bytearray(1 << 20))
            raise RuntimeError("refusing this event")
        yield "out", {"message": event.message}
