//! The filter language of RFC 7644 §3.4.2.2 (`userName eq "x" and emails[type eq "work"]`),
//! parsed and evaluated against a resource, and the attribute paths it and `attributes` use.

use serde_json::{Map, Value};

use super::attrs::{as_bool, get_ci};
use super::error::ScimError;
use super::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Container {
    Core,
    Enterprise,
}

/// `[urn:…:]attr[.sub]`; `attr` is `None` for the bare enterprise extension URN.
#[derive(Clone, Debug)]
pub(super) struct AttrPath {
    pub(super) container: Container,
    pub(super) attr: Option<String>,
    pub(super) sub: Option<String>,
}

/// Splits a schema URN prefix off: `(container, rest)`; `rest` is empty for the bare extension.
pub(super) fn split_schema(path: &str) -> Option<(Container, &str)> {
    let lower = path.to_ascii_lowercase();
    for (urn, container) in [
        (ENTERPRISE_USER_SCHEMA, Container::Enterprise),
        (USER_SCHEMA, Container::Core),
    ] {
        if lower.starts_with(&urn.to_ascii_lowercase()) {
            let rest = &path[urn.len()..];
            if rest.is_empty() && container == Container::Enterprise {
                return Some((container, rest));
            }
            return rest.strip_prefix(':').map(|r| (container, r));
        }
    }
    if lower.starts_with("urn:") {
        return None;
    }
    Some((Container::Core, path))
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

pub(super) fn parse_attr_path(text: &str) -> Option<AttrPath> {
    let (container, rest) = split_schema(text.trim())?;
    if rest.is_empty() {
        return Some(AttrPath {
            container,
            attr: None,
            sub: None,
        });
    }
    let (attr, sub) = match rest.split_once('.') {
        Some((attr, sub)) => (attr, Some(sub)),
        None => (rest, None),
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return None;
    }
    Some(AttrPath {
        container,
        attr: Some(attr.to_string()),
        sub: sub.map(str::to_string),
    })
}

impl AttrPath {
    /// The values this path names in `root` (multi-valued attributes flattened; nulls dropped).
    fn resolve<'a>(&self, root: &'a Map<String, Value>) -> Vec<&'a Value> {
        let container = match self.container {
            Container::Core => Some(root),
            Container::Enterprise => {
                get_ci(root, ENTERPRISE_USER_SCHEMA).and_then(Value::as_object)
            }
        };
        let Some(container) = container else {
            return Vec::new();
        };
        let Some(attr) = &self.attr else {
            return vec![get_ci(root, ENTERPRISE_USER_SCHEMA).expect("extension exists")];
        };
        let mut values = Vec::new();
        for value in flatten(get_ci(container, attr)) {
            match &self.sub {
                None => values.push(value),
                Some(sub) => {
                    if let Some(object) = value.as_object() {
                        values.extend(flatten(get_ci(object, sub)));
                    }
                }
            }
        }
        values
    }

    fn case_exact(&self) -> bool {
        self.container == Container::Core
            && self.sub.is_none()
            && self.attr.as_deref().is_some_and(|a| {
                a.eq_ignore_ascii_case("id") || a.eq_ignore_ascii_case("externalId")
            })
    }
}

fn flatten(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(value) => vec![value],
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug)]
pub(super) enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Value),
    /// `attr[filter]`: some value of the multi-valued `attr` matches the inner filter.
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    pub(super) fn matches(&self, root: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(root) && b.matches(root),
            Filter::Or(a, b) => a.matches(root) || b.matches(root),
            Filter::Not(inner) => !inner.matches(root),
            Filter::Present(path) => path.resolve(root).iter().any(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Filter::Compare(path, op, expected) => {
                let values = path.resolve(root);
                let case_exact = path.case_exact();
                match op {
                    CompareOp::Ne => !values
                        .iter()
                        .any(|v| compare(CompareOp::Eq, v, expected, case_exact)),
                    _ => {
                        if expected.is_null() {
                            return *op == CompareOp::Eq && values.is_empty();
                        }
                        values.iter().any(|v| compare(*op, v, expected, case_exact))
                    }
                }
            }
            Filter::ValuePath(path, inner) => path
                .resolve(root)
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| inner.matches(element)),
        }
    }

    /// The element an `add` to `attr[filter]` creates when nothing matched: the `eq` parts.
    pub(super) fn template(&self) -> Option<Map<String, Value>> {
        match self {
            Filter::Compare(path, CompareOp::Eq, value)
                if path.container == Container::Core && path.sub.is_none() =>
            {
                let mut element = Map::new();
                element.insert(path.attr.clone()?, value.clone());
                Some(element)
            }
            Filter::And(a, b) => {
                let mut element = a.template()?;
                element.extend(b.template()?);
                Some(element)
            }
            _ => None,
        }
    }
}

fn compare(op: CompareOp, actual: &Value, expected: &Value, case_exact: bool) -> bool {
    let fold = |s: &str| {
        if case_exact {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    match (actual, expected) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (fold(a), fold(b));
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
            }
        }
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        (Value::Bool(a), Value::String(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let equal = Some(*a) == as_bool(&Value::String(b.clone()));
            (op == CompareOp::Eq) == equal
        }
        (Value::Number(a), Value::Number(b)) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => false,
            }
        }
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Word(String),
}

fn invalid_filter(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("invalidFilter"), detail)
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid_filter("unterminated string"))?;
                let literal: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| invalid_filter("invalid string literal"))?;
                tokens.push(Token::Str(literal));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_string()));
            }
        }
    }
    Ok(tokens)
}

pub(super) fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let mut parser = FilterParser {
        tokens: tokenize(text)?,
        pos: 0,
    };
    let filter = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(invalid_filter(format!(
            "unexpected {:?} in filter {text:?}",
            parser.tokens[parser.pos]
        )));
    }
    Ok(filter)
}

struct FilterParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl FilterParser {
    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, expected: Token) -> Result<(), ScimError> {
        match self.next() {
            Some(token) if token == expected => Ok(()),
            other => Err(invalid_filter(format!(
                "expected {expected:?}, found {other:?}"
            ))),
        }
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.peek_word("not") && self.tokens.get(self.pos + 1) == Some(&Token::Open) {
            self.pos += 2;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let path = parse_attr_path(&word)
                    .ok_or_else(|| invalid_filter(format!("invalid attribute path {word:?}")))?;
                if self.tokens.get(self.pos) == Some(&Token::OpenBracket) {
                    self.pos += 1;
                    let inner = self.or()?;
                    self.expect(Token::CloseBracket)?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let operator = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    other => {
                        return Err(invalid_filter(format!(
                            "expected an operator after {word:?}, found {other:?}"
                        )));
                    }
                };
                let op = match operator.as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => CompareOp::Eq,
                    "ne" => CompareOp::Ne,
                    "co" => CompareOp::Co,
                    "sw" => CompareOp::Sw,
                    "ew" => CompareOp::Ew,
                    "gt" => CompareOp::Gt,
                    "ge" => CompareOp::Ge,
                    "lt" => CompareOp::Lt,
                    "le" => CompareOp::Le,
                    _ => return Err(invalid_filter(format!("unknown operator {operator:?}"))),
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => Value::String(s),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    Some(Token::Word(w)) => match serde_json::from_str::<serde_json::Number>(&w) {
                        Ok(n) => Value::Number(n),
                        Err(_) => return Err(invalid_filter(format!("invalid value {w:?}"))),
                    },
                    other => {
                        return Err(invalid_filter(format!(
                            "expected a value after {operator}, found {other:?}"
                        )));
                    }
                };
                Ok(Filter::Compare(path, op, value))
            }
            other => Err(invalid_filter(format!("unexpected {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn filters_parse_and_match() {
        let u = user(json!({
            "id": "abc",
            "userName": "Ada@Example.com",
            "externalId": "E1",
            "active": true,
            "emails": [{"value": "ada@work.example", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42"},
        }));
        let yes = [
            r#"userName eq "ada@example.com""#,
            r#"externalId eq "E1" and active eq true"#,
            r#"emails.value eq "ADA@work.example""#,
            r#"emails[type eq "work" and value co "@work"]"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#,
            "title pr or userName pr",
            r#"not (externalId eq "e1")"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ada""#,
        ];
        for f in yes {
            assert!(parse_filter(f).unwrap().matches(&u), "{f}");
        }
        let no = [r#"externalId eq "e1""#, "title pr", r#"id eq "ABC""#];
        for f in no {
            assert!(!parse_filter(f).unwrap().matches(&u), "{f}");
        }
        for bad in [
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            "urn:x:y eq 1",
        ] {
            assert_eq!(
                parse_filter(bad).unwrap_err().scim_type,
                Some("invalidFilter"),
                "{bad}"
            );
        }
    }
}
