//! Progress of long commands (`once` over a file, `export`, dead-letter
//! replays): a live line on stderr when it is a terminal (count, rate, and
//! percentage and ETA when the size is known), and in every case one summary
//! line on stderr at the end, so logs of unattended runs say what was done.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// A command's progress.
pub struct Progress {
    bar: ProgressBar,
    label: &'static str,
    unit: &'static str,
    start: Instant,
    count: u64,
}

impl Progress {
    /// Starts showing progress of `label` counted in `unit` (`lines`, `rows`),
    /// with `total` the size of the input in the unit of the positions given
    /// to [`Progress::update`] (bytes of a file), when known.
    pub fn new(label: &'static str, unit: &'static str, total: Option<u64>) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let template = if total.is_some() {
            "{prefix}: [{bar:30}] {percent:>3}% {msg}, ETA {eta}"
        } else {
            "{prefix}: {spinner} {msg}"
        };
        let bar = ProgressBar::with_draw_target(total, target).with_style(
            ProgressStyle::with_template(template)
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(label);
        bar.set_message(format!("0 {unit}"));
        Self {
            bar,
            label,
            unit,
            start: Instant::now(),
            count: 0,
        }
    }

    /// `count` done so far, at `position` of the total.
    pub fn update(&mut self, count: u64, position: u64) {
        self.count = count;
        self.bar.set_position(position);
        self.bar
            .set_message(format!("{count} {}, {:.0}/s", self.unit, self.rate()));
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.start.elapsed().as_secs_f64().max(1e-3)
    }

    /// Clears the live line and prints the summary.
    pub fn finish(self) {
        self.bar.finish_and_clear();
        eprintln!(
            "{}: {} {} in {:.1} s ({:.0} {}/s)",
            self.label,
            self.count,
            self.unit,
            self.start.elapsed().as_secs_f64(),
            self.rate(),
            self.unit
        );
    }
}
