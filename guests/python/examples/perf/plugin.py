"""The reference performance parser, in Python: the `ml-api-perfs` document of
a performance line, and its transaction id for the line's own document."""

import json

from logpipe_plugin import EventError, Parser


def _not_json(constant):
    raise ValueError(f"{constant} is not JSON")


class Perf(Parser):
    name = "perf-py"
    version = "0.1.0"
    channels = ["metrics", "fields"]

    def parse(self, event):
        if not event.message.startswith("{"):
            return
        try:
            line = json.loads(event.message, parse_constant=_not_json)
        except ValueError as e:
            if '"performance_metrics"' in event.message:
                raise EventError(f"performance line is not valid JSON: {e}")
            return
        metrics = line.get("performance_metrics")
        if not isinstance(metrics, dict):
            return
        if not isinstance(metrics.get("top_functions", []), list):
            raise EventError(f"top_functions is not a list: {metrics['top_functions']!r}")
        if "transaction_id" in metrics:
            tx = {"transaction_id": metrics.pop("transaction_id")}
            yield "metrics", tx | metrics
            yield "fields", tx
        else:
            yield "metrics", metrics
