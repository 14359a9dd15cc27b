//! The page and its script (in this folder), and plotly.js as the `plotly`
//! crate embeds it.

use std::sync::LazyLock;

/// The page: tabs, range picker, chart containers.
pub const PAGE: &str = include_str!("page.html");

/// The thin client: fetches `/api/...` and draws with plotly.js.
pub const APP: &str = include_str!("app.js");

/// plotly.js, taken from the `plotly` crate's offline sources (which wrap it
/// in a `<script>` element, followed by MathJax, which the page does not need).
pub fn plotly() -> &'static str {
    static PLOTLY: LazyLock<String> = LazyLock::new(|| {
        let sources = plotly::Plot::offline_js_sources();
        let open = "<script type=\"text/javascript\">";
        let start = sources.find(open).map_or(0, |i| i + open.len());
        let end = sources[start..]
            .find("</script>")
            .map_or(sources.len(), |i| start + i);
        sources[start..end].to_string()
    });
    &PLOTLY
}

#[cfg(test)]
mod tests {
    #[test]
    fn plotly_is_the_library_alone() {
        let js = super::plotly();
        assert!(js.len() > 1_000_000, "{}", js.len());
        assert!(js.contains("Plotly") && !js.contains("</script>"));
        assert!(js.len() < 6_000_000, "plotly.js without MathJax");
    }
}
