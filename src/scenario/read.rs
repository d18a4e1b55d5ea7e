//! Reading a scenario file into its raw structs ([`super::file`]), and
//! toml's and serde's refusals told in the user's words at the refused
//! key's own line: `t.toml:31:1: jobs[1].generate[0].rate_per_hr: unknown
//! key; did you mean `rate_per_hour`?`.
//!
//! serde names the refused key's path ([`serde_path_to_error`]) down to
//! the table serde buffers — a generator or a distribution, whose `kind`
//! or `dist` picks the fields — and its message names the rest: the
//! unknown key, or the refused value. That key, or the first key holding
//! that value, is found under the table in the document, which keeps
//! every key's place ([`toml_edit`]).

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml_edit::{Item, Key, Table, TableLike, Value};

use super::ScenarioError;
use super::error::Refusal;

/// Reads `text`, the scenario file `shown`, into `T`.
pub(super) fn read<T: DeserializeOwned>(text: &str, shown: &str) -> Result<T, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let message = e.message().trim().to_owned();
        refusal(shown, text, e.span().unwrap_or(0..0), String::new(), message)
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let fallback = e.inner().span().unwrap_or(0..0);
        let said = e.inner().message().trim().to_owned();
        let mut path: Vec<Step> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                Segment::Map { key } => Some(Step::Key(key.clone())),
                Segment::Seq { index } => Some(Step::Index(*index)),
                Segment::Enum { .. } | Segment::Unknown => None,
            })
            .collect();
        let (span, words) = match toml_edit::Document::parse(text) {
            Ok(doc) => locate(doc.as_item(), &mut path, &said),
            Err(_) => (None, in_words(&said)),
        };
        refusal(shown, text, span.unwrap_or(fallback), render(&path), words)
    })
}

/// `error` with the line of its key in `text`, the file's text, if the
/// file has that key (a range check of a default value names none).
pub(super) fn with_line(error: ScenarioError, text: &str) -> ScenarioError {
    match error {
        ScenarioError::Invalid { path, line: None, key, message } => {
            ScenarioError::Invalid { line: line_of(text, &key), path, key, message }
        }
        other => other,
    }
}

/// The line (from 1) of `key`, a path such as `jobs[1].generate[0].size`,
/// in `text`; `None` if the file does not have that key.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut node = Node::Item(doc.as_item());
    let mut span = None;
    for part in key.split('.') {
        let (name, indices) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        let (k, child) = node.child(name)?;
        span = k.span().or_else(|| child.span());
        node = child;
        for index in indices.split('[') {
            let Some(i) = index.strip_suffix(']').and_then(|i| i.parse().ok()) else { continue };
            node = node.element(i)?;
            span = node.span().or(span);
        }
    }
    span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
}

/// One step of a key path: a key of a table, or an element of a list.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `jobs[1].generate[0].rate_per_hr`.
fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A place in the document: a key's value, a table of an array of
/// tables, or a value within an array or an inline table.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Item(item) => item.as_table_like(),
            Node::Table(table) => Some(table),
            Node::Value(value) => value.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    /// The `index`th element, if this is a list.
    fn element(self, index: usize) -> Option<Node<'a>> {
        let array = match self {
            Node::Item(Item::ArrayOfTables(tables)) => return tables.get(index).map(Node::Table),
            Node::Item(item) => item.as_array(),
            Node::Value(value) => value.as_array(),
            Node::Table(_) => None,
        };
        array?.get(index).map(Node::Value)
    }

    fn elements(self) -> Vec<Node<'a>> {
        (0..).map_while(|i| self.element(i)).collect()
    }

    /// The child at `key`, with the span of the key itself.
    fn child(self, key: &str) -> Option<(&'a Key, Node<'a>)> {
        let (k, item) = self.table()?.get_key_value(key)?;
        Some((k, Node::Item(item)))
    }

    fn span(self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        }
    }

    /// The value here, if it is a single value (not a table or a list).
    fn scalar(self) -> Option<&'a Value> {
        let value = match self {
            Node::Item(item) => item.as_value()?,
            Node::Value(value) => value,
            Node::Table(_) => return None,
        };
        (!value.is_array() && !value.is_inline_table()).then_some(value)
    }
}

/// What serde's message names within the table it refused: a key, or a
/// value (as the message writes it).
enum Culprit {
    Key(String),
    Value(String),
}

/// Follows `path` in the document as far as it goes, then extends it to
/// the key the message names (see [`Culprit`]); the span to show and the
/// message in words.
fn locate(root: &Item, path: &mut Vec<Step>, said: &str) -> (Option<std::ops::Range<usize>>, String) {
    let mut node = Node::Item(root);
    let mut span = None;
    let mut depth = 0;
    for step in path.iter() {
        let next = match step {
            Step::Key(k) => node.child(k).map(|(key, n)| (key.span().or_else(|| n.span()), n)),
            Step::Index(i) => node.element(*i).map(|n| (n.span(), n)),
        };
        let Some((s, n)) = next else { break };
        span = s.or(span);
        node = n;
        depth += 1;
    }
    path.truncate(depth);
    match culprit(said) {
        // The path reached the refused value itself: underline it.
        Some(Culprit::Value(_)) if node.scalar().is_some() => span = node.span().or(span),
        Some(c) => {
            if let Some((rest, s)) = find(node, &c) {
                path.extend(rest);
                span = s.or(span);
            }
        }
        None => {}
    }
    (span, in_words(said))
}

/// The key or value `said` names, if any.
fn culprit(said: &str) -> Option<Culprit> {
    if let Some(rest) = said.strip_prefix("unknown field `") {
        return Some(Culprit::Key(rest.split('`').next()?.to_owned()));
    }
    if said.starts_with("missing field") {
        return None;
    }
    let shown = said.strip_prefix("unknown variant ").or_else(|| {
        said.strip_prefix("invalid value: ")
            .or_else(|| said.strip_prefix("invalid type: "))
            .map(|s| s.split_once(' ').map_or(s, |(_, v)| v))
    });
    let text = shown.unwrap_or(said);
    // The first quoted text: `-5`, "x", or a custom message's `5 minutes`.
    let (open, body) = text.char_indices().find(|(_, c)| *c == '`' || *c == '"').map(|(i, c)| (c, &text[i + 1..]))?;
    Some(Culprit::Value(body.split(open).next()?.to_owned()))
}

/// The first key (in document order) under `node` that is `culprit`, or
/// holds it: its path from `node` and its span.
fn find(node: Node<'_>, culprit: &Culprit) -> Option<(Vec<Step>, Option<std::ops::Range<usize>>)> {
    if let Some(table) = node.table() {
        for (name, _) in table.iter() {
            let (key, child) = node.child(name)?;
            let hit = match culprit {
                Culprit::Key(k) => k == name,
                Culprit::Value(v) => child.scalar().is_some_and(|value| holds(value, v)),
            };
            if hit {
                let span = if matches!(culprit, Culprit::Key(_)) { key.span() } else { child.span() };
                return Some((vec![Step::Key(name.to_owned())], span.or_else(|| key.span())));
            }
            if let Some((mut rest, span)) = find(child, culprit) {
                rest.insert(0, Step::Key(name.to_owned()));
                return Some((rest, span));
            }
        }
    }
    for (i, element) in node.elements().into_iter().enumerate() {
        if let Some((mut rest, span)) = find(element, culprit) {
            rest.insert(0, Step::Index(i));
            return Some((rest, span.or_else(|| element.span())));
        }
    }
    None
}

/// Whether `value` is the one a message shows as `shown`.
fn holds(value: &Value, shown: &str) -> bool {
    match value {
        Value::String(s) => s.value() == shown,
        Value::Integer(n) => n.value().to_string() == shown,
        Value::Float(x) => x.value().to_string() == shown,
        Value::Boolean(b) => b.value().to_string() == shown,
        Value::Datetime(_) | Value::Array(_) | Value::InlineTable(_) => false,
    }
}

/// serde's message as the user would say it: keys not fields, `a whole
/// number ≥ 0` not `u32`, and a "did you mean" for a misspelt key or value.
fn in_words(said: &str) -> String {
    if let Some(rest) = said.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return format!("unknown key `{name}`; {}", suggest(name, expected, "the keys here are"));
    }
    if let Some(rest) = said.strip_prefix("unknown variant `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return format!("unknown value `{name}`; {}", suggest(name, expected, "give one of"));
    }
    if let Some(rest) = said.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    if let Some(rest) = said.strip_prefix("invalid value: ") {
        let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
        let value = found.split('`').nth(1).unwrap_or(found);
        return match whole_number(expected, value.parse::<i128>().ok()) {
            Some(words) => format!("{value} is out of range; give {words}"),
            None => format!("{value} is not {}", expected_words(expected)),
        };
    }
    if let Some(rest) = said.strip_prefix("invalid type: ") {
        let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
        return format!("expected {}, found {}", expected_words(expected), found_words(found));
    }
    said.to_owned()
}

/// `did you mean `x`?` when one of serde's expected names is close to
/// `name`, else all of them after `intro`.
fn suggest(name: &str, expected: &str, intro: &str) -> String {
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let close = names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), *n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match close {
        Some((_, n)) => format!("did you mean `{n}`?"),
        None if names.is_empty() => "this table takes no keys".to_owned(),
        None => format!("{intro} `{}`", names.join("`, `")),
    }
}

/// The range of serde's integer type `rust`, in words, for a refused
/// `value`: the bound it passes, or the whole range.
fn whole_number(rust: &str, value: Option<i128>) -> Option<String> {
    let (min, max): (i128, i128) = match rust {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    Some(match value {
        Some(v) if v < min && min == 0 => "a whole number ≥ 0".to_owned(),
        Some(v) if v > max && min == 0 => format!("a whole number from 0 to {max}"),
        _ if min == 0 && max == i128::from(u64::MAX) => "a whole number ≥ 0".to_owned(),
        _ => format!("a whole number from {min} to {max}"),
    })
}

/// What serde expected, in words: `a whole number ≥ 0`, `a number`, `a table`.
fn expected_words(expected: &str) -> String {
    if let Some(words) = whole_number(expected, None) {
        return words;
    }
    match expected {
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a table".to_owned(),
        e if e.starts_with("struct ") || e.contains("enum ") => "a table".to_owned(),
        e => e.to_owned(),
    }
}

/// What serde found, in TOML's words: `a string "x"`, `the number 5`.
fn found_words(found: &str) -> String {
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned).unwrap_or_else(|| s.to_owned());
    if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if found.starts_with("integer ") || found.starts_with("floating point ") {
        format!("the number {}", quoted(found))
    } else if found.starts_with("boolean ") {
        format!("`{}`", quoted(found))
    } else if found == "sequence" {
        "a list".to_owned()
    } else if found == "map" {
        "a table".to_owned()
    } else {
        found.to_owned()
    }
}

/// The refusal at `span` of `text`: its line and column, and the line
/// itself with the span underlined.
fn refusal(shown: &str, text: &str, span: std::ops::Range<usize>, key: String, message: String) -> ScenarioError {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let source = text[line_start..line_end].trim_end_matches('\r');
    let width = text[start..span.end.clamp(start, line_end)].chars().count().max(1);
    let gutter = " ".repeat(line.to_string().len());
    let excerpt = format!("{gutter} |\n{line} | {source}\n{gutter} | {}{}", " ".repeat(column - 1), "^".repeat(width));
    ScenarioError::Toml(Box::new(Refusal { path: shown.to_owned(), line, column, key, message, excerpt }))
}
