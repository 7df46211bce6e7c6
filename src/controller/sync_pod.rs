//! Operator-wide settings of every sync Pod: proxies and other environment, placement (node
//! selector, tolerations, affinity, topology spread, priority class), extra labels and
//! annotations, and default resources. The chart writes them (its `sync.pod` values) to a file
//! the controller reads once at start (`--sync-pod-settings`). A mistake stops the controller
//! there, naming the field, instead of failing every Job it would create.
//!
//! This module only reads and checks the settings; the Job builder applies them, and there the
//! controller's own labels, annotations and environment win over these.

use std::{collections::BTreeMap, path::Path};

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use serde::Deserialize;

/// What the chart's `sync.pod` values hold; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPodSettings {
    /// Labels added to every sync Pod.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every sync Pod.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Environment of the sync container, after the controller's own (HTTPS_PROXY, NO_PROXY, …).
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Node selector of every sync Pod.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of every sync Pod.
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    /// Affinity of every sync Pod; empty means none.
    #[serde(default)]
    pub affinity: Option<Affinity>,
    /// Topology spread constraints of every sync Pod.
    #[serde(default)]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of every sync Pod; empty means none.
    #[serde(default)]
    pub priority_class_name: String,
    /// Resources of a sync container whose connection sets none (`spec.job.resources`); empty
    /// keeps the built-in default.
    #[serde(default)]
    pub resources: Option<ResourceRequirements>,
}

/// One problem with one field of the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field, as written in the file (`tolerations[0].effect`).
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SyncPodSettingsError {
    /// The file cannot be read.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    /// Not YAML (JSON is YAML too).
    #[error("not valid YAML or JSON: {0}")]
    Syntax(String),
    /// Fields that are unknown, mistyped or invalid.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
}

impl SyncPodSettings {
    /// Reads and checks the settings file.
    pub fn load(path: &Path) -> Result<Self, SyncPodSettingsError> {
        let text = std::fs::read_to_string(path).map_err(SyncPodSettingsError::Read)?;
        Self::parse(&text)
    }

    /// Parses and checks settings written as YAML or JSON. An empty document is no settings.
    pub fn parse(text: &str) -> Result<Self, SyncPodSettingsError> {
        let document: serde_json::Value = serde_saphyr::from_str(text)
            .map_err(|error| SyncPodSettingsError::Syntax(error.to_string()))?;
        let document = match document {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            other => other,
        };
        let mut unknown = Vec::new();
        let mut record_unknown = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
        let deserializer = serde_ignored::Deserializer::new(document, &mut record_unknown);
        let settings: Self = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            SyncPodSettingsError::Invalid(vec![FieldProblem {
                field: match error.path().to_string() {
                    path if path == "." => "(the whole file)".to_owned(),
                    path => path,
                },
                message: error.inner().to_string(),
            }])
        })?;
        let mut problems: Vec<FieldProblem> = unknown
            .into_iter()
            .map(|field| FieldProblem {
                field,
                message: "is not a field here (misspelt?)".into(),
            })
            .collect();
        problems.extend(settings.problems());
        if problems.is_empty() {
            Ok(settings.normalized())
        } else {
            Err(SyncPodSettingsError::Invalid(problems))
        }
    }

    /// Empty objects (`affinity: {}`, `resources: {}`, as the chart's defaults write them) mean
    /// none, so that they add nothing to the Jobs.
    fn normalized(mut self) -> Self {
        if self.affinity.as_ref() == Some(&Affinity::default()) {
            self.affinity = None;
        }
        if self.resources.as_ref() == Some(&ResourceRequirements::default()) {
            self.resources = None;
        }
        self
    }

    /// Everything the API server would refuse in a Job, found before any Job is made.
    fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut report = |field: String, message: String| {
            problems.push(FieldProblem { field, message });
        };
        for (kind, map, check_values) in [
            ("labels", &self.labels, true),
            ("annotations", &self.annotations, false),
            ("nodeSelector", &self.node_selector, true),
        ] {
            for (key, value) in map {
                let field = format!("{kind}.{key}");
                if let Err(message) = qualified_name(key) {
                    report(field.clone(), message);
                }
                if check_values && let Err(message) = label_value(value) {
                    report(field, message);
                }
            }
        }
        env_problems(&self.env, &mut report);
        for (index, toleration) in self.tolerations.iter().enumerate() {
            if let Err(message) = toleration_problem(toleration) {
                report(format!("tolerations[{index}]"), message);
            }
        }
        for (index, constraint) in self.topology_spread_constraints.iter().enumerate() {
            if let Err((field, message)) = spread_problem(constraint) {
                report(
                    format!("topologySpreadConstraints[{index}].{field}"),
                    message,
                );
            }
        }
        if !self.priority_class_name.is_empty()
            && let Err(message) = dns_subdomain(&self.priority_class_name)
        {
            report("priorityClassName".into(), message);
        }
        if let Some(resources) = &self.resources {
            for (kind, map) in [
                ("limits", &resources.limits),
                ("requests", &resources.requests),
            ] {
                for (name, amount) in map.iter().flatten() {
                    if !is_quantity(&amount.0) {
                        report(
                            format!("resources.{kind}.{name}"),
                            format!("`{}` is not a quantity (such as 500m, 256Mi, 1)", amount.0),
                        );
                    }
                }
            }
        }
        problems
    }
}

/// A path as the file writes it: `tolerations[0].effect`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

fn env_problems(env: &[EnvVar], report: &mut impl FnMut(String, String)) {
    for (index, var) in env.iter().enumerate() {
        let field = format!("env[{index}]");
        if var.name.is_empty() {
            report(format!("{field}.name"), "is required".into());
        } else if !is_env_name(&var.name) {
            report(
                format!("{field}.name"),
                format!(
                    "`{}` is not an environment variable name (letters, digits, `_`, `-`, `.`, \
                     not starting with a digit)",
                    var.name
                ),
            );
        }
        if var.value.is_some() && var.value_from.is_some() {
            report(
                field.clone(),
                "sets both value and valueFrom; keep one".into(),
            );
        }
        if env[..index].iter().any(|earlier| earlier.name == var.name) {
            report(
                format!("{field}.name"),
                format!("`{}` is set twice; keep one", var.name),
            );
        }
    }
}

fn toleration_problem(toleration: &Toleration) -> Result<(), String> {
    let operator = toleration.operator.as_deref().unwrap_or("");
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !matches!(operator, "" | "Exists" | "Equal") {
        return Err(format!("operator `{operator}` is not Exists or Equal"));
    }
    if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "effect `{effect}` is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    if operator == "Exists" && toleration.value.as_deref().is_some_and(|v| !v.is_empty()) {
        return Err("has a value with operator Exists; drop the value".into());
    }
    if toleration.key.as_deref().unwrap_or("").is_empty() && operator != "Exists" {
        return Err("has no key, which needs operator Exists (tolerate every taint)".into());
    }
    if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
        return Err("sets tolerationSeconds, which needs effect NoExecute".into());
    }
    Ok(())
}

fn spread_problem(constraint: &TopologySpreadConstraint) -> Result<(), (&'static str, String)> {
    if constraint.max_skew < 1 {
        return Err(("maxSkew", "must be 1 or more".into()));
    }
    if constraint.topology_key.is_empty() {
        return Err((
            "topologyKey",
            "is required, such as kubernetes.io/hostname".into(),
        ));
    }
    if !matches!(
        constraint.when_unsatisfiable.as_str(),
        "DoNotSchedule" | "ScheduleAnyway"
    ) {
        return Err((
            "whenUnsatisfiable",
            format!(
                "`{}` is not DoNotSchedule or ScheduleAnyway",
                constraint.when_unsatisfiable
            ),
        ));
    }
    Ok(())
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn is_label_text(text: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !text.is_empty()
        && text.len() <= 63
        && edge(text.chars().next())
        && edge(text.chars().last())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_text(value) {
        Ok(())
    } else {
        Err(format!(
            "value `{value}` is not a label value (at most 63 letters, digits, `-`, `_`, `.`, \
             starting and ending with a letter or digit)"
        ))
    }
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain.
fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|message| format!("key prefix {message}"))?;
    }
    if is_label_text(name) {
        Ok(())
    } else {
        Err(format!(
            "key `{key}` is not a qualified name ([prefix/]name, the name at most 63 letters, \
             digits, `-`, `_`, `.`, starting and ending with a letter or digit)"
        ))
    }
}

/// A lowercase RFC 1123 subdomain, at most 253 characters.
fn dns_subdomain(text: &str) -> Result<(), String> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if text.len() <= 253 && text.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a DNS subdomain (lowercase letters, digits, `-` and `.`)"
        ))
    }
}

/// `[-._a-zA-Z][-._a-zA-Z0-9]*`, what every supported Kubernetes version accepts.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// A Kubernetes quantity: a non-negative decimal number with an optional SI or binary suffix
/// (`500m`, `1.5`, `256Mi`, `1e3`).
fn is_quantity(text: &str) -> bool {
    let text = text.strip_prefix('+').unwrap_or(text);
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        exponent => exponent
            .strip_prefix(['e', 'E'])
            .map(|rest| rest.strip_prefix(['+', '-']).unwrap_or(rest))
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> String {
        match SyncPodSettings::parse(text) {
            Err(SyncPodSettingsError::Invalid(problems)) => problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            other => panic!("expected field problems, got {other:?}"),
        }
    }

    #[test]
    fn the_chart_defaults_are_no_settings() {
        let defaults = "{labels: {}, annotations: {}, env: [], nodeSelector: {}, tolerations: [], \
                        affinity: {}, topologySpreadConstraints: [], priorityClassName: '', resources: {}}";
        assert_eq!(
            SyncPodSettings::parse(defaults).unwrap(),
            SyncPodSettings::default()
        );
        assert_eq!(
            SyncPodSettings::parse("").unwrap(),
            SyncPodSettings::default()
        );
    }

    #[test]
    fn settings_read_from_json_as_the_chart_writes_them() {
        let settings = SyncPodSettings::parse(
            r#"{"env": [{"name": "HTTPS_PROXY", "value": "http://proxy.corp:3128"}],
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "sync", "effect": "NoSchedule"}],
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "priorityClassName": "batch-low",
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}"#,
        )
        .unwrap();
        assert_eq!(
            settings.env[0].value.as_deref(),
            Some("http://proxy.corp:3128")
        );
        assert_eq!(settings.tolerations[0].key.as_deref(), Some("dedicated"));
        assert_eq!(settings.priority_class_name, "batch-low");
        assert!(settings.resources.is_some());
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        assert_eq!(
            problems("{nodeSelectors: {a: b}}"),
            "nodeSelectors: is not a field here (misspelt?)"
        );
        assert_eq!(
            problems("{tolerations: [{key: a, operator: Exists, efect: NoSchedule}]}"),
            "tolerations[0].efect: is not a field here (misspelt?)"
        );
        assert!(
            problems("{env: {HTTPS_PROXY: x}}").starts_with("env: invalid type: map"),
            "{}",
            problems("{env: {HTTPS_PROXY: x}}")
        );
    }

    #[test]
    fn what_the_api_server_would_refuse_is_refused_at_start() {
        let found = problems(
            "labels: {'team/': x, ok: 'not ok'}\n\
             env: [{name: '1PROXY', value: x}, {name: A, value: x}, {name: A, value: z}]\n\
             tolerations: [{key: a, operator: Exist}, {operator: Equal, value: x}, \
                           {key: b, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]\n\
             topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: Never}]\n\
             priorityClassName: Batch_Low\n\
             resources: {limits: {memory: 1GB}}\n",
        );
        for expected in [
            "labels.ok: value `not ok` is not a label value",
            "labels.team/: key `team/` is not a qualified name",
            "env[0].name: `1PROXY` is not an environment variable name",
            "env[2].name: `A` is set twice",
            "tolerations[0]: operator `Exist` is not Exists or Equal",
            "tolerations[1]: has no key, which needs operator Exists",
            "tolerations[2]: sets tolerationSeconds, which needs effect NoExecute",
            "topologySpreadConstraints[0].whenUnsatisfiable: `Never` is not",
            "priorityClassName: `Batch_Low` is not a DNS subdomain",
            "resources.limits.memory: `1GB` is not a quantity",
        ] {
            assert!(found.contains(expected), "{expected:?} not in:\n{found}");
        }
    }

    /// What the manifest checks render the chart with (tests/manifests/values) and what
    /// config/manager ships are settings the controller starts with.
    #[test]
    fn the_chart_s_and_kustomize_s_settings_are_accepted() {
        let values: serde_json::Value = serde_saphyr::from_str(include_str!(
            "../../tests/manifests/values/all-optional.yaml"
        ))
        .unwrap();
        let written = serde_json::to_string(&values["sync"]["pod"]).unwrap();
        let settings = SyncPodSettings::parse(&written).unwrap();
        assert_eq!(settings.env.len(), 2);
        assert_eq!(settings.priority_class_name, "batch-low");
        assert!(settings.affinity.is_some() && settings.resources.is_some());
        assert_eq!(
            SyncPodSettings::parse(include_str!("../../config/manager/sync-pod.yaml")).unwrap(),
            SyncPodSettings::default()
        );
    }

    #[test]
    fn quantities_and_names_as_kubernetes_reads_them() {
        for good in [
            "1", "500m", "1.5", "256Mi", "2Gi", "1e3", ".5", "100k", "+1",
        ] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "1GB", "Mi", "1..2", "-1", "1e", "ten"] {
            assert!(!is_quantity(bad), "{bad}");
        }
        assert!(qualified_name("example.com/team").is_ok());
        assert!(qualified_name("Example.com/team").is_err());
        assert!(qualified_name(&"a".repeat(64)).is_err());
        assert!(is_env_name("HTTPS_PROXY") && is_env_name("no_proxy") && !is_env_name("A=B"));
    }
}
