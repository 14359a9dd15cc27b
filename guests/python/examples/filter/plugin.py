"""The reference filter, in Python: keeps prediction calls and performance
lines for the derived indices."""

from logpipe_plugin import ConfigError, Filter


class Predictions(Filter):
    name = "filter-py"
    version = "0.1.0"
    needs = ["http_method", "http_path"]
    config_keys = ["pattern"]

    def configure(self, config):
        self.pattern = config.get("pattern", "API Call - POST /predict")
        if not self.pattern:
            raise ConfigError("`pattern` must not be empty (it would keep every line)")

    def accept(self, event):
        return (
            event.fields.get("http_path") == "/predict"
            and event.fields.get("http_method") == "POST"
        ) or "performance_metrics" in event.message or self.pattern in event.message
