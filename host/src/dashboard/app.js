// logpipe dashboard: a thin client of /api/... drawing with plotly.js.
// Every chart gets data-series and data-points once drawn (what tests read);
// errors are shown in #errors, never only in the console. Each tab shows its
// figures and tables first, then its charts: plotly.js is loaded after the
// first of those, so that the page has its data before the library is compiled.
"use strict";

let plotlyLoading = null;
// plotly.js, loaded once, on the first chart.
function plotly() {
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/assets/plotly.js";
      script.onload = resolve;
      script.onerror = () => reject(new Error("plotly.js could not be loaded"));
      document.head.appendChild(script);
    });
  }
  return plotlyLoading;
}

// When the first tab's figures were on the page, from navigation start (BENCHMARKS.md).
function markFirstRender() {
  if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = Math.round(performance.now());
}

const RANGES = { "15m": 15 * 60e3, "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
const REFRESH_MS = 10000;
const state = { tab: "predictions", extent: null };

function $(id) { return document.getElementById(id); }

function showError(message) {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = message;
  $("errors").appendChild(p);
}
window.addEventListener("error", (e) => showError("script error: " + e.message));
window.addEventListener("unhandledrejection", (e) => showError("error: " + (e.reason && e.reason.message || e.reason)));

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

// The range as ?from=&to= (milliseconds), or the whole store.
function rangeQuery() {
  const choice = $("range").value;
  const now = Date.now();
  if (choice === "custom") {
    const from = Date.parse($("from").value + "Z"), to = Date.parse($("to").value + "Z");
    if (!isNaN(from) && !isNaN(to)) return `from=${from}&to=${to}`;
  }
  if (choice === "all" && state.extent && state.extent.oldest !== null) {
    return `from=${state.extent.oldest}&to=${state.extent.newest + 1}`;
  }
  const span = RANGES[choice] || RANGES["24h"];
  return `from=${now - span}&to=${now + 1}`;
}

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${body.error || response.status}`);
  return body;
}

function time(ms) { return new Date(ms).toISOString().replace(".000Z", "Z"); }

// Draws `traces` in the div `id` and records what was drawn.
async function draw(id, traces, title, layout) {
  await plotly();
  const div = $(id);
  const points = traces.reduce((n, t) => n + (t.y || t.x || []).length, 0);
  div.dataset.series = traces.length;
  div.dataset.points = points;
  const small = div.parentElement.classList.contains("small");
  return Plotly.react(div, traces, Object.assign({
    title: { text: title, font: { size: small ? 12 : 14 } },
    margin: { l: 45, r: 15, t: 35, b: 35 },
    width: div.clientWidth || undefined,
    height: small ? 180 : 280,
    showlegend: traces.length > 1,
    legend: { orientation: "h" },
  }, layout || {}), { displaylogo: false, responsive: true, displayModeBar: false });
}

// The id of a chart container for `name` in `box`, made on first use.
function chartIn(box, name) {
  const id = name.replace(/[^A-Za-z0-9-]/g, "-");
  if (!$(id)) {
    const div = document.createElement("div");
    div.className = "chart";
    div.id = id;
    $(box).appendChild(div);
  }
  return id;
}

function emptyState(id, what) {
  const extent = state.extent;
  const held = extent && extent.oldest !== null
    ? ` The store holds data from ${time(extent.oldest)} to ${time(extent.newest)}: choose “everything stored”.`
    : " The store is empty.";
  $(id).innerHTML = `<div class="empty">No ${what} in this range.${held} Fill the store with
    <code>logpipe run --source gradio:URL --sink sqlite:PATH</code>, or see it work with <code>logpipe demo --dashboard</code>.</div>`;
}

function series(times, values, name, extra) {
  return Object.assign({ x: times.map(time), y: values, name, type: "scatter", mode: "lines+markers" }, extra || {});
}

async function showPredictions() {
  const d = await api(`/api/predictions?${rangeQuery()}`);
  if (d.calls === 0) emptyState("predictions-empty", "predictions"); else $("predictions-empty").innerHTML = "";
  const share = d.predictions ? ` (${(100 * d.positives / d.predictions).toFixed(1)} % positive)` : "";
  const leftOut = d.probability_left_out ? `; ${d.probability_left_out} predictions gave a probability pair the search server cannot aggregate` : "";
  $("predictions-summary").textContent = `${d.calls} calls, ${d.errors} failed, ${d.predictions} predictions${share}${leftOut}`;
  showLatest(d.latest);
  markFirstRender();
  const perMinute = d.span.bucket_ms / 60000;
  await draw("chart-calls", [
    series(d.times, d.calls_per_minute, "calls / min"),
    series(d.times, d.errors_per_minute, "errors / min"),
  ], `Calls and errors per minute (buckets of ${perMinute} min)`);
  await draw("chart-positive", [series(d.times, d.positive_share, "positive share")],
    "Share of positive predictions", { yaxis: { range: [0, 1] } });
  const h = d.probability_histogram;
  await draw("chart-probability", [{ x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.counts, type: "bar", name: "probability" }],
    "Histogram of probability");
  for (const [name, f] of Object.entries(d.features)) {
    const id = chartIn("features", "feature-" + name);
    await draw(id, [{ x: f.values.map(String), y: f.counts, type: "bar", name }], name, { xaxis: { type: "category" } });
  }
}

function showLatest(latest) {
  $("latest").innerHTML = "<tr><th>time</th><th>transaction</th><th>status</th><th>prediction</th><th>probability</th></tr>" +
    latest.map((r) => `<tr class="clickable" data-tx="${escapeHtml(r.transaction_id || "")}"><td>${time(r.time)}</td><td>${escapeHtml(r.transaction_id || "")}</td>` +
      `<td>${r.status_code ?? ""}</td><td>${r.prediction ?? ""}</td><td>${r.probability === null ? "" : r.probability.toFixed(4)}</td></tr>`).join("");
}

async function showDrift() {
  const d = await api(`/api/drift?${rangeQuery()}`);
  const v = d.verdicts;
  if (v.error) {
    $("drift-verdict").innerHTML = `<div class="empty">${escapeHtml(v.error)}</div>`;
    $("drift-table").innerHTML = "";
  } else {
    const r = v.report;
    $("drift-verdict").innerHTML = `<p class="verdict ${r.dataset_drift ? "drift" : "nodrift"}" id="dataset-drift">` +
      `${r.dataset_drift ? "Dataset drift detected" : "No dataset drift"}: ${r.drifted_columns} of ${r.columns.length} columns drifted ` +
      `(reference ${r.reference_rows} rows, current ${r.current_rows})</p>`;
    $("drift-table").innerHTML = "<tr><th>column</th><th>kind</th><th>test</th><th>value</th><th>threshold</th><th>drifted</th></tr>" +
      r.columns.map((c) => `<tr class="${c.drifted ? "drifted" : ""}" data-column="${escapeHtml(c.column)}"><td>${escapeHtml(c.column)}</td><td>${c.kind}</td>` +
        `<td>${c.test}</td><td>${c.value === null ? "—" : c.value.toPrecision(4)}</td><td>${c.threshold}</td><td>${c.drifted ? "yes" : "no"}</td></tr>`).join("");
    markFirstRender();
    for (const [name, dist] of Object.entries(v.distributions)) {
      const id = chartIn("drift-distributions", "drift-dist-" + name);
      await draw(id, [
        { x: dist.labels, y: dist.reference, type: "bar", name: "reference" },
        { x: dist.labels, y: dist.current, type: "bar", name: "current" },
      ], name, { xaxis: { type: "category" }, barmode: "group" });
    }
  }
  markFirstRender();
  const history = Object.entries(d.history);
  $("drift-history-empty").innerHTML = history.length ? "" :
    `<div class="empty">No stored verdicts in this range: <code>logpipe run</code> with a <code>[drift]</code> section stores one per minute (documents of ml-api-drift).</div>`;
  $("chart-drift-history").hidden = history.length === 0;
  if (history.length) {
    await draw("chart-drift-history", history.map(([name, h]) => ({ x: h.times, y: h.values, name, type: "scatter", mode: "lines+markers" })),
      "Drift values over time (p-values or distances)");
  }
}

async function showPerformance() {
  const d = await api(`/api/performance?${rangeQuery()}`);
  if (d.documents === 0) emptyState("performance-empty", "performance documents"); else $("performance-empty").innerHTML = "";
  $("performance-summary").textContent = `${d.documents} performance documents; percentiles ${d.percentiles}`;
  const t = d.top_functions;
  $("top-functions").innerHTML = `<tr><th>function</th><th>file</th><th>calls</th><th>total ms</th><th>share of time</th></tr>` +
    t.functions.map((f) => `<tr><td>${escapeHtml(f.function)}</td><td>${escapeHtml(f.file)}</td><td>${f.calls}</td>` +
      `<td>${f.total_time_ms.toFixed(2)}</td><td>${(100 * f.share).toFixed(1)} %</td></tr>`).join("") +
    `<tr><td colspan="5">over the latest ${t.documents} performance documents of the range</td></tr>`;
  markFirstRender();
  for (const name of ["latency_ms", "inference_time_ms", "cpu_time_ms"]) {
    const s = d.series[name];
    await draw(`chart-${name}`, [series(d.times, s.p50, "p50"), series(d.times, s.p95, "p95"), series(d.times, s.p99, "p99")], name.replace(/_/g, " "));
  }
  await draw("chart-memory", [series(d.times, d.series.memory_mb, "memory MB"), series(d.times, d.series.memory_delta_mb, "memory delta MB")], "Memory (average)");
  await draw("chart-function_calls", [series(d.times, d.series.function_calls, "function calls")], "Function calls (average)");
}

async function showPipeline() {
  const d = await api("/api/pipeline");
  if (!d.available) {
    $("pipeline-empty").innerHTML = `<div class="empty">${escapeHtml(d.why)}</div>`;
    return;
  }
  $("pipeline-empty").innerHTML = "";
  const s = d.samples, times = s.map((x) => x.time);
  const last = s[s.length - 1];
  if (last) $("pipeline-summary").textContent = `${last.lines_collected} lines collected, ${last.lines_kept} kept, ${last.dead_letters} dead letters, ${last.plugin_errors} plugin errors, ${last.reloads} reloads, ${last.gaps} gaps`;
  markFirstRender();
  const pick = (f) => s.map(f);
  await draw("chart-pipeline-lines", [
    series(times, pick((x) => x.lines_collected), "lines collected"),
    series(times, pick((x) => x.lines_kept), "lines kept"),
  ], "Lines (cumulative)");
  const indices = [...new Set(s.flatMap((x) => Object.keys(x.documents)))];
  await draw("chart-pipeline-documents", indices.map((i) => series(times, pick((x) => x.documents[i] || 0), i)), "Documents per index (cumulative)");
  await draw("chart-pipeline-problems", [
    series(times, pick((x) => x.dead_letters), "dead letters"),
    series(times, pick((x) => x.plugin_errors), "plugin errors"),
    series(times, pick((x) => x.reloads), "reloads"),
    series(times, pick((x) => x.gaps), "gaps"),
  ], "Problems and reloads (cumulative)");
}

async function showTrace(tx) {
  if (tx) $("trace-id").value = tx;
  const id = $("trace-id").value.trim();
  if (!id) { $("trace-result").innerHTML = "<tr><td>Give a transaction id, or click a row of the latest predictions.</td></tr>"; return; }
  const d = await api(`/api/trace/${encodeURIComponent(id)}`);
  $("trace-result").innerHTML = d.documents.length === 0
    ? `<tr><td>No document has transaction_id ${escapeHtml(id)}.</td></tr>`
    : "<tr><th>index</th><th>_id</th><th>document</th></tr>" + d.documents.map((doc) =>
      `<tr class="trace-doc"><td>${escapeHtml(doc.index)}</td><td>${escapeHtml(doc.id)}</td><td><pre>${escapeHtml(JSON.stringify(doc.source))}</pre></td></tr>`).join("");
  markFirstRender();
}

const SHOW = { predictions: showPredictions, drift: showDrift, performance: showPerformance, pipeline: showPipeline, trace: () => showTrace() };

async function refresh() {
  $("status").textContent = "loading…";
  try {
    state.extent = await api("/api/extent");
    await SHOW[state.tab]();
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
    markFirstRender();
    // When the first tab's charts were all drawn (BENCHMARKS.md).
    if (!document.body.dataset.chartsMs) document.body.dataset.chartsMs = Math.round(performance.now());
    document.body.dataset.ready = state.tab;
  } catch (e) {
    showError(e.message);
    $("status").textContent = "failed";
  }
}

function select(tab, tx) {
  state.tab = SHOW[tab] ? tab : "predictions";
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === state.tab);
  for (const s of document.querySelectorAll("section.tab")) s.classList.toggle("active", s.id === "tab-" + state.tab);
  const params = new URLSearchParams(location.search);
  params.set("tab", state.tab);
  history.replaceState(null, "", "?" + params.toString());
  if (tx) return showTrace(tx).then(() => { document.body.dataset.ready = "trace"; }).catch((e) => showError(e.message));
  return refresh();
}

document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => select(b.dataset.tab)));
$("range").addEventListener("change", () => { $("custom").hidden = $("range").value !== "custom"; refresh(); });
$("from").addEventListener("change", refresh);
$("to").addEventListener("change", refresh);
$("trace-form").addEventListener("submit", (e) => { e.preventDefault(); select("trace", $("trace-id").value.trim()); });
$("latest").addEventListener("click", (e) => { const row = e.target.closest("tr[data-tx]"); if (row) select("trace", row.dataset.tx); });
setInterval(() => { if ($("refresh").checked && state.tab !== "trace") refresh(); }, REFRESH_MS);

{
  const params = new URLSearchParams(location.search);
  if (params.get("range")) $("range").value = params.get("range");
  // ?from=2025-11-21T09:00&to=...: a custom range (UTC), as the picker gives.
  if (params.get("from") && params.get("to")) {
    $("range").value = "custom";
    $("custom").hidden = false;
    $("from").value = params.get("from");
    $("to").value = params.get("to");
  }
  select(params.get("tab") || "predictions", params.get("tx"));
}
