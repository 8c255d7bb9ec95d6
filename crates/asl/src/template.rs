//! Payload templates (`Parameters`, `ResultSelector`, a Task's `Payload`): JSON whose members
//! named `key.$` take their value from a path (`$.x`, `$$.Task.Token`) or from one of the
//! intrinsic functions `States.Format`, `States.StringToJson`, `States.JsonToString` and
//! `States.Array`. Templates are compiled when the definition loads, so a bad path or an unknown
//! function is refused before any execution starts.

use serde_json::{Map, Value};

use crate::path::{Path, Root};
use crate::task::{INTRINSIC_FAILURE, TaskFailure};

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// A JSON value without any `.$` member.
    Literal(Value),
    /// An object, some of whose members are computed.
    Object(Vec<(String, Template)>),
    /// An array, some of whose items are computed.
    Array(Vec<Template>),
    /// The value a path selects.
    Path(Path),
    /// The value of an intrinsic function.
    Call(Call),
}

/// Where a template compilation problem is: the dotted field and what is wrong.
pub(crate) type CompileError = (String, String);

impl Template {
    /// Compiles `value`, found at `field` of a state, into a template.
    pub(crate) fn compile(value: &Value, field: &str) -> Result<Self, CompileError> {
        let template = match value {
            Value::Object(map) => {
                let mut members: Vec<(String, Template)> = Vec::with_capacity(map.len());
                for (key, item) in map {
                    let at = format!("{field}.{key}");
                    let (name, member) = match key.strip_suffix(".$") {
                        Some(name) => (name, Self::expression(item, &at)?),
                        None => (key.as_str(), Self::compile(item, &at)?),
                    };
                    if name.is_empty() {
                        return Err((at, "a member name must not be empty".to_owned()));
                    }
                    if members.iter().any(|(n, _)| n == name) {
                        return Err((at, format!("member {name:?} is given twice")));
                    }
                    members.push((name.to_owned(), member));
                }
                Self::Object(members)
            }
            Value::Array(items) => Self::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::compile(item, &format!("{field}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            other => Self::Literal(other.clone()),
        };
        Ok(template.simplify())
    }

    /// Compiles the value of a `key.$` member: a path or an intrinsic function call.
    pub(crate) fn expression(value: &Value, field: &str) -> Result<Self, CompileError> {
        let Value::String(text) = value else {
            return Err((
                field.to_owned(),
                "expected a path or an intrinsic function as a string".to_owned(),
            ));
        };
        let text = text.trim();
        if text.starts_with("States.") {
            Call::parse(text)
                .map(Self::Call)
                .map_err(|problem| (field.to_owned(), problem))
        } else {
            Path::parse(text)
                .map(Self::Path)
                .map_err(|problem| (field.to_owned(), problem))
        }
    }

    /// A template without computed members is one literal.
    fn simplify(self) -> Self {
        match self {
            Self::Object(members) if members.iter().all(|(_, t)| t.is_literal()) => {
                Self::Literal(Value::Object(
                    members
                        .into_iter()
                        .map(|(k, t)| (k, t.into_literal()))
                        .collect(),
                ))
            }
            Self::Array(items) if items.iter().all(Self::is_literal) => Self::Literal(
                Value::Array(items.into_iter().map(Self::into_literal).collect()),
            ),
            other => other,
        }
    }

    fn is_literal(&self) -> bool {
        matches!(self, Self::Literal(_))
    }

    fn into_literal(self) -> Value {
        match self {
            Self::Literal(value) => value,
            _ => Value::Null,
        }
    }

    /// Evaluates the template against the state's `data` and the `context` object.
    pub(crate) fn eval(&self, data: &Value, context: &Value) -> Result<Value, TaskFailure> {
        match self {
            Self::Literal(value) => Ok(value.clone()),
            Self::Object(members) => {
                let mut out = Map::new();
                for (name, member) in members {
                    out.insert(name.clone(), member.eval(data, context)?);
                }
                Ok(Value::Object(out))
            }
            Self::Array(items) => items
                .iter()
                .map(|item| item.eval(data, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Self::Path(path) => resolve(path, data, context).cloned(),
            Self::Call(call) => call.eval(data, context),
        }
    }

    /// Every path the template reads, including those inside function calls.
    pub(crate) fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Self::Literal(_) => {}
            Self::Object(members) => members.iter().for_each(|(_, t)| t.collect_paths(out)),
            Self::Array(items) => items.iter().for_each(|t| t.collect_paths(out)),
            Self::Path(path) => out.push(path),
            Self::Call(call) => call.collect_paths(out),
        }
    }

    /// The member `name` of an object template.
    pub(crate) fn member(&self, name: &str) -> Option<Template> {
        match self {
            Self::Object(members) => members
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone()),
            Self::Literal(Value::Object(map)) => map.get(name).cloned().map(Self::Literal),
            _ => None,
        }
    }
}

/// The node `path` selects in `data` (root `$`) or in `context` (root `$$`).
pub(crate) fn resolve<'a>(
    path: &Path,
    data: &'a Value,
    context: &'a Value,
) -> Result<&'a Value, TaskFailure> {
    let root = match path.root() {
        Root::Data => data,
        Root::Context => context,
    };
    path.select(root).ok_or_else(|| {
        TaskFailure::runtime(format!(
            "the JSONPath {path} could not be found in the {}",
            match path.root() {
                Root::Data => "input",
                Root::Context => "context object",
            }
        ))
    })
}

/// An intrinsic function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    /// `States.Format('template {}', arg…)`.
    Format,
    /// `States.StringToJson(string)`.
    StringToJson,
    /// `States.JsonToString(value)`.
    JsonToString,
    /// `States.Array(value…)`.
    Array,
}

/// An argument of an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A quoted string; each character says whether it was escaped with a backslash.
    Text(Vec<(char, bool)>),
    /// A path.
    Path(Path),
    /// A nested call.
    Call(Call),
}

/// A call of an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    function: Function,
    args: Vec<Arg>,
}

impl Call {
    /// Parses a whole call such as `States.Format('{} x', $.a)`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser { text, at: 0 };
        let call = parser.call()?;
        parser.skip_spaces();
        if parser.at != text.len() {
            return Err(format!(
                "unexpected {:?} after the intrinsic function call",
                &text[parser.at..]
            ));
        }
        Ok(call)
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        for arg in &self.args {
            match arg {
                Arg::Path(path) => out.push(path),
                Arg::Call(call) => call.collect_paths(out),
                Arg::Literal(_) | Arg::Text(_) => {}
            }
        }
    }

    fn eval(&self, data: &Value, context: &Value) -> Result<Value, TaskFailure> {
        let fail = |cause: String| TaskFailure::new(INTRINSIC_FAILURE, cause);
        match self.function {
            Function::Format => {
                let (template, rest) = self
                    .args
                    .split_first()
                    .ok_or_else(|| fail("States.Format needs a template".to_owned()))?;
                let pieces = match template {
                    Arg::Text(chars) => chars.clone(),
                    other => match eval_arg(other, data, context)? {
                        Value::String(s) => s.chars().map(|c| (c, false)).collect(),
                        _ => return Err(fail("the States.Format template is not a string".into())),
                    },
                };
                let values = rest
                    .iter()
                    .map(|arg| eval_arg(arg, data, context))
                    .collect::<Result<Vec<_>, _>>()?;
                format(&pieces, &values).map_err(fail)
            }
            Function::StringToJson => match self.single(data, context)? {
                Value::String(s) => {
                    serde_json::from_str(&s).map_err(|e| fail(format!("States.StringToJson: {e}")))
                }
                _ => Err(fail("States.StringToJson needs a string".to_owned())),
            },
            Function::JsonToString => {
                let value = self.single(data, context)?;
                serde_json::to_string(&value)
                    .map(Value::String)
                    .map_err(|e| fail(format!("States.JsonToString: {e}")))
            }
            Function::Array => self
                .args
                .iter()
                .map(|arg| eval_arg(arg, data, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
        }
    }

    fn single(&self, data: &Value, context: &Value) -> Result<Value, TaskFailure> {
        match self.args.as_slice() {
            [arg] => eval_arg(arg, data, context),
            _ => Err(TaskFailure::new(
                INTRINSIC_FAILURE,
                "expected exactly one argument",
            )),
        }
    }
}

fn eval_arg(arg: &Arg, data: &Value, context: &Value) -> Result<Value, TaskFailure> {
    match arg {
        Arg::Literal(value) => Ok(value.clone()),
        Arg::Text(chars) => Ok(Value::String(chars.iter().map(|(c, _)| c).collect())),
        Arg::Path(path) => resolve(path, data, context).cloned(),
        Arg::Call(call) => call.eval(data, context),
    }
}

/// Fills the unescaped `{}` of `pieces` with `values`, in order.
fn format(pieces: &[(char, bool)], values: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut i = 0;
    while let Some(&(c, escaped)) = pieces.get(i) {
        if c == '{' && !escaped && pieces.get(i + 1) == Some(&('}', false)) {
            let value = values
                .next()
                .ok_or("States.Format has more {} than arguments")?;
            match value {
                Value::String(s) => out.push_str(s),
                Value::Number(n) => out.push_str(&n.to_string()),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Null => out.push_str("null"),
                Value::Array(_) | Value::Object(_) => {
                    return Err("States.Format cannot insert an object or an array".to_owned());
                }
            }
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    if values.next().is_some() {
        return Err("States.Format has more arguments than {}".to_owned());
    }
    Ok(Value::String(out))
}

/// Counts the unescaped `{}` of a template.
fn placeholders(pieces: &[(char, bool)]) -> usize {
    pieces
        .windows(2)
        .filter(|w| w[0] == ('{', false) && w[1] == ('}', false))
        .count()
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let Some(after) = self.rest().strip_prefix("States.") else {
            return Err(format!(
                "expected an intrinsic function at {:?}",
                self.rest()
            ));
        };
        let name: String = after
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let function = match name.as_str() {
            "Format" => Function::Format,
            "StringToJson" => Function::StringToJson,
            "JsonToString" => Function::JsonToString,
            "Array" => Function::Array,
            _ => {
                return Err(format!(
                    "intrinsic function States.{name} is not supported (supported: States.Format, \
                     States.StringToJson, States.JsonToString, States.Array)"
                ));
            }
        };
        self.at += "States.".len() + name.len();
        if !self.eat('(') {
            return Err(format!("expected ( after States.{name}"));
        }
        let mut args = Vec::new();
        self.skip_spaces();
        if !self.eat(')') {
            loop {
                self.skip_spaces();
                args.push(self.arg()?);
                self.skip_spaces();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(format!("expected , or ) at {:?}", self.rest()));
                }
            }
        }
        let arity_ok = match function {
            Function::Format => match args.first() {
                Some(Arg::Text(pieces)) => placeholders(pieces) == args.len() - 1,
                Some(_) => true,
                None => false,
            },
            Function::StringToJson | Function::JsonToString => args.len() == 1,
            Function::Array => true,
        };
        if !arity_ok {
            return Err(format!(
                "States.{name} is called with the wrong number of arguments"
            ));
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let rest = self.rest();
        if rest.starts_with('\'') {
            return self.text_literal().map(Arg::Text);
        }
        if rest.starts_with('$') {
            let (path, used) = Path::parse_prefix(rest)?;
            self.at += used;
            return Ok(Arg::Path(path));
        }
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'))
            .collect();
        let value = match word.as_str() {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            number => match serde_json::from_str::<Value>(number) {
                Ok(value @ Value::Number(_)) => value,
                _ => return Err(format!("unexpected argument at {rest:?}")),
            },
        };
        self.at += word.len();
        Ok(Arg::Literal(value))
    }

    fn text_literal(&mut self) -> Result<Vec<(char, bool)>, String> {
        self.at += 1;
        let mut out = Vec::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, esc)) => out.push((esc, true)),
                    None => break,
                },
                '\'' => {
                    self.at += i + 1;
                    return Ok(out);
                }
                c => out.push((c, false)),
            }
        }
        Err("unterminated string argument".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(template: Value, data: &Value) -> Result<Value, TaskFailure> {
        let context = json!({"Execution": {"Name": "exec-1"}, "Task": {"Token": "tok"}});
        Template::compile(&template, "Parameters")
            .unwrap()
            .eval(data, &context)
    }

    #[test]
    fn dollar_members_take_their_value_from_paths() {
        let data = json!({"id": "r1", "nested": {"n": 3}});
        let out = eval(
            json!({
                "fixed": "x",
                "id.$": "$.id",
                "token.$": "$$.Task.Token",
                "inner": {"n.$": "$.nested.n", "list": [{"name.$": "$$.Execution.Name"}, 1]}
            }),
            &data,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "fixed": "x",
                "id": "r1",
                "token": "tok",
                "inner": {"n": 3, "list": [{"name": "exec-1"}, 1]}
            })
        );
    }

    #[test]
    fn a_missing_path_is_a_runtime_error() {
        let err = eval(json!({"x.$": "$.missing"}), &json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"), "{}", err.cause);
    }

    #[test]
    fn intrinsic_functions_compute_values() {
        let data = json!({"name": "keisuke", "n": 2, "doc": "{\"a\":[1]}", "obj": {"k": true}});
        let out = eval(
            json!({
                "greeting.$": "States.Format('hi {}, you have {} \\{new\\} {}', $.name, $.n, null)",
                "parsed.$": "States.StringToJson($.doc)",
                "text.$": "States.JsonToString($.obj)",
                "list.$": "States.Array($.n, 'two', States.Format('{}!', $.name))"
            }),
            &data,
        )
        .unwrap();
        assert_eq!(out["greeting"], json!("hi keisuke, you have 2 {new} null"));
        assert_eq!(out["parsed"], json!({"a": [1]}));
        assert_eq!(out["text"], json!("{\"k\":true}"));
        assert_eq!(out["list"], json!([2, "two", "keisuke!"]));
    }

    #[test]
    fn intrinsic_failures_are_named() {
        let err = eval(
            json!({"x.$": "States.StringToJson($.s)"}),
            &json!({"s": "{"}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
        let err = eval(
            json!({"x.$": "States.Format('{}', $.o)"}),
            &json!({"o": {}}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
    }

    #[test]
    fn bad_templates_are_refused_with_their_field() {
        let cases = [
            (json!({"a.$": 3}), "Parameters.a.$"),
            (json!({"a.$": "$.a[*]"}), "Parameters.a.$"),
            (json!({"a": {"b.$": "States.UUID()"}}), "Parameters.a.b.$"),
            (
                json!({"a.$": "States.Format('{} {}', $.x)"}),
                "Parameters.a.$",
            ),
            (
                json!({"a.$": "States.StringToJson($.x, $.y)"}),
                "Parameters.a.$",
            ),
            (json!({"a.$": "States.Format('x'"}), "Parameters.a.$"),
            (json!({"a": 1, "a.$": "$.a"}), "Parameters.a.$"),
            (json!({"list": [{"b.$": "nope"}]}), "Parameters.list[0].b.$"),
        ];
        for (template, field) in cases {
            let err = Template::compile(&template, "Parameters").unwrap_err();
            assert_eq!(err.0, field, "{template}: {}", err.1);
        }
    }

    #[test]
    fn literal_templates_collapse_and_paths_are_listed() {
        assert_eq!(
            Template::compile(&json!({"a": [1, {"b": 2}]}), "P").unwrap(),
            Template::Literal(json!({"a": [1, {"b": 2}]}))
        );
        let t = Template::compile(
            &json!({"a.$": "States.Format('{}', $$.Task.Token)", "b.$": "$.x"}),
            "P",
        )
        .unwrap();
        let paths: Vec<String> = t.paths().iter().map(ToString::to_string).collect();
        assert_eq!(paths, ["$$.Task.Token", "$.x"]);
    }
}
