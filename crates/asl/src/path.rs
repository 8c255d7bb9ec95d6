//! The JSONPath subset the runner understands: reference paths made of a root (`$` for the
//! state's data, `$$` for the context object) followed by `.field`, `['field']` and `[index]`
//! steps. Anything else (wildcards, filters, slices, recursive descent, unions) is refused when
//! the definition is loaded, so a path either selects exactly one node or nothing.

use std::fmt;

use serde_json::{Map, Value};

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the data the path is applied to.
    Data,
    /// `$$`: the context object.
    Context,
}

/// One step down from a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// An object member.
    Field(String),
    /// An array element.
    Index(usize),
}

/// A parsed reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    root: Root,
    steps: Vec<Step>,
    text: String,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// `$`: the whole data.
    pub(crate) fn data_root() -> Self {
        Self {
            root: Root::Data,
            steps: Vec::new(),
            text: "$".to_owned(),
        }
    }

    /// Parses a whole path.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (path, used) = Self::parse_prefix(text)?;
        match text.get(used..) {
            Some("") | None => Ok(path),
            Some(rest) => Err(format!(
                "unsupported JSONPath syntax {rest:?} in {text:?} (supported: $, $.a.b, $.a[0], \
                 $['a'])"
            )),
        }
    }

    /// Parses the longest path at the start of `text`; returns it and the bytes it used.
    pub(crate) fn parse_prefix(text: &str) -> Result<(Self, usize), String> {
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'$') {
            return Err(format!("{text:?} is not a path: paths start with $"));
        }
        let (root, mut at) = if bytes.get(1) == Some(&b'$') {
            (Root::Context, 2)
        } else {
            (Root::Data, 1)
        };
        let mut steps = Vec::new();
        loop {
            match bytes.get(at) {
                Some(b'.') => {
                    let name: String = text[at + 1..]
                        .chars()
                        .take_while(|c| is_name_char(*c))
                        .collect();
                    if name.is_empty() {
                        return Err(format!(
                            "unsupported JSONPath syntax after {:?} in {text:?}",
                            &text[..=at]
                        ));
                    }
                    at += 1 + name.len();
                    steps.push(Step::Field(name));
                }
                Some(b'[') => {
                    let (step, used) = parse_bracket(&text[at..])
                        .map_err(|problem| format!("{problem} at {:?} in {text:?}", &text[at..]))?;
                    at += used;
                    steps.push(step);
                }
                _ => break,
            }
        }
        Ok((
            Self {
                root,
                steps,
                text: text[..at].to_owned(),
            },
            at,
        ))
    }

    /// Where the path starts.
    pub(crate) fn root(&self) -> Root {
        self.root
    }

    /// The steps after the root.
    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The node the path selects in `value`, if there is one.
    pub(crate) fn select<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.steps
            .iter()
            .try_fold(value, |node, step| match (step, node) {
                (Step::Field(name), Value::Object(map)) => map.get(name),
                (Step::Index(i), Value::Array(items)) => items.get(*i),
                _ => None,
            })
    }

    /// `target` with the node at this path set to `value`, creating missing object members on
    /// the way (the `ResultPath` rule).
    pub(crate) fn put(&self, target: &Value, value: Value) -> Result<Value, String> {
        let Some((last, init)) = self.steps.split_last() else {
            return Ok(value);
        };
        let mut out = target.clone();
        let mut node = &mut out;
        for step in init {
            node = match (step, node) {
                (Step::Field(name), Value::Object(map)) => map
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                (Step::Index(i), Value::Array(items)) => items
                    .get_mut(*i)
                    .ok_or_else(|| format!("{self}: index {i} is out of range"))?,
                (step, other) => return Err(mismatch(self, step, other)),
            };
        }
        match (last, node) {
            (Step::Field(name), Value::Object(map)) => {
                map.insert(name.clone(), value);
            }
            (Step::Index(i), Value::Array(items)) => {
                let slot = items
                    .get_mut(*i)
                    .ok_or_else(|| format!("{self}: index {i} is out of range"))?;
                *slot = value;
            }
            (step, other) => return Err(mismatch(self, step, other)),
        }
        Ok(out)
    }
}

/// The error of a `ResultPath` that runs into a node of the wrong type.
fn mismatch(path: &Path, step: &Step, node: &Value) -> String {
    let kind = match node {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    match step {
        Step::Field(name) => format!("{path}: cannot set field {name:?} in {kind}"),
        Step::Index(i) => format!("{path}: cannot set index {i} in {kind}"),
    }
}

/// Characters of a dot-notation member name.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Parses `[0]` or `['name']` at the start of `text`.
fn parse_bracket(text: &str) -> Result<(Step, usize), String> {
    let inner = &text[1..];
    if let Some(quoted) = inner.strip_prefix('\'') {
        let mut name = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, esc @ ('\'' | '\\'))) => name.push(esc),
                    _ => return Err("unsupported escape in a quoted member name".to_owned()),
                },
                '\'' => {
                    return if quoted[i + 1..].starts_with(']') && !name.is_empty() {
                        Ok((Step::Field(name), 1 + 1 + i + 1 + 1))
                    } else {
                        Err("expected a non-empty ['name']".to_owned())
                    };
                }
                c => name.push(c),
            }
        }
        return Err("unterminated quoted member name".to_owned());
    }
    let digits: String = inner.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !inner[digits.len()..].starts_with(']') {
        return Err("unsupported bracket expression (supported: [0] and ['name'])".to_owned());
    }
    let index = digits
        .parse::<usize>()
        .map_err(|_| "array index out of range".to_owned())?;
    Ok((Step::Index(index), 1 + digits.len() + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(path: &str, value: &Value) -> Option<Value> {
        Path::parse(path).unwrap().select(value).cloned()
    }

    #[test]
    fn the_supported_forms_select_one_node() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "weird key": 1, "k-1": true});
        assert_eq!(select("$", &doc), Some(doc.clone()));
        assert_eq!(select("$.a.b[0]", &doc), Some(json!(10)));
        assert_eq!(select("$.a.b[1].c", &doc), Some(json!("x")));
        assert_eq!(select("$['a']['b'][1]['c']", &doc), Some(json!("x")));
        assert_eq!(select("$['weird key']", &doc), Some(json!(1)));
        assert_eq!(select("$.k-1", &doc), Some(json!(true)));
        assert_eq!(select("$.a.missing", &doc), None);
        assert_eq!(select("$.a.b[7]", &doc), None);
        assert_eq!(select("$.a[0]", &doc), None);
        assert_eq!(select("$.a.b.c", &doc), None);
    }

    #[test]
    fn context_paths_start_with_two_dollars() {
        let path = Path::parse("$$.Execution.Id").unwrap();
        assert_eq!(path.root(), Root::Context);
        assert_eq!(
            path.steps(),
            &[Step::Field("Execution".into()), Step::Field("Id".into())]
        );
        assert_eq!(Path::parse("$.x").unwrap().root(), Root::Data);
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "a",
            "$.",
            "$..a",
            "$.*",
            "$.a[*]",
            "$.a[-1]",
            "$.a[0:2]",
            "$.a[0,1]",
            "$.a[?(@.b)]",
            "$['a",
            "$['']",
            "$.a b",
            "$[\"a\"]",
            "$.a.length()",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_prefix_stops_where_the_path_ends() {
        let (path, used) = Path::parse_prefix("$.a[0], 'x')").unwrap();
        assert_eq!(path.to_string(), "$.a[0]");
        assert_eq!(used, 6);
    }

    #[test]
    fn put_creates_missing_members_and_keeps_the_rest() {
        let input = json!({"keep": 1, "a": {"old": 2}});
        let out = Path::parse("$.a.b.c")
            .unwrap()
            .put(&input, json!("r"))
            .unwrap();
        assert_eq!(out, json!({"keep": 1, "a": {"old": 2, "b": {"c": "r"}}}));
        assert_eq!(
            Path::parse("$").unwrap().put(&input, json!(7)).unwrap(),
            json!(7)
        );
        let list = json!({"l": [1, 2]});
        assert_eq!(
            Path::parse("$.l[1]").unwrap().put(&list, json!(9)).unwrap(),
            json!({"l": [1, 9]})
        );
    }

    #[test]
    fn put_refuses_to_go_through_a_non_object() {
        let input = json!({"a": "text"});
        assert!(Path::parse("$.a.b").unwrap().put(&input, json!(1)).is_err());
        assert!(
            Path::parse("$.x")
                .unwrap()
                .put(&json!([1]), json!(1))
                .is_err()
        );
        assert!(
            Path::parse("$.l[5]")
                .unwrap()
                .put(&json!({"l": []}), json!(1))
                .is_err()
        );
    }
}
