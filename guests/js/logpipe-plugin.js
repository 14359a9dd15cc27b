// The logpipe plugin SDK for JavaScript (componentize-js).
//
// A plugin is one class extending `Filter` or `Parser`, with a static `info`
// ({name, version, needs, channels, configKeys}), `configure(config)` and
// `accept(event)` or `parse(event)`, exported as the module's default. The SDK
// turns the host's packed batches into `Event`s and the answers back, exactly
// as the Rust and Python SDKs do: an author never sees byte offsets.
//
//     import { Parser } from "./logpipe-plugin.js";
//
//     export default class ErrorLines extends Parser {
//       static info = { name: "error-lines", version: "0.1.0", needs: ["level"], channels: ["errors"] };
//       *parse(event) {
//         if (event.fields.level === "ERROR") yield ["errors", { text: event.message }];
//       }
//     }
//
// `logpipe plugin build-js DIR` builds `DIR/plugin.js` into a component.

/** Thrown by `configure` to refuse the configuration (the message is shown as is). */
export class ConfigError extends Error {}

/** Thrown by `accept` or `parse` to report a problem with one event. Any other
 * exception is reported the same way, prefixed by its name. */
export class EventError extends Error {}

/** One log event: its `message` and the `fields` the plugin `needs` that it has. */
export class Event {
  constructor(message, fields = {}) {
    this.message = message;
    this.fields = fields;
  }
}

/** What filters and parsers share. */
class Plugin {
  static info = { name: "", version: "0.1.0", needs: [], channels: [], configKeys: [] };

  /** Receives the keys of `info.configKeys` the operator set (an object of strings). */
  configure(config) {}
}

/** A filter: `accept(event)` says whether the line feeds the derived indices. */
export class Filter extends Plugin {
  accept(event) {
    throw new Error("a Filter must define accept(event)");
  }
}

/** A parser: `parse(event)` returns (or yields) `[channel, document]` pairs, the
 * channel a name of `info.channels` or its position, the document an object
 * (or the text of one JSON object). */
export class Parser extends Plugin {
  parse(event) {
    throw new Error("a Parser must define parse(event)");
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function describe(cls) {
  const info = { needs: [], channels: [], configKeys: [], version: "0.1.0", ...cls.info };
  if (typeof info.name !== "string" || !/^[a-z0-9-]+$/.test(info.name)) {
    throw new TypeError(`${cls.name}.info.name must be a name of [a-z0-9-]+`);
  }
  return info;
}

function reason(e) {
  if (e instanceof EventError) return e.message;
  return `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`;
}

/** Configures a new instance of `cls`; throws the refusal's text (the
 * contract's `err`). */
function configured(cls, info, pairs) {
  const config = {};
  for (const [key, value] of pairs) {
    if (!info.configKeys.includes(key)) {
      // Worded as the Rust SDK's, which `logpipe plugin check` reads.
      const known = info.configKeys.length ? info.configKeys.join(", ") : "none";
      throw `unknown configuration key \`${key}\` (known keys: ${known})`;
    }
    config[key] = value;
  }
  try {
    const plugin = new cls();
    plugin.configure(config);
    return plugin;
  } catch (e) {
    if (e instanceof ConfigError) throw e.message;
    console.error(e?.stack ?? String(e));
    throw `configure threw ${reason(e)}`;
  }
}

/** The batch's events. Spans are UTF-8 byte offsets; an ASCII text is sliced
 * directly, any other is encoded once. */
function* events(batch, needs) {
  const text = batch.text;
  const ascii = !/[^\x00-\x7f]/.test(text);
  const bytes = ascii ? null : encoder.encode(text);
  const part = ascii
    ? (s) => text.substring(s.start, s.start + s.len)
    : (s) => decoder.decode(bytes.subarray(s.start, s.start + s.len));
  const width = 1 + needs.length;
  for (let i = 0, at = 0; at < batch.parts.length; i++, at += width) {
    const fields = {};
    needs.forEach((name, j) => {
      const span = batch.parts[at + 1 + j];
      if (span !== undefined && span !== null) fields[name] = part(span);
    });
    yield [i, new Event(part(batch.parts[at]), fields)];
  }
}

/** `parse`'s answer as [channel, document] pairs, or a clear error for the
 * usual mistake (returning the document itself). */
function* pairs(answer) {
  if (answer === undefined || answer === null) return;
  if (typeof answer[Symbol.iterator] !== "function" || typeof answer === "string") {
    throw new TypeError(`parse must return or yield [channel, document] pairs, not ${typeof answer === "string" ? "a string" : "an object"}`);
  }
  for (const item of answer) {
    if (!Array.isArray(item) || item.length !== 2) {
      throw new TypeError(`parse must yield [channel, document] pairs, not ${JSON.stringify(item)?.slice(0, 60)}`);
    }
    yield item;
  }
}

/** The `filter` interface componentize-js exports for the plugin class. */
export function exportFilter(cls) {
  const info = describe(cls);
  let plugin = null;
  return {
    info: () => ({ name: info.name, version: info.version, needs: info.needs, channels: [] }),
    configure(pairs) {
      plugin = configured(cls, info, pairs);
    },
    accept(batch) {
      const keep = [];
      const errors = [];
      for (const [i, event] of events(batch, info.needs)) {
        try {
          keep.push(Boolean(plugin.accept(event)));
        } catch (e) {
          keep.push(false);
          errors.push({ event: i, reason: reason(e) });
        }
      }
      return { keep, errors };
    },
  };
}

/** The `parser` interface componentize-js exports for the plugin class. */
export function exportParser(cls) {
  const info = describe(cls);
  const channelOf = (c) => {
    const n = typeof c === "string" ? info.channels.indexOf(c) : c;
    if (!Number.isInteger(n) || n < 0 || n >= info.channels.length) {
      throw new Error(`unknown channel ${JSON.stringify(c)} (channels: ${info.channels.join(", ")})`);
    }
    return n;
  };
  let plugin = null;
  return {
    info: () => ({ name: info.name, version: info.version, needs: info.needs, channels: info.channels }),
    configure(pairs) {
      plugin = configured(cls, info, pairs);
    },
    parse(batch) {
      const texts = [];
      const documents = [];
      const errors = [];
      let at = 0;
      for (const [i, event] of events(batch, info.needs)) {
        let made;
        try {
          made = [];
          for (const [c, doc] of pairs(plugin.parse(event))) {
            made.push([channelOf(c), typeof doc === "string" ? doc : JSON.stringify(doc)]);
          }
        } catch (e) {
          errors.push({ event: i, reason: reason(e) });
          continue;
        }
        for (const [channel, json] of made) {
          const len = /[^\x00-\x7f]/.test(json) ? encoder.encode(json).length : json.length;
          documents.push({ event: i, channel, json: { start: at, len } });
          texts.push(json);
          at += len;
        }
      }
      return { text: texts.join(""), documents, errors };
    },
  };
}
