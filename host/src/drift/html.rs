//! `logpipe drift --html FILE`: a self-contained report (no script, nothing
//! fetched): the verdicts as a table, then per column the reference and
//! current distributions side by side as inline SVG bars.
//!
//! SVG is written here rather than with a charting library: seventeen bar
//! charts are a few kilobytes this way, where embedding plotly.js would make
//! each report about 4 MB.

use super::counts::{Counts, joint};
use super::dataset::Dataset;
use super::report::Report;
use std::fmt::Write;

/// Distinct values up to which each value gets its own bar.
const VALUE_BARS: usize = 20;
/// Bars of a column with more values.
const BINS: usize = 20;

const REFERENCE_COLOUR: &str = "#4c78a8";
const CURRENT_COLOUR: &str = "#f58518";

/// The report as an HTML page.
pub fn render(report: &Report, reference: &Dataset, current: &Dataset, title: &str) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let verdict = if report.dataset_drift {
        "Dataset drift detected"
    } else {
        "No dataset drift"
    };
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}
tr.drifted td{{background:#fde2e1;font-weight:600}}
.verdict{{font-size:1.3em;font-weight:700}}.drift{{color:#c0392b}}.nodrift{{color:#2e7d32}}
section{{margin:1.5em 0}}.legend span{{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em}}
</style></head><body>
<h1>{title}</h1>
<p class="verdict {class}" id="dataset-drift">{verdict}: {drifted} of {tested} columns drifted (share {share:.3}, threshold {threshold})</p>
<p>Reference: {rrows} rows. Current: {crows} rows.</p>
<p class="legend"><span style="background:{REFERENCE_COLOUR}"></span>reference<span style="background:{CURRENT_COLOUR}"></span>current</p>
<table id="columns"><tr><th>Column</th><th>Kind</th><th>Test</th><th>Value</th><th>Threshold</th><th>Drifted</th><th>Missing (ref / cur)</th></tr>
"#,
        title = escape(title),
        class = if report.dataset_drift {
            "drift"
        } else {
            "nodrift"
        },
        drifted = report.drifted_columns,
        tested = report.columns.len(),
        share = report.share_of_drifted_columns,
        threshold = report.drift_share,
        rrows = report.reference_rows,
        crows = report.current_rows,
    );
    for c in &report.columns {
        let _ = writeln!(
            html,
            "<tr{}><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td></tr>",
            if c.drifted { " class=\"drifted\"" } else { "" },
            anchor(&c.column),
            escape(&c.column),
            c.kind,
            c.test,
            c.value.map_or_else(|| "—".to_string(), value_text),
            c.threshold,
            if c.drifted { "yes" } else { "no" },
            c.reference_missing,
            c.current_missing,
        );
    }
    html.push_str("</table>\n");
    if !report.untested.is_empty() {
        html.push_str("<h2>Not tested</h2><ul>\n");
        for u in &report.untested {
            let _ = writeln!(
                html,
                "<li>{}: {}</li>",
                escape(&u.column),
                escape(&u.reason)
            );
        }
        html.push_str("</ul>\n");
    }
    for c in &report.columns {
        let (Some(r), Some(cur)) = (
            reference.columns.get(&c.column),
            current.columns.get(&c.column),
        ) else {
            continue;
        };
        let _ = writeln!(
            html,
            "<section id=\"{}\"><h2>{}{}</h2><p>{} {}: {} (threshold {})</p>{}</section>",
            anchor(&c.column),
            escape(&c.column),
            if c.drifted { " — drifted" } else { "" },
            c.test,
            if c.test == "ks" || c.test == "z" || c.test == "chisquare" {
                "p-value"
            } else {
                "distance"
            },
            c.value.map_or_else(|| "—".to_string(), value_text),
            c.threshold,
            bars(&r.counts, &cur.counts),
        );
    }
    html.push_str("</body></html>\n");
    html
}

/// Shares per bar of both sides: a bar per value when there are few values,
/// equal bins over the range of both sides otherwise.
pub fn distributions(reference: &Counts, current: &Counts) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let joint: Vec<(f64, u64, u64)> = joint(reference, current).collect();
    let share = |counts: &Counts, n: u64| {
        if counts.n() == 0 {
            0.0
        } else {
            n as f64 / counts.n() as f64
        }
    };
    if joint.len() <= VALUE_BARS {
        let labels = joint.iter().map(|(v, _, _)| format!("{v}")).collect();
        let r = joint.iter().map(|(_, n, _)| share(reference, *n)).collect();
        let c = joint.iter().map(|(_, _, n)| share(current, *n)).collect();
        return (labels, r, c);
    }
    let (low, high) = (joint[0].0, joint[joint.len() - 1].0);
    let width = (high - low) / BINS as f64;
    let bin = |v: f64| (((v - low) / width) as usize).min(BINS - 1);
    let mut r = vec![0.0; BINS];
    let mut c = vec![0.0; BINS];
    for (v, n) in reference.iter() {
        r[bin(v)] += share(reference, n);
    }
    for (v, n) in current.iter() {
        c[bin(v)] += share(current, n);
    }
    let labels = (0..BINS)
        .map(|i| format!("{:.3}", low + width * i as f64))
        .collect();
    (labels, r, c)
}

/// Grouped bars of both sides' shares, as SVG.
fn bars(reference: &Counts, current: &Counts) -> String {
    let (labels, r, c) = distributions(reference, current);
    let (width, height, bottom, left) = (720.0, 220.0, 40.0, 40.0);
    let top = r.iter().chain(&c).copied().fold(0.0f64, f64::max).max(1e-9);
    let slot = (width - left) / labels.len().max(1) as f64;
    let bar = slot * 0.4;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\">",
        height + bottom
    );
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"12\" font-size=\"11\">{:.0}%</text><line x1=\"{left}\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#999\"/>",
        top * 100.0
    );
    for (i, label) in labels.iter().enumerate() {
        let x = left + i as f64 * slot + slot * 0.1;
        for (j, (share, colour, side)) in [
            (r[i], REFERENCE_COLOUR, "reference"),
            (c[i], CURRENT_COLOUR, "current"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = share / top * (height - 20.0);
            let _ = write!(
                svg,
                "<rect class=\"{side}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{side} {}: {:.2}%</title></rect>",
                x + j as f64 * bar,
                height - h,
                escape(label),
                share * 100.0
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-45 {:.1} {:.1})\">{}</text>",
            x + bar,
            height + 12.0,
            x + bar,
            height + 12.0,
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// An id for a column (training names have spaces).
fn anchor(column: &str) -> String {
    column
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A value readable at any scale: tiny p-values in scientific notation.
pub fn value_text(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-4 {
        format!("{v:.3e}")
    } else {
        format!("{v:.6}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
