// The reference filter, in JavaScript: keeps prediction calls and performance
// lines for the derived indices.
import { ConfigError, Filter } from "./logpipe-plugin.js";

export default class Predictions extends Filter {
  static info = {
    name: "filter-js",
    version: "0.1.0",
    needs: ["http_method", "http_path"],
    configKeys: ["pattern"],
  };

  configure(config) {
    this.pattern = config.pattern ?? "API Call - POST /predict";
    if (!this.pattern) throw new ConfigError("`pattern` must not be empty (it would keep every line)");
  }

  accept(event) {
    return (
      (event.fields.http_path === "/predict" && event.fields.http_method === "POST") ||
      event.message.includes("performance_metrics") ||
      event.message.includes(this.pattern)
    );
  }
}
