//! Loading a state machine definition: `${name}` substitution (terraform `templatefile` style),
//! then a strict parse into the subset of the Amazon States Language the runner implements.
//! Whatever it does not implement — a state type, a field, a resource, a path form, an
//! intrinsic function — is refused here with the state and the field named, never ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::choice::Rule;
use crate::error::{Error, Result};
use crate::path::{Path, Root, Step};
use crate::task::ALL;
use crate::template::{CompileError, Template};
use crate::timefmt;

/// A loaded, validated state machine.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
    pub(crate) timeout_seconds: Option<u64>,
}

/// One state.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) input_path: DataPath,
    pub(crate) output_path: DataPath,
    pub(crate) kind: Kind,
}

/// `InputPath`, `OutputPath` or `ResultPath`: a path, or `null`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DataPath {
    /// A reference path (`$` when the field is absent).
    Path(Path),
    /// `null`: `{}` for `InputPath`/`OutputPath`, the input unchanged for `ResultPath`.
    Null,
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// `"Next": name`.
    State(String),
    /// `"End": true`.
    End,
}

/// What a state does.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `Pass`.
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: DataPath,
        next: Next,
    },
    /// `Task`.
    Task(Box<Task>),
    /// `Choice`.
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    /// `Wait`.
    Wait { until: WaitFor, next: Next },
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
}

/// `Error`/`Cause` of a Fail state, given or computed (`ErrorPath`/`CausePath`).
#[derive(Debug, Clone)]
pub(crate) enum Text {
    /// Written in the definition.
    Literal(String),
    /// A path or intrinsic function evaluated against the state's input.
    Computed(Template),
}

/// What a Wait state waits for.
#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    Timestamp(OffsetDateTime),
    SecondsPath(Path),
    TimestampPath(Path),
}

/// A Lambda-invoking Task state.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) wait_for_token: bool,
    pub(crate) function: String,
    pub(crate) payload: Template,
    pub(crate) result_selector: Option<Template>,
    pub(crate) result_path: DataPath,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
    pub(crate) timeout: Option<Timeout>,
    pub(crate) next: Next,
}

/// `TimeoutSeconds` or `TimeoutSecondsPath`.
#[derive(Debug, Clone)]
pub(crate) enum Timeout {
    Seconds(u64),
    Path(Path),
}

/// One entry of `Retry`.
#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub(crate) errors: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
}

/// One entry of `Catch`.
#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub(crate) errors: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: DataPath,
}

/// Fields that exist in the States Language but that the runner does not implement.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
    "Arguments",
    "Output",
    "Assign",
    "Branches",
    "Iterator",
    "ItemProcessor",
    "ItemsPath",
    "ItemSelector",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "Label",
    "Condition",
    "JitterStrategy",
];

/// Largest value of the integer fields (Step Functions' own limit).
const MAX_SECONDS: u64 = 99_999_999;

impl Definition {
    /// Substitutes `${name}` placeholders from `variables`, then parses and validates the
    /// definition.
    ///
    /// # Errors
    /// [`Error::Substitution`] when a placeholder has no value or a variable is not used;
    /// [`Error::Definition`] when the definition is not valid JSON, breaks a rule of the
    /// language, or uses something the runner does not implement.
    pub fn load(text: &str, variables: &BTreeMap<String, String>) -> Result<Self> {
        let text = substitute(text, variables)?;
        Self::from_json(&text)
    }

    /// Parses and validates a definition without placeholders.
    ///
    /// # Errors
    /// [`Error::Definition`] as for [`Definition::load`]; a leftover `${…}` makes the JSON
    /// invalid or ends up as a literal string, so prefer `load` for templates.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::definition(None, "(document)", format!("invalid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(Error::definition(
                None,
                "(document)",
                "expected a JSON object",
            ));
        };
        let mut top = Fields::new(None, "", &map);
        let start_at = top
            .string("StartAt")?
            .ok_or_else(|| Error::definition(None, "StartAt", "missing"))?
            .to_owned();
        top.string("Comment")?;
        if let Some(version) = top.string("Version")?
            && version != "1.0"
        {
            return Err(Error::definition(None, "Version", "expected \"1.0\""));
        }
        query_language(&mut top)?;
        let timeout_seconds = top.uint("TimeoutSeconds", 1)?;
        let Some(Value::Object(state_map)) = top.take("States") else {
            return Err(Error::definition(
                None,
                "States",
                "expected an object of states",
            ));
        };
        top.finish("the top level")?;
        if state_map.is_empty() {
            return Err(Error::definition(None, "States", "no states"));
        }
        let mut states = HashMap::with_capacity(state_map.len());
        for (name, value) in state_map {
            if name.is_empty() || name.chars().count() > 80 {
                return Err(Error::definition(
                    Some(name),
                    "(name)",
                    "state names have 1 to 80 characters",
                ));
            }
            states.insert(name.clone(), parse_state(name, value)?);
        }
        let definition = Self {
            start_at,
            states,
            timeout_seconds,
        };
        definition.check_transitions()?;
        Ok(definition)
    }

    /// The first state.
    #[must_use]
    pub fn start_at(&self) -> &str {
        &self.start_at
    }

    /// The names of all states, sorted.
    #[must_use]
    pub fn state_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.states.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub(crate) fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }

    /// Every `Next`, `Default` and catcher target exists, and every state is reachable.
    fn check_transitions(&self) -> Result<()> {
        if !self.states.contains_key(&self.start_at) {
            return Err(Error::definition(
                None,
                "StartAt",
                format!("no state is named {:?}", self.start_at),
            ));
        }
        let mut names: Vec<&String> = self.states.keys().collect();
        names.sort();
        for name in &names {
            for (field, target) in self.states[*name].targets() {
                if !self.states.contains_key(target) {
                    return Err(Error::definition(
                        Some(name),
                        field,
                        format!("no state is named {target:?}"),
                    ));
                }
            }
        }
        let mut seen = BTreeSet::from([self.start_at.as_str()]);
        let mut todo = vec![self.start_at.as_str()];
        while let Some(name) = todo.pop() {
            for (_, target) in self.states[name].targets() {
                if seen.insert(target) {
                    todo.push(target);
                }
            }
        }
        if let Some(lost) = names.iter().find(|n| !seen.contains(n.as_str())) {
            return Err(Error::definition(
                Some(lost),
                "(name)",
                format!("the state is not reachable from {:?}", self.start_at),
            ));
        }
        Ok(())
    }
}

impl State {
    /// The states this one may go to, with the field naming each.
    fn targets(&self) -> Vec<(String, &str)> {
        fn next(next: &Next) -> Vec<(String, &str)> {
            match next {
                Next::State(target) => vec![("Next".to_owned(), target.as_str())],
                Next::End => Vec::new(),
            }
        }
        match &self.kind {
            Kind::Pass { next: n, .. } | Kind::Wait { next: n, .. } => next(n),
            Kind::Task(task) => {
                let mut out = next(&task.next);
                out.extend(
                    task.catch
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (format!("Catch[{i}].Next"), c.next.as_str())),
                );
                out
            }
            Kind::Choice { choices, default } => {
                let mut out: Vec<(String, &str)> = choices
                    .iter()
                    .enumerate()
                    .map(|(i, (_, target))| (format!("Choices[{i}].Next"), target.as_str()))
                    .collect();
                out.extend(default.iter().map(|d| ("Default".to_owned(), d.as_str())));
                out
            }
            Kind::Succeed | Kind::Fail { .. } => Vec::new(),
        }
    }
}

/// Replaces every `${name}` with its value, as terraform's `templatefile` does: `$${` is a
/// literal `${`, `%%{` a literal `%{`; template directives (`%{ … }`) are refused.
///
/// # Errors
/// [`Error::Substitution`] when a placeholder is not a plain name, has no value, or a variable
/// is not used by the text.
pub fn substitute(text: &str, variables: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut used = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(['$', '%']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("%%{") {
            out.push_str("%{");
            rest = after;
        } else if tail.starts_with("%{") {
            return Err(Error::Substitution {
                name: tail.chars().take(20).collect(),
                problem: "template directives are not supported".to_owned(),
            });
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after.find('}').ok_or_else(|| Error::Substitution {
                name: after.chars().take(20).collect(),
                problem: "unterminated placeholder".to_owned(),
            })?;
            let name = after[..end].trim();
            let plain = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !plain {
                return Err(Error::Substitution {
                    name: name.to_owned(),
                    problem: "only plain variable names are supported".to_owned(),
                });
            }
            let value = variables.get(name).ok_or_else(|| Error::Substitution {
                name: name.to_owned(),
                problem: "no value was supplied".to_owned(),
            })?;
            out.push_str(value);
            used.insert(name.to_owned());
            rest = &after[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    if let Some(unused) = variables.keys().find(|k| !used.contains(*k)) {
        return Err(Error::Substitution {
            name: unused.clone(),
            problem: "the definition has no such placeholder".to_owned(),
        });
    }
    Ok(out)
}

/// The object being read, and which of its fields were read.
struct Fields<'a> {
    state: Option<&'a str>,
    prefix: String,
    map: &'a Map<String, Value>,
    used: BTreeSet<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(state: Option<&'a str>, prefix: &str, map: &'a Map<String, Value>) -> Self {
        Self {
            state,
            prefix: prefix.to_owned(),
            map,
            used: BTreeSet::new(),
        }
    }

    fn field(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn err(&self, key: &str, problem: impl Into<String>) -> Error {
        Error::definition(self.state, self.field(key), problem)
    }

    fn compile_err(&self, (field, problem): CompileError) -> Error {
        Error::definition(self.state, field, problem)
    }

    fn take(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.insert(k.as_str());
        Some(v)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn string(&mut self, key: &str) -> Result<Option<&'a str>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, "expected a string")),
        }
    }

    fn uint(&mut self, key: &str, min: u64) -> Result<Option<u64>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => match value.as_u64() {
                Some(n) if (min..=MAX_SECONDS).contains(&n) => Ok(Some(n)),
                _ => Err(self.err(
                    key,
                    format!("expected an integer from {min} to {MAX_SECONDS}"),
                )),
            },
        }
    }

    fn path(&mut self, key: &str) -> Result<Option<Path>> {
        match self.string(key)? {
            None => Ok(None),
            Some(text) => data_path(text).map(Some).map_err(|p| self.err(key, p)),
        }
    }

    /// `InputPath`, `OutputPath`, `ResultPath`: default `$`, `null` allowed.
    fn data_path(&mut self, key: &str) -> Result<DataPath> {
        match self.take(key) {
            None => Ok(DataPath::Path(root())),
            Some(Value::Null) => Ok(DataPath::Null),
            Some(Value::String(text)) => data_path(text)
                .map(DataPath::Path)
                .map_err(|p| self.err(key, p)),
            Some(_) => Err(self.err(key, "expected a path or null")),
        }
    }

    fn template(&mut self, key: &str) -> Result<Option<Template>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => {
                let field = self.field(key);
                Template::compile(value, &field)
                    .map(Some)
                    .map_err(|e| self.compile_err(e))
            }
        }
    }

    fn next(&mut self) -> Result<Next> {
        let next = self.string("Next")?;
        let end = match self.take("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(self.err("End", "expected true")),
        };
        match (next, end) {
            (Some(target), false) => Ok(Next::State(target.to_owned())),
            (None, true) => Ok(Next::End),
            (Some(_), true) => Err(self.err("End", "a state has either Next or End")),
            (None, false) => Err(self.err("Next", "a state needs Next or \"End\": true")),
        }
    }

    /// Refuses the fields nobody read.
    fn finish(&self, what: &str) -> Result<()> {
        match self.map.keys().find(|k| !self.used.contains(k.as_str())) {
            None => Ok(()),
            Some(key) if UNSUPPORTED_FIELDS.contains(&key.as_str()) => {
                Err(self.err(key, "is not supported by the local ASL runner"))
            }
            Some(key) => Err(self.err(key, format!("is not a field of {what}"))),
        }
    }
}

fn root() -> Path {
    Path::data_root()
}

/// A path on the state's data (not the context object).
fn data_path(text: &str) -> Result<Path, String> {
    let path = Path::parse(text)?;
    if path.root() == Root::Context {
        return Err("a context path ($$) is not allowed here".to_owned());
    }
    Ok(path)
}

/// Only the JSONPath query language is implemented.
fn query_language(fields: &mut Fields<'_>) -> Result<()> {
    match fields.string("QueryLanguage")? {
        None | Some("JSONPath") => Ok(()),
        Some(_) => Err(fields.err(
            "QueryLanguage",
            "only JSONPath is supported by the local ASL runner",
        )),
    }
}

fn parse_state(name: &str, value: &Value) -> Result<State> {
    let Value::Object(map) = value else {
        return Err(Error::definition(
            Some(name),
            "(state)",
            "expected an object",
        ));
    };
    let mut f = Fields::new(Some(name), "", map);
    let kind_name = f.string("Type")?.ok_or_else(|| f.err("Type", "missing"))?;
    f.string("Comment")?;
    query_language(&mut f)?;
    let no_io = matches!(kind_name, "Fail");
    let (input_path, output_path) = if no_io {
        (DataPath::Path(root()), DataPath::Path(root()))
    } else {
        (f.data_path("InputPath")?, f.data_path("OutputPath")?)
    };
    let kind = match kind_name {
        "Pass" => Kind::Pass {
            parameters: f.template("Parameters")?,
            result: f.take("Result").cloned(),
            result_path: f.data_path("ResultPath")?,
            next: f.next()?,
        },
        "Task" => Kind::Task(Box::new(parse_task(&mut f)?)),
        "Choice" => parse_choice(&mut f)?,
        "Wait" => parse_wait(&mut f)?,
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: text_field(&mut f, "Error", "ErrorPath")?,
            cause: text_field(&mut f, "Cause", "CausePath")?,
        },
        "Parallel" | "Map" => {
            return Err(f.err(
                "Type",
                format!("{kind_name} states are not supported by the local ASL runner"),
            ));
        }
        other => return Err(f.err("Type", format!("unknown state type {other:?}"))),
    };
    f.finish(&format!("a {kind_name} state"))?;
    Ok(State {
        input_path,
        output_path,
        kind,
    })
}

fn text_field(f: &mut Fields<'_>, key: &str, path_key: &str) -> Result<Option<Text>> {
    let literal = f.string(key)?;
    let computed = match f.take(path_key) {
        None => None,
        Some(value) => {
            let field = f.field(path_key);
            Some(Template::expression(value, &field).map_err(|e| f.compile_err(e))?)
        }
    };
    match (literal, computed) {
        (Some(_), Some(_)) => {
            Err(f.err(path_key, format!("{key} and {path_key} exclude each other")))
        }
        (Some(text), None) => Ok(Some(Text::Literal(text.to_owned()))),
        (None, Some(template)) => Ok(Some(Text::Computed(template))),
        (None, None) => Ok(None),
    }
}

fn parse_wait(f: &mut Fields<'_>) -> Result<Kind> {
    let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    let until = match given.as_slice() {
        [] => {
            return Err(f.err(
                "Seconds",
                "a Wait state needs one of Seconds, Timestamp, SecondsPath, TimestampPath",
            ));
        }
        [_, second, ..] => {
            return Err(f.err(
                second,
                "a Wait state has only one of Seconds, Timestamp, SecondsPath, TimestampPath",
            ));
        }
        ["Seconds"] => WaitFor::Seconds(f.uint("Seconds", 0)?.unwrap_or(0)),
        ["Timestamp"] => {
            let text = f.string("Timestamp")?.unwrap_or_default();
            WaitFor::Timestamp(
                timefmt::parse(text)
                    .ok_or_else(|| f.err("Timestamp", "expected an RFC 3339 timestamp"))?,
            )
        }
        ["SecondsPath"] => WaitFor::SecondsPath(f.path("SecondsPath")?.unwrap_or_else(root)),
        [_] => WaitFor::TimestampPath(f.path("TimestampPath")?.unwrap_or_else(root)),
    };
    Ok(Kind::Wait {
        until,
        next: f.next()?,
    })
}

fn parse_choice(f: &mut Fields<'_>) -> Result<Kind> {
    let Some(Value::Array(items)) = f.take("Choices") else {
        return Err(f.err("Choices", "expected a non-empty array of rules"));
    };
    if items.is_empty() {
        return Err(f.err("Choices", "expected a non-empty array of rules"));
    }
    let mut choices = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("Choices[{i}]");
        let rule = Rule::compile(item, &field, true).map_err(|e| f.compile_err(e))?;
        let next = match item.get("Next") {
            Some(Value::String(next)) => next.clone(),
            _ => return Err(f.err(&format!("{field}.Next"), "every choice rule needs Next")),
        };
        if let Some(comment) = item.get("Comment")
            && !comment.is_string()
        {
            return Err(f.err(&format!("{field}.Comment"), "expected a string"));
        }
        choices.push((rule, next));
    }
    let default = f.string("Default")?.map(str::to_owned);
    Ok(Kind::Choice { choices, default })
}

fn parse_task(f: &mut Fields<'_>) -> Result<Task> {
    let resource = f
        .string("Resource")?
        .ok_or_else(|| f.err("Resource", "missing"))?;
    let wait_for_token = match resource.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "states", "", "", "lambda", integration] if !partition.is_empty() => {
            match *integration {
                "invoke" => false,
                "invoke.waitForTaskToken" => true,
                _ => {
                    return Err(f.err(
                        "Resource",
                        format!(
                            "{resource:?} is not supported (supported: lambda:invoke and \
                                 lambda:invoke.waitForTaskToken)"
                        ),
                    ));
                }
            }
        }
        _ => {
            return Err(f.err(
                "Resource",
                format!(
                    "{resource:?} is not supported (supported: arn:aws:states:::lambda:invoke \
                     and arn:aws:states:::lambda:invoke.waitForTaskToken)"
                ),
            ));
        }
    };
    let (function, payload) = parse_invoke_parameters(f, wait_for_token)?;
    let result_selector = f.template("ResultSelector")?;
    let result_path = f.data_path("ResultPath")?;
    let timeout = match (f.uint("TimeoutSeconds", 1)?, f.path("TimeoutSecondsPath")?) {
        (Some(_), Some(_)) => {
            return Err(f.err(
                "TimeoutSecondsPath",
                "TimeoutSeconds and TimeoutSecondsPath exclude each other",
            ));
        }
        (Some(seconds), None) => Some(Timeout::Seconds(seconds)),
        (None, Some(path)) => Some(Timeout::Path(path)),
        (None, None) => None,
    };
    let retry = parse_retry(f)?;
    let catch = parse_catch(f)?;
    Ok(Task {
        wait_for_token,
        function,
        payload,
        result_selector,
        result_path,
        retry,
        catch,
        timeout,
        next: f.next()?,
    })
}

fn parse_invoke_parameters(f: &mut Fields<'_>, wait_for_token: bool) -> Result<(String, Template)> {
    let Some(Value::Object(params)) = f.take("Parameters") else {
        return Err(f.err(
            "Parameters",
            "a lambda:invoke task needs Parameters with FunctionName and Payload",
        ));
    };
    if let Some(key) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "FunctionName" | "Payload" | "Payload.$"))
    {
        return Err(f.err(
            &format!("Parameters.{key}"),
            "is not supported by the local ASL runner (supported: FunctionName, Payload)",
        ));
    }
    let function = match params.get("FunctionName") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => {
            return Err(f.err(
                "Parameters.FunctionName",
                "expected the function's name or ARN as a string",
            ));
        }
    };
    let template = Template::compile(&Value::Object(params.clone()), "Parameters")
        .map_err(|e| f.compile_err(e))?;
    let payload = template
        .member("Payload")
        .ok_or_else(|| f.err("Parameters.Payload", "missing"))?;
    let passes_token = payload.paths().iter().any(|p| is_task_token(p));
    if wait_for_token && !passes_token {
        return Err(f.err(
            "Parameters.Payload",
            "a .waitForTaskToken task must pass $$.Task.Token",
        ));
    }
    if !wait_for_token && passes_token {
        return Err(f.err(
            "Parameters.Payload",
            "$$.Task.Token exists only in .waitForTaskToken tasks",
        ));
    }
    Ok((function, payload))
}

fn is_task_token(path: &Path) -> bool {
    path.root() == Root::Context
        && path.steps()
            == [
                Step::Field("Task".to_owned()),
                Step::Field("Token".to_owned()),
            ]
}

fn error_names<'a>(
    f: &Fields<'a>,
    item: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<String>> {
    let names: Option<Vec<String>> = match item.get("ErrorEquals") {
        Some(Value::Array(names)) if !names.is_empty() => names
            .iter()
            .map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    };
    let names = names.ok_or_else(|| {
        f.err(
            &format!("{field}.ErrorEquals"),
            "expected a non-empty array of error names",
        )
    })?;
    if names.iter().any(|n| n == ALL) && names.len() > 1 {
        return Err(f.err(
            &format!("{field}.ErrorEquals"),
            "States.ALL must appear alone",
        ));
    }
    Ok(names)
}

/// Reads `Retry` or `Catch` (`key`): an array of objects, each with its `ErrorEquals` (a
/// `States.ALL` entry only in the last one) and an optional `Comment`; `entry` reads the rest of
/// each object, which must then have no other field.
fn error_handlers<'a, T>(
    f: &mut Fields<'a>,
    key: &str,
    what: &str,
    mut entry: impl FnMut(&mut Fields<'a>, Vec<String>) -> Result<T>,
) -> Result<Vec<T>> {
    let Some(value) = f.take(key) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(f.err(key, format!("expected an array of {what}s")));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("{key}[{i}]");
        let Value::Object(map) = item else {
            return Err(f.err(&field, "expected an object"));
        };
        let errors = error_names(f, map, &field)?;
        if errors.iter().any(|n| n == ALL) && i + 1 != items.len() {
            return Err(f.err(
                &format!("{field}.ErrorEquals"),
                format!("a {what} with States.ALL must be the last one"),
            ));
        }
        let mut fields = Fields::new(f.state, &format!("{field}."), map);
        fields.take("ErrorEquals");
        fields.string("Comment")?;
        out.push(entry(&mut fields, errors)?);
        fields.finish(&format!("a {what}"))?;
    }
    Ok(out)
}

fn parse_retry(f: &mut Fields<'_>) -> Result<Vec<Retrier>> {
    error_handlers(f, "Retry", "retrier", |r, errors| {
        let interval_seconds = r.uint("IntervalSeconds", 1)?.unwrap_or(1);
        let max_attempts = r.uint("MaxAttempts", 0)?.unwrap_or(3);
        let max_delay_seconds = r.uint("MaxDelaySeconds", 1)?;
        let backoff_rate = match r.take("BackoffRate") {
            None => 2.0,
            Some(value) => match value.as_f64() {
                Some(rate) if rate >= 1.0 && rate.is_finite() => rate,
                _ => return Err(r.err("BackoffRate", "expected a number of at least 1.0")),
            },
        };
        if let Some(jitter) = r.string("JitterStrategy")?
            && jitter != "NONE"
        {
            return Err(r.err(
                "JitterStrategy",
                "only NONE is supported by the local ASL runner",
            ));
        }
        Ok(Retrier {
            errors,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
        })
    })
}

fn parse_catch(f: &mut Fields<'_>) -> Result<Vec<Catcher>> {
    error_handlers(f, "Catch", "catcher", |c, errors| {
        let next = c
            .string("Next")?
            .ok_or_else(|| c.err("Next", "missing"))?
            .to_owned();
        let result_path = c.data_path("ResultPath")?;
        Ok(Catcher {
            errors,
            next,
            result_path,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(states: Value) -> Result<Definition> {
        Definition::from_json(&json!({"StartAt": "A", "States": states}).to_string())
    }

    fn refused(states: Value) -> (Option<String>, String, String) {
        match load(states) {
            Err(Error::Definition {
                state,
                field,
                problem,
            }) => (state, field, problem),
            other => panic!("expected a definition error, got {other:?}"),
        }
    }

    fn task(extra: Value) -> Value {
        let mut base = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "End": true
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    }

    #[test]
    fn end_must_be_true() {
        let (state, field, _) = refused(json!({"A": task(json!({"End": null}))}));
        assert_eq!((state.as_deref(), field.as_str()), (Some("A"), "End"));
        let (_, field, _) = refused(json!({"A": task(json!({"End": false}))}));
        assert_eq!(field, "Next");
    }

    #[test]
    fn every_state_type_and_field_the_runner_knows_is_accepted() {
        let text = json!({
            "Comment": "all of it",
            "Version": "1.0",
            "TimeoutSeconds": 3600,
            "QueryLanguage": "JSONPath",
            "StartAt": "Invoke",
            "States": {
                "Invoke": {
                    "Type": "Task",
                    "Comment": "c",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "InputPath": "$",
                    "Parameters": {"FunctionName": "arn:aws:lambda:ap-northeast-1:1:function:f",
                                   "Payload": {"id.$": "$.id", "name.$": "$$.Execution.Name"}},
                    "ResultSelector": {"out.$": "$.Payload"},
                    "ResultPath": "$.invoked",
                    "OutputPath": "$",
                    "TimeoutSeconds": 30,
                    "Retry": [{"ErrorEquals": ["Retryable", "States.Timeout"], "IntervalSeconds": 2,
                               "MaxAttempts": 5, "BackoffRate": 1.5, "MaxDelaySeconds": 60,
                               "JitterStrategy": "NONE", "Comment": "c"},
                              {"ErrorEquals": ["States.ALL"]}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.error",
                               "Comment": "c"}],
                    "Next": "Approve"
                },
                "Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "approve",
                                   "Payload": {"token.$": "$$.Task.Token"}},
                    "TimeoutSecondsPath": "$.timeout",
                    "ResultPath": null,
                    "Next": "Decide"
                },
                "Decide": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.decision", "StringEquals": "approve", "Next": "Hold",
                                 "Comment": "c"}],
                    "Default": "Failed"
                },
                "Hold": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Until"},
                "Until": {"Type": "Wait", "TimestampPath": "$.t", "Next": "Fixed"},
                "Fixed": {"Type": "Wait", "Timestamp": "2026-11-23T14:00:00Z", "Next": "Short"},
                "Short": {"Type": "Wait", "Seconds": 0, "Next": "Shape"},
                "Shape": {"Type": "Pass", "Parameters": {"a.$": "$.a"}, "Result": {"x": 1},
                          "ResultPath": "$.r", "OutputPath": null, "InputPath": null, "Next": "Done"},
                "Done": {"Type": "Succeed", "InputPath": "$", "OutputPath": "$"},
                "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error",
                           "CausePath": "States.Format('failed: {}', $.error.Cause)"}
            }
        })
        .to_string();
        let def = Definition::from_json(&text).unwrap();
        assert_eq!(def.start_at(), "Invoke");
        assert_eq!(def.state_names().len(), 10);
        assert_eq!(def.timeout_seconds, Some(3600));
    }

    #[test]
    fn unsupported_state_types_are_refused_by_name() {
        for kind in ["Parallel", "Map"] {
            let (state, field, problem) = refused(json!({"A": {"Type": kind, "End": true}}));
            assert_eq!(state.as_deref(), Some("A"));
            assert_eq!(field, "Type");
            assert!(problem.contains(kind), "{problem}");
        }
        let (_, field, _) = refused(json!({"A": {"Type": "Magic", "End": true}}));
        assert_eq!(field, "Type");
    }

    #[test]
    fn unsupported_fields_are_refused_with_state_and_field() {
        let cases = [
            (task(json!({"HeartbeatSeconds": 60})), "HeartbeatSeconds"),
            (task(json!({"Credentials": {}})), "Credentials"),
            (task(json!({"Assign": {"x": 1}})), "Assign"),
            (task(json!({"Arguments": {}})), "Arguments"),
            (task(json!({"ItemsPath": "$.x"})), "ItemsPath"),
            (task(json!({"Bogus": 1})), "Bogus"),
            (
                task(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "FULL"}]})),
                "Retry[0].JitterStrategy",
            ),
            (
                task(json!({"Retry": [{"ErrorEquals": ["X"], "Extra": 1}]})),
                "Retry[0].Extra",
            ),
            (
                task(json!({"Catch": [{"ErrorEquals": ["X"], "Next": "A", "Extra": 1}]})),
                "Catch[0].Extra",
            ),
            (task(json!({"QueryLanguage": "JSONata"})), "QueryLanguage"),
            (
                json!({"Type": "Pass", "ResultSelector": {}, "End": true}),
                "ResultSelector",
            ),
            (
                json!({"Type": "Wait", "Seconds": 1, "Parameters": {}, "End": true}),
                "Parameters",
            ),
            (json!({"Type": "Succeed", "Next": "A"}), "Next"),
            (json!({"Type": "Fail", "InputPath": "$"}), "InputPath"),
        ];
        for (state, field) in cases {
            let (name, got, problem) = refused(json!({"A": state}));
            assert_eq!(name.as_deref(), Some("A"), "{field}");
            assert_eq!(got, field, "{problem}");
        }
    }

    #[test]
    fn unsupported_resources_and_parameters_are_refused() {
        let cases = [
            (
                task(json!({"Resource": "arn:aws:lambda:us-east-1:1:function:f"})),
                "Resource",
            ),
            (
                task(json!({"Resource": "arn:aws:states:::dynamodb:putItem"})),
                "Resource",
            ),
            (
                task(json!({"Resource": "arn:aws:states:::lambda:invoke.sync"})),
                "Resource",
            ),
            (
                task(json!({"Parameters": {"FunctionName": "f", "Payload": {}, "Qualifier": "1"}})),
                "Parameters.Qualifier",
            ),
            (
                task(json!({"Parameters": {"FunctionName.$": "$.f", "Payload": {}}})),
                "Parameters.FunctionName.$",
            ),
            (
                task(json!({"Parameters": {"FunctionName": "f"}})),
                "Parameters.Payload",
            ),
            (
                task(json!({"Parameters": {"Payload": {}}})),
                "Parameters.FunctionName",
            ),
            (
                task(
                    json!({"Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}}),
                ),
                "Parameters.Payload",
            ),
            (
                task(json!({"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"})),
                "Parameters.Payload",
            ),
            (
                task(json!({"Parameters": {"FunctionName": "f", "Payload": {"x.$": "$..x"}}})),
                "Parameters.Payload.x.$",
            ),
            (
                task(
                    json!({"Parameters": {"FunctionName": "f", "Payload": {"x.$": "States.Hash($.a, 'SHA-1')"}}}),
                ),
                "Parameters.Payload.x.$",
            ),
            (
                task(json!({"ResultSelector": {"x.$": "$.Payload[*]"}})),
                "ResultSelector.x.$",
            ),
            (task(json!({"InputPath": "$.a[?(@.b)]"})), "InputPath"),
            (task(json!({"ResultPath": "$$.Task"})), "ResultPath"),
            (task(json!({"TimeoutSeconds": 0})), "TimeoutSeconds"),
            (
                task(json!({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"})),
                "TimeoutSecondsPath",
            ),
        ];
        for (state, field) in cases {
            let (name, got, problem) = refused(json!({"A": state}));
            assert_eq!(name.as_deref(), Some("A"));
            assert_eq!(got, field, "{problem}");
        }
    }

    #[test]
    fn retry_and_catch_rules_are_checked() {
        let cases = [
            (
                json!({"Retry": [{"ErrorEquals": []}]}),
                "Retry[0].ErrorEquals",
            ),
            (
                json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
                "Retry[0].ErrorEquals",
            ),
            (
                json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
                "Retry[0].ErrorEquals",
            ),
            (
                json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
                "Retry[0].BackoffRate",
            ),
            (
                json!({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]}),
                "Retry[0].IntervalSeconds",
            ),
            (
                json!({"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]}),
                "Retry[0].MaxAttempts",
            ),
            (json!({"Catch": [{"ErrorEquals": ["X"]}]}), "Catch[0].Next"),
            (
                json!({"Catch": [{"ErrorEquals": ["X"], "Next": "Nowhere"}]}),
                "Catch[0].Next",
            ),
        ];
        for (extra, field) in cases {
            let (name, got, problem) = refused(json!({"A": task(extra)}));
            assert_eq!(name.as_deref(), Some("A"));
            assert_eq!(got, field, "{problem}");
        }
    }

    #[test]
    fn transitions_are_checked() {
        let (state, field, _) = refused(json!({"A": {"Type": "Pass", "Next": "B"}}));
        assert_eq!((state.as_deref(), field.as_str()), (Some("A"), "Next"));
        let (state, field, _) = refused(json!({"A": {"Type": "Pass"}}));
        assert_eq!((state.as_deref(), field.as_str()), (Some("A"), "Next"));
        let (state, field, _) =
            refused(json!({"A": {"Type": "Pass", "End": true}, "B": {"Type": "Succeed"}}));
        assert_eq!((state.as_deref(), field.as_str()), (Some("B"), "(name)"));
        let (state, field, _) = refused(json!({
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}],
                  "Default": "Z"}
        }));
        assert_eq!((state.as_deref(), field.as_str()), (Some("A"), "Default"));
        let (state, field, _) = refused(json!({
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true}]}
        }));
        assert_eq!(
            (state.as_deref(), field.as_str()),
            (Some("A"), "Choices[0].Next")
        );
        let err =
            Definition::from_json(r#"{"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}"#)
                .unwrap_err();
        assert!(
            matches!(err, Error::Definition { state: None, ref field, .. } if field == "StartAt")
        );
    }

    #[test]
    fn wait_states_take_exactly_one_duration() {
        let (_, field, _) = refused(json!({"A": {"Type": "Wait", "End": true}}));
        assert_eq!(field, "Seconds");
        let (_, field, _) = refused(
            json!({"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}),
        );
        assert_eq!(field, "SecondsPath");
        let (_, field, _) =
            refused(json!({"A": {"Type": "Wait", "Timestamp": "tomorrow", "End": true}}));
        assert_eq!(field, "Timestamp");
        let (_, field, _) = refused(json!({"A": {"Type": "Wait", "Seconds": -1, "End": true}}));
        assert_eq!(field, "Seconds");
    }

    #[test]
    fn top_level_fields_are_checked() {
        for (doc, field) in [
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1}),
                "Extra",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "QueryLanguage": "JSONata"}),
                "QueryLanguage",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Version": "2.0"}),
                "Version",
            ),
            (json!({"StartAt": "A", "States": {}}), "States"),
            (json!({"States": {"A": {"Type": "Succeed"}}}), "StartAt"),
        ] {
            let err = Definition::from_json(&doc.to_string()).unwrap_err();
            assert!(
                matches!(&err, Error::Definition { state: None, field: f, .. } if f == field),
                "{err}"
            );
        }
    }

    #[test]
    fn placeholders_are_substituted() {
        let vars = BTreeMap::from([
            ("approve_fn".to_owned(), "approve".to_owned()),
            ("provision_fn".to_owned(), "provision".to_owned()),
        ]);
        let text = r#"{"a": "${approve_fn}", "b": "${ provision_fn }", "c": "$${literal}", "d": "100%%{x}", "e": "$5 ok"}"#;
        assert_eq!(
            substitute(text, &vars).unwrap(),
            r#"{"a": "approve", "b": "provision", "c": "${literal}", "d": "100%{x}", "e": "$5 ok"}"#
        );
    }

    #[test]
    fn missing_unknown_and_fancy_placeholders_are_refused() {
        let vars = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        for (text, name) in [
            ("${a} ${b}", "b"),
            ("nothing here", "a"),
            ("${a} ${upper(a)}", "upper(a)"),
            ("${a} ${x", "x"),
        ] {
            match substitute(text, &vars) {
                Err(Error::Substitution { name: got, .. }) => assert_eq!(got, name, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            substitute("${a} %{ if true }x%{ endif }", &vars),
            Err(Error::Substitution { .. })
        ));
    }

    #[test]
    fn load_substitutes_then_validates() {
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${fn}", "Payload.$": "$"}, "End": true}}}"#;
        let vars = BTreeMap::from([("fn".to_owned(), "provision".to_owned())]);
        let def = Definition::load(text, &vars).unwrap();
        match &def.state("A").unwrap().kind {
            Kind::Task(task) => assert_eq!(task.function, "provision"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Definition::load(text, &BTreeMap::new()),
            Err(Error::Substitution { .. })
        ));
    }
}
