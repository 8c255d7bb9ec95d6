//! Choice rules: data-test expressions (`Variable` plus one comparison operator) combined with
//! `And`, `Or` and `Not`. A comparison whose variable has another type than the operator expects
//! is false, not an error; a variable path that selects nothing is a `States.Runtime` error,
//! except for `IsPresent`.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use crate::path::Path;
use crate::task::TaskFailure;
use crate::template::{CompileError, resolve};
use crate::timefmt;

/// A compiled Choice rule (without its `Next`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// Every rule holds.
    And(Vec<Rule>),
    /// Some rule holds.
    Or(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
    /// A comparison of the value at `variable`.
    Test {
        /// The value tested.
        variable: Path,
        /// How.
        op: Op,
        /// Against what.
        operand: Operand,
    },
}

/// What a variable is compared with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// A value written in the rule.
    Literal(Value),
    /// The value at a path (the `…Path` operators).
    Path(Path),
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// String comparison with an ordering.
    String(Cmp),
    /// `StringMatches`: `*` matches any run of characters, `\*` a star.
    StringMatches,
    /// Numeric comparison.
    Numeric(Cmp),
    /// `BooleanEquals`.
    BooleanEquals,
    /// Timestamp comparison.
    Timestamp(Cmp),
    /// `IsNull`, `IsPresent`, `IsNumeric`, `IsString`, `IsBoolean`, `IsTimestamp`.
    Is(Kind),
}

/// An ordering test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    /// `…Equals`.
    Eq,
    /// `…LessThan`.
    Lt,
    /// `…GreaterThan`.
    Gt,
    /// `…LessThanEquals`.
    Le,
    /// `…GreaterThanEquals`.
    Ge,
}

impl Cmp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::Lt => ordering == Ordering::Less,
            Self::Gt => ordering == Ordering::Greater,
            Self::Le => ordering != Ordering::Greater,
            Self::Ge => ordering != Ordering::Less,
        }
    }
}

/// A type test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `IsNull`.
    Null,
    /// `IsPresent`.
    Present,
    /// `IsNumeric`.
    Numeric,
    /// `IsString`.
    String,
    /// `IsBoolean`.
    Boolean,
    /// `IsTimestamp`.
    Timestamp,
}

/// The operator named `key`, and whether it is a `…Path` variant.
fn operator(key: &str) -> Option<(Op, bool)> {
    let (base, by_path) = match key.strip_suffix("Path") {
        Some(base) if !base.starts_with("Is") && base != "StringMatches" => (base, true),
        _ => (key, false),
    };
    let cmp = |suffix: &str| match suffix {
        "Equals" => Some(Cmp::Eq),
        "LessThan" => Some(Cmp::Lt),
        "GreaterThan" => Some(Cmp::Gt),
        "LessThanEquals" => Some(Cmp::Le),
        "GreaterThanEquals" => Some(Cmp::Ge),
        _ => None,
    };
    let op = if base == "StringMatches" {
        Op::StringMatches
    } else if base == "BooleanEquals" {
        Op::BooleanEquals
    } else if let Some(rest) = base.strip_prefix("String") {
        Op::String(cmp(rest)?)
    } else if let Some(rest) = base.strip_prefix("Numeric") {
        Op::Numeric(cmp(rest)?)
    } else if let Some(rest) = base.strip_prefix("Timestamp") {
        Op::Timestamp(cmp(rest)?)
    } else {
        Op::Is(match base {
            "IsNull" => Kind::Null,
            "IsPresent" => Kind::Present,
            "IsNumeric" => Kind::Numeric,
            "IsString" => Kind::String,
            "IsBoolean" => Kind::Boolean,
            "IsTimestamp" => Kind::Timestamp,
            _ => return None,
        })
    };
    Some((op, by_path))
}

impl Rule {
    /// Compiles the rule at `field`; `top` rules carry `Next` (read by the caller) and may
    /// carry `Comment`.
    pub(crate) fn compile(value: &Value, field: &str, top: bool) -> Result<Self, CompileError> {
        let err = |f: &str, problem: String| (f.to_owned(), problem);
        let Value::Object(map) = value else {
            return Err(err(field, "a choice rule must be an object".to_owned()));
        };
        let mut keys: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !(top && matches!(*k, "Next" | "Comment")))
            .collect();
        keys.sort_unstable();
        let combinators: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| matches!(*k, "And" | "Or" | "Not"))
            .collect();
        if let [combinator] = combinators.as_slice() {
            if keys.len() != 1 {
                let extra = keys
                    .iter()
                    .find(|k| *k != combinator)
                    .copied()
                    .unwrap_or("");
                return Err(err(
                    &format!("{field}.{extra}"),
                    format!("not allowed next to {combinator}"),
                ));
            }
            let at = format!("{field}.{combinator}");
            let inner = map.get(*combinator).unwrap_or(&Value::Null);
            return if *combinator == "Not" {
                Ok(Self::Not(Box::new(Self::compile(inner, &at, false)?)))
            } else {
                let Value::Array(items) = inner else {
                    return Err(err(&at, "expected a non-empty array of rules".to_owned()));
                };
                if items.is_empty() {
                    return Err(err(&at, "expected a non-empty array of rules".to_owned()));
                }
                let rules = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::compile(item, &format!("{at}[{i}]"), false))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if *combinator == "And" {
                    Self::And(rules)
                } else {
                    Self::Or(rules)
                })
            };
        }
        if combinators.len() > 1 {
            return Err(err(field, "a rule has one of And, Or, Not".to_owned()));
        }
        Self::compile_test(map, field, &keys)
    }

    fn compile_test(
        map: &Map<String, Value>,
        field: &str,
        keys: &[&str],
    ) -> Result<Self, CompileError> {
        let err = |f: String, problem: &str| (f, problem.to_owned());
        let variable = match map.get("Variable") {
            Some(Value::String(text)) => {
                Path::parse(text).map_err(|problem| (format!("{field}.Variable"), problem))?
            }
            Some(_) => return Err(err(format!("{field}.Variable"), "expected a path")),
            None => {
                return Err(err(
                    format!("{field}.Variable"),
                    "a comparison needs Variable (Condition and JSONata are not supported)",
                ));
            }
        };
        let operators: Vec<&str> = keys.iter().copied().filter(|k| *k != "Variable").collect();
        let [key] = operators.as_slice() else {
            return Err(err(
                field.to_owned(),
                "a comparison has exactly one operator next to Variable",
            ));
        };
        let at = format!("{field}.{key}");
        let Some((op, by_path)) = operator(key) else {
            return Err(err(at, "unknown or unsupported comparison operator"));
        };
        let given = map.get(*key).unwrap_or(&Value::Null);
        let operand = if by_path {
            match given {
                Value::String(text) => {
                    Operand::Path(Path::parse(text).map_err(|problem| (at.clone(), problem))?)
                }
                _ => return Err(err(at, "expected a path")),
            }
        } else {
            let fits = match op {
                Op::String(_) | Op::StringMatches => given.is_string(),
                Op::Numeric(_) => given.is_number(),
                Op::BooleanEquals | Op::Is(_) => given.is_boolean(),
                Op::Timestamp(_) => given.as_str().and_then(timefmt::parse).is_some(),
            };
            if !fits {
                return Err(err(at, "the operand has the wrong type for this operator"));
            }
            Operand::Literal(given.clone())
        };
        Ok(Self::Test {
            variable,
            op,
            operand,
        })
    }

    /// Whether the rule holds for `data`.
    pub(crate) fn holds(&self, data: &Value, context: &Value) -> Result<bool, TaskFailure> {
        match self {
            Self::And(rules) => {
                for rule in rules {
                    if !rule.holds(data, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Self::Or(rules) => {
                for rule in rules {
                    if rule.holds(data, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Self::Not(rule) => Ok(!rule.holds(data, context)?),
            Self::Test {
                variable,
                op,
                operand,
            } => {
                if *op == Op::Is(Kind::Present) {
                    let present = variable.select(pick(variable, data, context)).is_some();
                    return Ok(present == (operand_literal(operand) == Some(&Value::Bool(true))));
                }
                let value = resolve(variable, data, context)?;
                let expected = match operand {
                    Operand::Literal(v) => v,
                    Operand::Path(path) => resolve(path, data, context)?,
                };
                Ok(test(*op, value, expected))
            }
        }
    }
}

fn pick<'a>(path: &Path, data: &'a Value, context: &'a Value) -> &'a Value {
    match path.root() {
        super::path::Root::Data => data,
        super::path::Root::Context => context,
    }
}

fn operand_literal(operand: &Operand) -> Option<&Value> {
    match operand {
        Operand::Literal(v) => Some(v),
        Operand::Path(_) => None,
    }
}

/// The comparison itself; values of the wrong type compare false.
fn test(op: Op, value: &Value, expected: &Value) -> bool {
    match op {
        Op::String(cmp) => match (value, expected) {
            (Value::String(a), Value::String(b)) => cmp.holds(a.as_str().cmp(b.as_str())),
            _ => false,
        },
        Op::StringMatches => match (value, expected) {
            (Value::String(a), Value::String(pattern)) => matches_pattern(a, pattern),
            _ => false,
        },
        Op::Numeric(cmp) => match (value, expected) {
            (Value::Number(a), Value::Number(b)) => {
                compare_numbers(a, b).is_some_and(|o| cmp.holds(o))
            }
            _ => false,
        },
        Op::BooleanEquals => match (value, expected) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        },
        Op::Timestamp(cmp) => match (timestamp(value), timestamp(expected)) {
            (Some(a), Some(b)) => cmp.holds(a.cmp(&b)),
            _ => false,
        },
        Op::Is(kind) => {
            let is = match kind {
                Kind::Null => value.is_null(),
                Kind::Present => true,
                Kind::Numeric => value.is_number(),
                Kind::String => value.is_string(),
                Kind::Boolean => value.is_boolean(),
                Kind::Timestamp => timestamp(value).is_some(),
            };
            Value::Bool(is) == *expected
        }
    }
}

fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    value.as_str().and_then(timefmt::parse)
}

/// Compares numbers exactly when both are integers, as floats otherwise.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// `StringMatches`: `*` is any run of characters; `\*` and `\\` are a literal star and backslash.
fn matches_pattern(text: &str, pattern: &str) -> bool {
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    p = star + 1;
                    t = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| matches!(token, Token::Star))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(rule: Value, data: &Value) -> Result<bool, TaskFailure> {
        Rule::compile(&rule, "Choices[0]", false)
            .unwrap()
            .holds(data, &json!({"State": {"Name": "Decide"}}))
    }

    fn yes(rule: Value, data: &Value) -> bool {
        holds(rule, data).unwrap()
    }

    #[test]
    fn string_comparisons() {
        let d = json!({"s": "beta", "other": "alpha", "n": 1});
        assert!(yes(json!({"Variable": "$.s", "StringEquals": "beta"}), &d));
        assert!(!yes(json!({"Variable": "$.s", "StringEquals": "Beta"}), &d));
        assert!(yes(
            json!({"Variable": "$.s", "StringGreaterThan": "alpha"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.s", "StringLessThan": "gamma"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.s", "StringLessThanEquals": "beta"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.s", "StringGreaterThanEquals": "beta"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.other"}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.s", "StringEqualsPath": "$.other"}),
            &d
        ));
        assert!(!yes(json!({"Variable": "$.n", "StringEquals": "1"}), &d));
    }

    #[test]
    fn string_matching_with_wildcards() {
        let d = json!({"f": "log-2026.txt", "star": "a*b"});
        assert!(yes(
            json!({"Variable": "$.f", "StringMatches": "log-*.txt"}),
            &d
        ));
        assert!(yes(json!({"Variable": "$.f", "StringMatches": "*"}), &d));
        assert!(!yes(
            json!({"Variable": "$.f", "StringMatches": "log-*.csv"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.star", "StringMatches": "a\\*b"}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.f", "StringMatches": "a\\*b"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.f", "StringMatches": "*2026*"}),
            &d
        ));
    }

    #[test]
    fn numeric_comparisons() {
        let d = json!({"n": 10, "f": 2.5, "big": 9_007_199_254_740_993_u64, "s": "10"});
        assert!(yes(json!({"Variable": "$.n", "NumericEquals": 10}), &d));
        assert!(yes(json!({"Variable": "$.n", "NumericEquals": 10.0}), &d));
        assert!(yes(json!({"Variable": "$.f", "NumericLessThan": 3}), &d));
        assert!(yes(
            json!({"Variable": "$.f", "NumericGreaterThanEquals": 2.5}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.n", "NumericGreaterThan": 10}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.n", "NumericLessThanEquals": 10}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.n", "NumericGreaterThanPath": "$.f"}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.big", "NumericEquals": 9_007_199_254_740_992_u64}),
            &d
        ));
        assert!(!yes(json!({"Variable": "$.s", "NumericEquals": 10}), &d));
    }

    #[test]
    fn boolean_and_timestamp_comparisons() {
        let d = json!({
            "b": true,
            "start": "2026-11-23T14:00:00Z",
            "same": "2026-11-23T23:00:00+09:00",
            "later": "2026-11-23T15:00:00Z",
            "junk": "tomorrow"
        });
        assert!(yes(json!({"Variable": "$.b", "BooleanEquals": true}), &d));
        assert!(yes(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.start", "TimestampEqualsPath": "$.same"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.start", "TimestampLessThanPath": "$.later"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.later", "TimestampGreaterThan": "2026-11-23T14:30:00Z"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.start", "TimestampLessThanEquals": "2026-11-23T14:00:00Z"}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$.start", "TimestampGreaterThanEquals": "2026-11-23T14:00:00Z"}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.junk", "TimestampLessThan": "2026-11-23T14:00:00Z"}),
            &d
        ));
    }

    #[test]
    fn type_tests_and_presence() {
        let d = json!({"nul": null, "n": 1, "s": "x", "b": false, "t": "2026-11-23T14:00:00Z"});
        assert!(yes(json!({"Variable": "$.nul", "IsNull": true}), &d));
        assert!(yes(json!({"Variable": "$.n", "IsNull": false}), &d));
        assert!(yes(json!({"Variable": "$.n", "IsNumeric": true}), &d));
        assert!(yes(json!({"Variable": "$.s", "IsString": true}), &d));
        assert!(yes(json!({"Variable": "$.b", "IsBoolean": true}), &d));
        assert!(yes(json!({"Variable": "$.t", "IsTimestamp": true}), &d));
        assert!(yes(json!({"Variable": "$.s", "IsTimestamp": false}), &d));
        assert!(yes(json!({"Variable": "$.nul", "IsPresent": true}), &d));
        assert!(yes(
            json!({"Variable": "$.missing", "IsPresent": false}),
            &d
        ));
        assert!(!yes(
            json!({"Variable": "$.missing", "IsPresent": true}),
            &d
        ));
        assert!(yes(
            json!({"Variable": "$$.State.Name", "StringEquals": "Decide"}),
            &d
        ));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = holds(
            json!({"Variable": "$.missing", "StringEquals": "x"}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        let err = holds(
            json!({"Variable": "$.a", "StringEqualsPath": "$.missing"}),
            &json!({"a": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn and_or_not_combine_rules() {
        let d = json!({"a": 1, "b": "x"});
        let a1 = json!({"Variable": "$.a", "NumericEquals": 1});
        let bx = json!({"Variable": "$.b", "StringEquals": "y"});
        assert!(!yes(json!({"And": [a1.clone(), bx.clone()]}), &d));
        assert!(yes(json!({"Or": [a1.clone(), bx.clone()]}), &d));
        assert!(yes(json!({"Not": bx.clone()}), &d));
        assert!(yes(json!({"And": [a1, {"Not": bx}]}), &d));
        assert!(!yes(
            json!({"Or": [{"Variable": "$.a", "IsPresent": false}, {"Variable": "$.a", "IsString": true}]}),
            &d
        ));
    }

    #[test]
    fn malformed_rules_are_refused_with_their_field() {
        let cases = [
            (json!({"Variable": "$.a"}), "Choices[0]"),
            (
                json!({"Variable": "$.a", "StringEquals": 1}),
                "Choices[0].StringEquals",
            ),
            (
                json!({"Variable": "$.a", "NumericEquals": "1"}),
                "Choices[0].NumericEquals",
            ),
            (
                json!({"Variable": "$.a", "TimestampEquals": "today"}),
                "Choices[0].TimestampEquals",
            ),
            (
                json!({"Variable": "$.a", "IsNull": "yes"}),
                "Choices[0].IsNull",
            ),
            (
                json!({"Variable": "$.a", "StringContains": "x"}),
                "Choices[0].StringContains",
            ),
            (
                json!({"Variable": "$.a[*]", "IsNull": true}),
                "Choices[0].Variable",
            ),
            (
                json!({"Variable": "$.a", "StringEqualsPath": "x"}),
                "Choices[0].StringEqualsPath",
            ),
            (json!({"Condition": "{% true %}"}), "Choices[0].Variable"),
            (json!({"And": []}), "Choices[0].And"),
            (json!({"Not": {"Variable": "$.a"}}), "Choices[0].Not"),
            (
                json!({"Variable": "$.a", "IsNull": true, "IsString": true}),
                "Choices[0]",
            ),
            (
                json!({"And": [{"Variable": "$.a", "IsNull": true}], "Variable": "$.a"}),
                "Choices[0].Variable",
            ),
            (
                json!({"Next": "X", "Variable": "$.a", "IsNull": true}),
                "Choices[0]",
            ),
        ];
        for (rule, field) in cases {
            let err = Rule::compile(&rule, "Choices[0]", false).unwrap_err();
            assert_eq!(err.0, field, "{rule}: {}", err.1);
        }
    }
}
