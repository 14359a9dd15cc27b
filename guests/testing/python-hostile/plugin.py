"""A Python parser that misbehaves on purpose, for the sandbox tests.

Every event gives `{"message": ...}` on channel `out`, except those whose
message contains TRIGGER, on which it does what `mode` says: `loop` forever,
`alloc` memory until refused, `raise` an exception, return a `dict` instead
of (channel, document) pairs. `mode = "configure"`
raises while being configured, after printing to stderr. `mode = "escape"`
reports, as the TRIGGER event's document, what reaching outside the sandbox
gave: a file, the network, the environment.
"""

import os
import socket
import sys

from logpipe_plugin import Parser

MODES = ("loop", "alloc", "raise", "configure", "escape", "dict")


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
            if self.mode == "escape":
                return [("out", escape())]
            if self.mode == "dict":
                # The usual mistake: the document instead of (channel, document) pairs.
                return {"message": event.message}
            raise RuntimeError("refusing this event")
        return [("out", {"message": event.message})]

def attempt(action):
    """What `action` gave: `ok: ...` or the exception's type."""
    try:
        return f"ok: {action()!r}"[:200]
    except Exception as e:
        return type(e).__name__


def escape():
    def connect():
        with socket.create_connection(("127.0.0.1", 9), timeout=1) as s:
            return s.getpeername()

    return {
        "read_file": attempt(lambda: open("/etc/passwd").read()),
        "write_file": attempt(lambda: open("/tmp/logpipe-escape", "w").write("x")),
        "list_root": attempt(lambda: os.listdir("/")),
        "connect": attempt(connect),
        "resolve": attempt(lambda: socket.getaddrinfo("localhost", 80)),
        "environment": dict(os.environ),
        "argv": list(sys.argv),
    }
