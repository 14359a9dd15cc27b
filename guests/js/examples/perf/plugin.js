// The reference performance parser, in JavaScript: the `ml-api-perfs`
// document of a performance line, and its transaction id for the line's own
// document. (Numbers go through JavaScript numbers: 0.0 is written 0.)
import { EventError, Parser } from "./logpipe-plugin.js";

export default class Perf extends Parser {
  static info = { name: "perf-js", version: "0.1.0", channels: ["metrics", "fields"] };

  *parse(event) {
    if (!event.message.startsWith("{")) return;
    let line;
    try {
      line = JSON.parse(event.message);
    } catch (e) {
      if (event.message.includes('"performance_metrics"')) {
        throw new EventError(`performance line is not valid JSON: ${e.message}`);
      }
      return;
    }
    const metrics = line.performance_metrics;
    if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) return;
    if ("top_functions" in metrics && !Array.isArray(metrics.top_functions)) {
      throw new EventError(`top_functions is not a list: ${JSON.stringify(metrics.top_functions)}`);
    }
    if ("transaction_id" in metrics) {
      const { transaction_id, ...rest } = metrics;
      yield ["metrics", { transaction_id, ...rest }];
      yield ["fields", { transaction_id }];
    } else {
      yield ["metrics", metrics];
    }
  }
}
