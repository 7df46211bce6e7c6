//! An approximation of the cost an API server estimates for the CRD's CEL rules when the CRD is
//! created, so that a rule (or a bound) that would get the CRD refused fails a test here.
//!
//! What the API server does (apiextensions-apiserver's CRD validation, cel-go's cost estimator):
//! it types each rule from the schema, estimates the worst-case cost of one evaluation from the
//! sizes the schema allows, multiplies it by the rule's cardinality (how many times the rule can
//! run in one object: the product of `maxItems`/`maxProperties` of the lists and maps around it),
//! and refuses the CRD when one rule exceeds `StaticEstimatedCostLimit` or all of them together
//! exceed `StaticEstimatedCRDCostLimit`. A string without `maxLength` counts as long as a whole
//! request; a list or map without a bound as holding as many of its smallest items as a request
//! fits.
//!
//! What is approximated here, and how:
//! - The cost formulas are cel-go's for what the rules use: 1 per variable and field selection,
//!   0 per constant, 10 per list literal; `matches` costs ⌈(size + 1) × 0.1⌉ × ⌈regex length ×
//!   0.25⌉, `contains` ⌈size × 0.1⌉ × ⌈substring × 0.1⌉, `startsWith`/`endsWith` ⌈prefix × 0.1⌉,
//!   equality ⌈smaller size × 0.1⌉, `in` the list's size, comprehensions the range's size times
//!   their loop. Any other function panics: teach it here before a rule uses it.
//! - Sizes are the API server's: a string's `maxLength` counts four bytes a character; an enum
//!   string is as long as its longest value; `date`, `date-time` and `duration` strings have
//!   fixed bounds (12, 64 and 32 bytes here: the serialized sizes the API server assumes, to
//!   within a few bytes).
//! - The smallest serialized item size, used only for an unbounded list or map, is a rough
//!   version of the API server's (2 for a string, 1 for a number, `{}` plus required fields).
//! - Type checking is not done; the API server's own estimate can differ by small constants, and
//!   newer API servers may change the formulas. No API server checks these numbers here. The
//!   margins the tests keep (every rule's worst case within `PerCallLimit`, the runtime limit of
//!   one evaluation, and a tenth of the static limits) absorb the difference.

use kube::core::cel::cel::{
    Program,
    common::ast::{Expr, LiteralValue},
};
use serde_json::Value;

/// `StaticEstimatedCostLimit`: the most one rule's estimate, times its cardinality, may be.
pub const STATIC_ESTIMATED_COST_LIMIT: u64 = 10_000_000;
/// `StaticEstimatedCRDCostLimit`: the most all the rules of the CRD together may be.
pub const STATIC_ESTIMATED_CRD_COST_LIMIT: u64 = 100_000_000;
/// `PerCallLimit`: the most one evaluation of a rule may actually cost at runtime.
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// The request size the API server assumes for unbounded strings, lists and maps.
const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;
const STRING_TRAVERSAL: f64 = 0.1;
const REGEX_LENGTH: f64 = 0.25;
const LIST_CREATE: u64 = 10;

/// One rule, where it sits, and its estimate.
#[derive(Debug)]
pub struct RuleCost {
    /// JSON path of the schema node the rule sits on (`self`).
    pub path: String,
    /// The rule.
    pub rule: String,
    /// The estimated worst-case cost of one evaluation.
    pub cost: u64,
    /// How many times the rule can run in one object.
    pub cardinality: u64,
}

impl RuleCost {
    /// What the API server compares with `StaticEstimatedCostLimit`.
    pub fn total(&self) -> u64 {
        self.cost.saturating_mul(self.cardinality)
    }
}

/// The estimate of every `x-kubernetes-validations` rule of an OpenAPI schema.
pub fn rule_costs(schema: &Value) -> Vec<RuleCost> {
    let mut costs = Vec::new();
    walk(schema, "", 1, &mut costs);
    costs
}

fn walk(schema: &Value, path: &str, cardinality: u64, costs: &mut Vec<RuleCost>) {
    for rule in schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let rule = rule["rule"].as_str().expect("a rule");
        costs.push(RuleCost {
            path: path.to_owned(),
            rule: rule.to_owned(),
            cost: estimate(rule, schema),
            cardinality,
        });
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        walk(property, &format!("{path}.{name}"), cardinality, costs);
    }
    if let Some(items) = schema.get("items") {
        let times = cardinality.saturating_mul(size(&Shape::Schema(schema)));
        walk(items, &format!("{path}[*]"), times, costs);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        let times = cardinality.saturating_mul(size(&Shape::Schema(schema)));
        walk(values, &format!("{path}{{*}}"), times, costs);
    }
}

/// The estimated cost of one evaluation of `rule` with `self` bound to a value of `schema`.
pub fn estimate(rule: &str, schema: &Value) -> u64 {
    let program = Program::compile(rule).unwrap_or_else(|e| panic!("`{rule}`: {e}"));
    let mut scope = vec![("self".to_owned(), Shape::Schema(schema))];
    cost(&program.expression().expr, &mut scope, rule).0
}

/// What the estimate knows of a value: its schema, or the greatest size of a computed one.
#[derive(Clone, Debug)]
enum Shape<'a> {
    Schema(&'a Value),
    Text(u64),
    List(u64, Box<Shape<'a>>),
    Scalar,
}

type Scope<'a> = Vec<(String, Shape<'a>)>;

fn cost<'a>(expr: &Expr, scope: &mut Scope<'a>, rule: &str) -> (u64, Shape<'a>) {
    match expr {
        Expr::Ident(name) => {
            let shape = scope
                .iter()
                .rev()
                .find(|(bound, _)| bound == name)
                .map(|(_, shape)| shape.clone())
                .unwrap_or_else(|| panic!("`{rule}`: unknown variable `{name}`"));
            (1, shape)
        }
        Expr::Literal(LiteralValue::String(text)) => (0, Shape::Text(text.len() as u64)),
        Expr::Literal(_) => (0, Shape::Scalar),
        Expr::Select(select) => {
            let (operand, shape) = cost(&select.operand.expr, scope, rule);
            if select.test {
                return (operand + 1, Shape::Scalar);
            }
            (operand + 1, field(&shape, &select.field, rule))
        }
        Expr::List(list) => {
            let mut total = LIST_CREATE;
            let mut element = Shape::Scalar;
            for item in &list.elements {
                let (item_cost, shape) = cost(&item.expr, scope, rule);
                total += item_cost;
                element = shape;
            }
            (
                total,
                Shape::List(list.elements.len() as u64, Box::new(element)),
            )
        }
        Expr::Comprehension(comprehension) => {
            let (range_cost, range) = cost(&comprehension.iter_range.expr, scope, rule);
            let (init_cost, init) = cost(&comprehension.accu_init.expr, scope, rule);
            let count = size(&range);
            let accumulator = match init {
                Shape::List(_, element) => Shape::List(count, element),
                other => other,
            };
            scope.push((comprehension.iter_var.clone(), element(&range, rule)));
            scope.push((comprehension.accu_var.clone(), accumulator));
            let (condition, _) = cost(&comprehension.loop_cond.expr, scope, rule);
            let (step, _) = cost(&comprehension.loop_step.expr, scope, rule);
            let (result_cost, result) = cost(&comprehension.result.expr, scope, rule);
            scope.truncate(scope.len() - 2);
            let loops = count.saturating_mul(condition + step);
            (range_cost + init_cost + result_cost + loops, result)
        }
        Expr::Call(call) if call.func_name == "_?_:_" => {
            // The condition, then the dearer branch.
            let (condition, _) = cost(&call.args[0].expr, scope, rule);
            let (then_cost, then_shape) = cost(&call.args[1].expr, scope, rule);
            let (else_cost, else_shape) = cost(&call.args[2].expr, scope, rule);
            let shape = if size(&then_shape) >= size(&else_shape) {
                then_shape
            } else {
                else_shape
            };
            (condition + then_cost.max(else_cost), shape)
        }
        Expr::Call(call) => {
            let mut total = 0;
            let mut operands = Vec::new();
            for operand in call
                .target
                .iter()
                .map(|t| &t.expr)
                .chain(call.args.iter().map(|a| &a.expr))
            {
                let (operand_cost, shape) = cost(operand, scope, rule);
                total += operand_cost;
                operands.push(shape);
            }
            let (own, shape) = call_cost(&call.func_name, &operands, rule);
            (total + own, shape)
        }
        other => panic!("`{rule}`: the estimate does not know {other:?}"),
    }
}

/// The cost of a call itself (its operands are already counted) and the shape of its result.
fn call_cost<'a>(function: &str, operands: &[Shape<'a>], rule: &str) -> (u64, Shape<'a>) {
    let shape = |index: usize| &operands[index];
    let traverse = |bytes: u64| (bytes as f64 * STRING_TRAVERSAL).ceil() as u64;
    match function {
        // Short-circuits: the operands' costs only.
        "_&&_" | "_||_" => (0, Shape::Scalar),
        // Constant time: scalar operators, sizes, and conversions such as duration().
        "!_"
        | "_<_"
        | "_<=_"
        | "_>_"
        | "_>=_"
        | "-_"
        | "size"
        | "@not_strictly_false"
        | "duration" => (1, Shape::Scalar),
        "_==_" | "_!=_" => (
            traverse(size(shape(0)).min(size(shape(1)))).max(1),
            Shape::Scalar,
        ),
        "@in" => (size(shape(1)), Shape::Scalar),
        "_+_" => match (shape(0), shape(1)) {
            (Shape::List(a, element), Shape::List(b, _)) => {
                (1, Shape::List(a.saturating_add(*b), element.clone()))
            }
            (a, b) if is_text(a) && is_text(b) => {
                let bytes = size(a).saturating_add(size(b));
                (traverse(bytes), Shape::Text(bytes))
            }
            _ => (1, Shape::Scalar),
        },
        "matches" => {
            let text = traverse(size(shape(0)).saturating_add(1));
            let regex = (size(shape(1)) as f64 * REGEX_LENGTH).ceil() as u64;
            (text.saturating_mul(regex), Shape::Scalar)
        }
        "contains" => (
            traverse(size(shape(0))).saturating_mul(traverse(size(shape(1)))),
            Shape::Scalar,
        ),
        "startsWith" | "endsWith" => (traverse(size(shape(1))), Shape::Scalar),
        _ => panic!(
            "`{rule}`: the estimate does not know the function `{function}`; add its cost \
             (cel-go's checker/cost.go) before using it in a rule"
        ),
    }
}

fn is_text(shape: &Shape<'_>) -> bool {
    match shape {
        Shape::Text(_) => true,
        Shape::Schema(schema) => schema["type"] == "string",
        _ => false,
    }
}

fn field<'a>(shape: &Shape<'a>, name: &str, rule: &str) -> Shape<'a> {
    let Shape::Schema(schema) = shape else {
        panic!("`{rule}`: `.{name}` of a value that is not an object");
    };
    schema["properties"]
        .get(name)
        .or_else(|| schema.get("additionalProperties").filter(|v| v.is_object()))
        .map(Shape::Schema)
        .unwrap_or_else(|| panic!("`{rule}`: no field `{name}` in the schema"))
}

fn element<'a>(shape: &Shape<'a>, rule: &str) -> Shape<'a> {
    match shape {
        Shape::List(_, element) => (**element).clone(),
        Shape::Schema(schema) if schema.get("items").is_some() => Shape::Schema(&schema["items"]),
        // A map's comprehension ranges over its keys: strings without a bound of their own.
        Shape::Schema(schema) if schema.get("additionalProperties").is_some() => {
            Shape::Text(MAX_REQUEST_BYTES - 2)
        }
        _ => panic!("`{rule}`: a comprehension over a value that is not a list or map"),
    }
}

/// The greatest size the API server assumes for a value: bytes of a string, items of a list,
/// entries of a map.
fn size(shape: &Shape<'_>) -> u64 {
    match shape {
        Shape::Text(bytes) => *bytes,
        Shape::List(items, _) => *items,
        Shape::Scalar => 1,
        Shape::Schema(schema) => schema_size(schema),
    }
}

fn schema_size(schema: &Value) -> u64 {
    let bound = |key: &str| schema.get(key).and_then(Value::as_u64);
    let string_like =
        schema["type"] == "string" || schema["x-kubernetes-int-or-string"] == Value::Bool(true);
    if string_like {
        if let Some(length) = bound("maxLength") {
            return length.saturating_mul(4);
        }
        if let Some(values) = schema["enum"].as_array() {
            return values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| v.len() as u64)
                .max()
                .unwrap_or(0);
        }
        return match schema["format"].as_str() {
            Some("date") => 12,
            Some("date-time") => 64,
            Some("duration") => 32,
            _ => MAX_REQUEST_BYTES - 2,
        };
    }
    match schema["type"].as_str() {
        Some("array") => bound("maxItems")
            .unwrap_or_else(|| (MAX_REQUEST_BYTES - 2) / (min_size(&schema["items"]) + 1)),
        Some("object")
            if schema
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            bound("maxProperties").unwrap_or_else(|| {
                (MAX_REQUEST_BYTES - 2) / (min_size(&schema["additionalProperties"]) + 6)
            })
        }
        Some("object") => schema["properties"]
            .as_object()
            .map_or(0, |p| p.len() as u64),
        _ => 1,
    }
}

/// Roughly the smallest serialized size of a value of the schema.
fn min_size(schema: &Value) -> u64 {
    match schema["type"].as_str() {
        Some("string") => 2,
        Some("boolean") => 4,
        Some("object") => {
            let required = schema["required"].as_array().into_iter().flatten();
            2 + required
                .filter_map(Value::as_str)
                .filter(|name| schema["properties"][name].get("default").is_none())
                .map(|name| name.len() as u64 + min_size(&schema["properties"][name]) + 4)
                .sum::<u64>()
        }
        Some("array") => 2,
        _ => 1,
    }
}
