//! The grammar of API-call messages, in the real format and the short format of
//! the project's design (`docs/source-api.md` §1.5 and §1.8):
//!
//! ```text
//! real:  ["[" TXID "] "] "API Call - " METHOD " " PATH " - Status: " CODE " - Time: " MS "ms"
//!        [" - Input: " JSON] [" - Result: " JSON]
//! short: ["[" TXID "] "] METHOD " " PATH " - " CODE " - " MS "ms" [" - " JSON [" - " JSON]]
//! ```

use logpipe_plugin_sdk::json::{JsonError, RawObject, split_object, split_value};

/// A request body as logged: its text, and its fields when it is a JSON object.
#[derive(Debug)]
pub struct Body<'a> {
    /// The JSON text.
    pub raw: &'a str,
    /// The object's fields, `None` when the body is another JSON value.
    pub object: Option<RawObject<'a>>,
}

/// Which of the two formats a line was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// What the API really writes.
    Real,
    /// The design's short format (`docs/source-api.md` §1.8).
    Short,
}

/// An API-call line, borrowed from the message.
#[derive(Debug)]
pub struct ApiCall<'a> {
    /// Format the line was written in.
    pub format: Format,
    /// The bracketed id, present on POST calls.
    pub transaction_id: Option<&'a str>,
    /// HTTP method.
    pub method: &'a str,
    /// URL path, without query string.
    pub path: &'a str,
    /// Final HTTP status, when readable.
    pub status: Option<u16>,
    /// The status as written, when readable.
    pub status_text: Option<&'a str>,
    /// Duration in milliseconds, when readable (may be negative: clock steps).
    pub time_ms: Option<f64>,
    /// The duration as written, when readable.
    pub time_text: Option<&'a str>,
    /// The request body as logged.
    pub input: Option<Body<'a>>,
    /// The response body as logged.
    pub result: Option<&'a str>,
    /// What could not be read, for the line's `parse_errors`.
    pub problems: Vec<String>,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Reads an API-call message; `None` when the message is not one.
pub fn parse(message: &str) -> Option<ApiCall<'_>> {
    let (transaction_id, rest) = match message.strip_prefix('[') {
        Some(after) => {
            let close = find_pair(after, b']', b' ')?;
            (Some(&after[..close]), &after[close + 2..])
        }
        None => (None, message),
    };
    let (format, rest) = match rest.strip_prefix("API Call - ") {
        Some(rest) => (Format::Real, rest),
        None => (Format::Short, rest),
    };
    let (method, rest) = rest.split_once(' ')?;
    if format == Format::Short && !(METHODS.contains(&method) && rest.starts_with('/')) {
        return None;
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (path, rest) = match find_separator(rest) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut call = ApiCall {
        format,
        transaction_id,
        method,
        path,
        status: None,
        status_text: None,
        time_ms: None,
        time_text: None,
        input: None,
        result: None,
        problems: Vec::new(),
    };
    let (status_label, time_label) = match format {
        Format::Real => (" - Status: ", " - Time: "),
        Format::Short => (" - ", " - "),
    };
    let mut rest = rest;
    match rest
        .strip_prefix(status_label)
        .and_then(|r| take_number(r, ""))
    {
        Some((code, after)) => {
            call.status = code.parse().ok();
            call.status_text = call.status.and(Some(code));
            rest = after;
        }
        None => call.problems.push("status code not found".into()),
    }
    match rest
        .strip_prefix(time_label)
        .and_then(|r| take_number(r, "ms"))
    {
        Some((ms, after)) => {
            call.time_ms = ms.parse::<f64>().ok().filter(|v| v.is_finite());
            call.time_text = call.time_ms.and(Some(ms));
            rest = after;
        }
        None => call.problems.push("duration not found".into()),
    }
    match format {
        Format::Real => read_labelled_bodies(&mut call, rest),
        Format::Short => read_bare_bodies(&mut call, rest),
    }
    Some(call)
}

/// The index of the first `a` followed by `b` in `text`.
fn find_pair(text: &str, a: u8, b: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(p) = bytes[from..].iter().position(|&c| c == a) {
        let at = from + p;
        if bytes.get(at + 1) == Some(&b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The index of the first `" - "` in `text` (a short search: the path before it).
fn find_separator(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_pair(&text[from..], b'-', b' ') {
        let at = from + at;
        if at > 0 && text.as_bytes()[at - 1] == b' ' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

/// Splits a leading number (optionally followed by `unit`) off `text`.
fn take_number<'a>(text: &'a str, unit: &str) -> Option<(&'a str, &'a str)> {
    let end = text
        .bytes()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')))
        .unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    let after = text[end..].strip_prefix(unit)?;
    Some((&text[..end], after))
}

const INPUT: &str = " - Input: ";
const RESULT: &str = " - Result: ";

/// Reads the request body at the start of `text`: an object in one pass, or any
/// other JSON value.
fn read_body(text: &str) -> Result<(Body<'_>, &str), JsonError> {
    if text.starts_with('{') {
        let (object, raw, rest) = split_object(text)?;
        Ok((
            Body {
                raw,
                object: Some(object),
            },
            rest,
        ))
    } else {
        let (value, rest) = split_value(text)?;
        Ok((
            Body {
                raw: value,
                object: None,
            },
            rest,
        ))
    }
}

fn read_labelled_bodies<'a>(call: &mut ApiCall<'a>, mut rest: &'a str) {
    if let Some(after) = rest.strip_prefix(INPUT) {
        match read_body(after) {
            Ok((body, after)) => {
                call.input = Some(body);
                rest = after;
            }
            Err(e) => {
                call.problems.push(format!("Input is not valid JSON: {e}"));
                // The input is unreadable: look for the result label after it.
                rest = after.rfind(RESULT).map_or("", |i| &after[i..]);
            }
        }
    }
    if let Some(after) = rest.strip_prefix(RESULT) {
        match split_value(after) {
            Ok((value, after)) => {
                call.result = Some(value);
                rest = after;
            }
            Err(e) => {
                call.problems.push(format!("Result is not valid JSON: {e}"));
                rest = "";
            }
        }
    }
    if !rest.is_empty() {
        call.problems.push(format!(
            "unexpected text after the call: {:?}",
            snippet(rest)
        ));
    }
}

fn read_bare_bodies<'a>(call: &mut ApiCall<'a>, mut rest: &'a str) {
    if let Some(after) = rest.strip_prefix(" - ") {
        match read_body(after) {
            Ok((body, after)) => {
                call.input = Some(body);
                rest = after;
            }
            Err(e) => {
                call.problems.push(format!("body is not valid JSON: {e}"));
                return;
            }
        }
    }
    if let Some(after) = rest.strip_prefix(" - ") {
        match split_value(after) {
            Ok((value, after)) => {
                call.result = Some(value);
                rest = after;
            }
            Err(e) => {
                call.problems.push(format!("body is not valid JSON: {e}"));
                return;
            }
        }
    }
    if !rest.is_empty() {
        call.problems.push(format!(
            "unexpected text after the call: {:?}",
            snippet(rest)
        ));
    }
}

/// The first 60 characters of `text`, for error messages.
fn snippet(text: &str) -> &str {
    match text.char_indices().nth(60) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_post_with_input_and_result() {
        let m = r#"[f235299c-8751-4150-aa90-af2e3ee18ab2] API Call - POST /predict - Status: 200 - Time: 51.14ms - Input: {"AGE": 59} - Result: {"prediction": 1}"#;
        let c = parse(m).unwrap();
        assert_eq!(c.format, Format::Real);
        assert_eq!(
            c.transaction_id,
            Some("f235299c-8751-4150-aa90-af2e3ee18ab2")
        );
        assert_eq!(
            (c.method, c.path, c.status),
            ("POST", "/predict", Some(200))
        );
        assert_eq!(c.time_ms, Some(51.14));
        assert_eq!(c.input.unwrap().raw, r#"{"AGE": 59}"#);
        assert_eq!(c.result.unwrap(), r#"{"prediction": 1}"#);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn get_without_id_or_bodies_and_negative_time() {
        let c = parse("API Call - GET /favicon.ico - Status: 404 - Time: -0.21ms").unwrap();
        assert_eq!(
            (c.transaction_id, c.method, c.path),
            (None, "GET", "/favicon.ico")
        );
        assert_eq!((c.status, c.time_ms), (Some(404), Some(-0.21)));
        assert!(c.input.is_none() && c.result.is_none() && c.problems.is_empty());
    }

    #[test]
    fn result_only_and_string_bodies() {
        let c = parse(r#"API Call - OPTIONS /predict - Status: 400 - Time: 0.3ms - Result: "<unable to parse>""#)
            .unwrap();
        assert_eq!(c.result.unwrap(), r#""<unable to parse>""#);
        let c = parse(r#"[x] API Call - POST /predict - Status: 422 - Time: 1.0ms - Input: "<unable to parse>" - Result: {"detail": []}"#)
            .unwrap();
        assert_eq!(c.input.unwrap().raw, r#""<unable to parse>""#);
        assert_eq!(c.result.unwrap(), r#"{"detail": []}"#);
    }

    #[test]
    fn separators_and_braces_inside_strings() {
        let m = r#"[t] API Call - POST /predict - Status: 200 - Time: 1.5ms - Input: {"note": "contr\u00f4le {J+7}, rappel - urgent, voir \"dossier B\" - Result: {x}"} - Result: {"prediction": 0}"#;
        let c = parse(m).unwrap();
        assert!(c.input.unwrap().raw.ends_with(r#"B\" - Result: {x}"}"#));
        assert_eq!(c.result.unwrap(), r#"{"prediction": 0}"#);
    }

    #[test]
    fn separator_search() {
        assert_eq!(find_separator("/predict - Status: 200"), Some(8));
        assert_eq!(find_separator("/a-b -x - y"), Some(7));
        assert_eq!(find_separator("- x"), None);
        assert_eq!(find_separator("/path"), None);
        assert_eq!(find_pair("abc] d", b']', b' '), Some(3));
        assert_eq!(find_pair("a]b] ", b']', b' '), Some(3));
        assert_eq!(find_pair("ab]", b']', b' '), None);
    }

    #[test]
    fn short_format() {
        let m = r#"[abc-123] POST /predict - 200 - 45ms - {"AGE": 65, "GENDER": "M"} - {"prediction": "YES", "probability": 0.85}"#;
        let c = parse(m).unwrap();
        assert_eq!(c.format, Format::Short);
        assert_eq!(
            (c.transaction_id, c.method, c.path),
            (Some("abc-123"), "POST", "/predict")
        );
        assert_eq!((c.status, c.time_ms), (Some(200), Some(45.0)));
        assert!(c.input.is_some() && c.result.is_some() && c.problems.is_empty());
    }

    #[test]
    fn not_api_calls() {
        for m in [
            "Health check effectué - Model: True, Redis: True",
            "Démarrage de l'API...",
            r#"{"performance_metrics": {}}"#,
            "[x] something else",
            "Types de modèles disponibles: ['sklearn']",
        ] {
            assert!(parse(m).is_none(), "{m}");
        }
    }

    #[test]
    fn broken_input_keeps_what_can_be_read() {
        let m = r#"[t] API Call - POST /predict - Status: 200 - Time: 2.0ms - Input: {"AGE": 5 - Result: {"prediction": 1}"#;
        let c = parse(m).unwrap();
        assert_eq!(c.status, Some(200));
        assert!(c.input.is_none());
        assert_eq!(c.result.unwrap(), r#"{"prediction": 1}"#);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    }
}
