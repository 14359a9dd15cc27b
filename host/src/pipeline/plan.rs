//! The stages of a pipeline, resolved against loaded plugins.
//!
//! Semantics (`docs/source-api.md` §6): stages run in order on each batch; every
//! line gets its own document in the line index; a filter stage decides which
//! lines the stages after it see and which lines' derived documents are written.

use crate::plugin::{Kind, LoadedPlugin};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Channel destination meaning "merge into the line's own document".
pub const LINE: &str = "@line";

/// Where a parser channel's documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Merged into the line's own document.
    Line,
    /// Written to this index.
    Index(Arc<str>),
    /// Not written (channel not mapped by the configuration).
    Drop,
}

/// One stage: a plugin, its configuration and where its channels go.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The plugin (replaced on hot reload).
    pub plugin: Arc<LoadedPlugin>,
    /// Its configuration.
    pub config: Vec<(String, String)>,
    /// Route of each of the plugin's channels, by channel number.
    pub routes: Vec<Route>,
}

/// The resolved pipeline.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// The index every line goes to.
    pub line_index: Arc<str>,
    /// The index whose documents carry the values of the prediction they hold
    /// ([`crate::document::Document::prediction`]), read by the workers while
    /// they check them: set when a drift monitor watches that index.
    pub predictions: Option<Arc<str>>,
    /// Whether the workers prepare documents for the embedded store: read
    /// their typed columns ([`crate::document::Document::columns`]) and pack
    /// full blocks of them ([`crate::document::Document::block`]). Set by
    /// [`Plan::prepare_for`] when a sink is the embedded store; other sinks
    /// would only pay for them.
    pub for_store: bool,
    /// Whether the embedded store is the only sink that reads documents'
    /// sources: the workers then drop the sources of the documents they
    /// packed, which the store reads from the packed block (a third less
    /// memory held until the write, freed on the thread that allocated it).
    /// Set by [`Plan::prepare_for`].
    pub store_only: bool,
}

/// Problems resolving a stage.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A filter with outputs.
    #[error("stage {stage} (`{plugin}`) is a filter: it has no channels to map in `outputs`")]
    FilterOutputs {
        /// Stage number, from 1.
        stage: usize,
        /// Plugin name.
        plugin: String,
    },
    /// An output names a channel the plugin does not have.
    #[error("stage {stage} (`{plugin}`) has no channel `{channel}` (its channels: {known})")]
    UnknownChannel {
        /// Stage number, from 1.
        stage: usize,
        /// Plugin name.
        plugin: String,
        /// The channel named.
        channel: String,
        /// The plugin's channels.
        known: String,
    },
}

impl Stage {
    /// Resolves `outputs` (channel name to `@line` or an index name) for `plugin`.
    pub fn new(
        number: usize,
        plugin: Arc<LoadedPlugin>,
        config: Vec<(String, String)>,
        outputs: &BTreeMap<String, String>,
    ) -> Result<Self, PlanError> {
        let info = plugin.info();
        if info.kind == Kind::Filter && !outputs.is_empty() {
            return Err(PlanError::FilterOutputs {
                stage: number,
                plugin: info.name.clone(),
            });
        }
        for channel in outputs.keys() {
            if !info.channels.contains(channel) {
                return Err(PlanError::UnknownChannel {
                    stage: number,
                    plugin: info.name.clone(),
                    channel: channel.clone(),
                    known: info.channels.join(", "),
                });
            }
        }
        let routes = info
            .channels
            .iter()
            .map(|c| match outputs.get(c).map(String::as_str) {
                None => Route::Drop,
                Some(LINE) => Route::Line,
                Some(index) => Route::Index(Arc::from(index)),
            })
            .collect();
        Ok(Self {
            plugin,
            config,
            routes,
        })
    }

    /// Routes for a new version of the plugin: same channel names, same destinations.
    pub fn reroute(&self, plugin: &Arc<LoadedPlugin>) -> Vec<Route> {
        let old = &self.plugin.info().channels;
        plugin
            .info()
            .channels
            .iter()
            .map(|c| {
                old.iter()
                    .position(|o| o == c)
                    .map_or(Route::Drop, |i| self.routes[i].clone())
            })
            .collect()
    }
}

impl Plan {
    /// Prepares the workers' documents for the sinks they are written to
    /// ([`Self::for_store`], [`Self::store_only`]): call it with every sink
    /// the plan's documents go to, once they are known.
    pub fn prepare_for(&mut self, sinks: &[crate::sink::Sink]) {
        use crate::sink::Sink;
        self.for_store = sinks.iter().any(|s| matches!(s, Sink::Sqlite(_)));
        // The drift monitor reads predictions, not sources.
        self.store_only = self.for_store
            && sinks
                .iter()
                .all(|s| matches!(s, Sink::Sqlite(_) | Sink::Drift(_)));
    }

    /// What the filters do to stage `n`, in words ("" when nothing): the
    /// stages after a filter see only the lines it keeps, and index documents
    /// are written only for kept lines, whatever the stage's place.
    pub fn reach(&self, n: usize) -> String {
        let is_filter = |s: &Stage| s.plugin.info().kind == Kind::Filter;
        let named = |stages: &[Stage]| -> String {
            let names: Vec<String> = stages
                .iter()
                .filter(|s| is_filter(s))
                .map(|s| format!("`{}`", s.plugin.info().name))
                .collect();
            format!(
                "the filter{} {}",
                if names.len() > 1 { "s" } else { "" },
                names.join(" and ")
            )
        };
        let mut reach = String::new();
        if self.stages[..n].iter().any(is_filter) {
            reach.push_str(&format!(
                "; sees only the lines kept by {}",
                named(&self.stages[..n])
            ));
        }
        let indexes = self.stages[n]
            .routes
            .iter()
            .any(|r| matches!(r, Route::Index(_)));
        if indexes && self.stages.iter().any(is_filter) {
            reach.push_str(&format!(
                "; its index documents are written only for lines kept by {} \
                 (widen its pattern to index other lines)",
                named(&self.stages)
            ));
        }
        reach
    }

    /// Every index the plan can write to, the line index first.
    pub fn indices(&self) -> Vec<Arc<str>> {
        let mut all = vec![self.line_index.clone()];
        for stage in &self.stages {
            for route in &stage.routes {
                if let Route::Index(i) = route
                    && !all.contains(i)
                {
                    all.push(i.clone());
                }
            }
        }
        all
    }
}
