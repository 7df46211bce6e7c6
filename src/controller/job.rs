//! The sync Job of one run, built from the connection and the operator-wide defaults alone:
//! deterministic, so a repeated reconcile finds the Job it already made instead of starting a
//! second run.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{
    api::{
        batch::v1::{Job, JobSpec},
        core::v1::{
            Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
            KeyToPath, LocalObjectReference, PodSecurityContext, PodSpec, PodTemplateSpec,
            ResourceRequirements, SeccompProfile, SecretVolumeSource, SecurityContext, Volume,
            VolumeMount,
        },
    },
    apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::ObjectMeta},
};
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use super::sync_pod::SyncPodSettings;
use crate::{
    contract::{
        CONFIG_MAPS_DIR, SECRETS_DIR,
        labels::{
            APPROVED_HASH_ANNOTATION, GENERATION_LABEL, RUN_KIND_LABEL, RUN_LABEL,
            sync_workload_labels,
        },
        names::{job_name, report_name, sync_access_name},
    },
    crd::{ConfigMapKeyRef, HrisConnection, SecretKeyRef},
    sync::report::RunMode,
};

/// Operator-wide settings of sync Jobs (from the chart).
#[derive(Clone, Debug, PartialEq)]
pub struct JobDefaults {
    /// Image when the connection names none (the operator's own).
    pub image: String,
    /// Image pull Secrets of the sync Pods (the per-connection ServiceAccount the controller
    /// makes carries none).
    pub image_pull_secrets: Vec<String>,
    /// Seconds a finished Job is kept by Kubernetes if the controller has not pruned it.
    pub ttl_seconds_after_finished: i32,
    /// `RUST_LOG` of sync containers.
    pub log_level: String,
    /// Environment, placement, labels, annotations and default resources of every sync Pod.
    pub pod: SyncPodSettings,
}

/// Every secret reference a spec makes: the Job mounts exactly these.
pub fn secret_refs(connection: &HrisConnection) -> Vec<&SecretKeyRef> {
    crate::connectors::secret_refs(&connection.spec)
}

/// Every ConfigMap reference a spec makes: the Job mounts exactly these.
pub fn config_map_refs(connection: &HrisConnection) -> Vec<&ConfigMapKeyRef> {
    crate::connectors::config_map_refs(&connection.spec)
}

/// The run id of a trigger (a scheduled time, a request annotation value): short and stable.
pub fn run_id(trigger: &str) -> String {
    let digest = Sha256::digest(trigger.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Name of the sync container: the controller reads the run's summary from its termination
/// message.
pub const SYNC_CONTAINER: &str = "sync";

/// The sync Job of a run.
pub fn build_job(
    connection: &HrisConnection,
    kind: RunMode,
    run_id: &str,
    approved_hash: Option<&str>,
    defaults: &JobDefaults,
) -> Job {
    let settings = &connection.spec.job;
    let labels = job_labels(connection, kind, run_id);
    let annotations = approved_hash
        .map(|hash| BTreeMap::from([(APPROVED_HASH_ANNOTATION.to_owned(), hash.to_owned())]));
    let mut job = Job {
        metadata: ObjectMeta {
            name: Some(job_name(connection, kind, run_id)),
            namespace: Some(job_namespace(connection)),
            labels: Some(labels.clone()),
            annotations: annotations.clone(),
            owner_references: connection
                .controller_owner_ref(&())
                .map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(settings.backoff_limit),
            active_deadline_seconds: Some(settings.active_deadline_seconds),
            ttl_seconds_after_finished: Some(defaults.ttl_seconds_after_finished),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations,
                    ..ObjectMeta::default()
                }),
                spec: Some(sync_pod(connection, kind, run_id, approved_hash, defaults)),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    if let Some(spec) = job.spec.as_mut() {
        apply_pod_settings(&mut spec.template, &defaults.pod);
    }
    job
}

fn job_namespace(connection: &HrisConnection) -> String {
    connection.namespace().unwrap_or_else(|| "default".into())
}

/// The labels of a run's Job and Pod: the sync workload's, the run's kind, generation and id.
fn job_labels(
    connection: &HrisConnection,
    kind: RunMode,
    run_id: &str,
) -> BTreeMap<String, String> {
    let mut labels = sync_workload_labels(&connection.name_any());
    labels.extend([
        (RUN_KIND_LABEL.to_owned(), kind.as_str().to_owned()),
        (
            GENERATION_LABEL.to_owned(),
            connection.metadata.generation.unwrap_or(0).to_string(),
        ),
        (RUN_LABEL.to_owned(), run_id.to_owned()),
    ]);
    labels
}

/// The sync Pod: non-root, no privileges, its connection's (or its own) ServiceAccount, one
/// container running `sync`.
fn sync_pod(
    connection: &HrisConnection,
    kind: RunMode,
    run_id: &str,
    approved_hash: Option<&str>,
    defaults: &JobDefaults,
) -> PodSpec {
    let settings = &connection.spec.job;
    let service_account = if settings.service_account_name.is_empty() {
        sync_access_name(connection)
    } else {
        settings.service_account_name.clone()
    };
    let (volumes, mounts) = mounted_files(connection);
    PodSpec {
        restart_policy: Some("Never".into()),
        service_account_name: Some(service_account),
        automount_service_account_token: Some(true),
        image_pull_secrets: (!defaults.image_pull_secrets.is_empty()).then(|| {
            defaults
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(65532),
            run_as_group: Some(65532),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![sync_container(
            connection,
            kind,
            run_id,
            approved_hash,
            defaults,
            mounts,
        )],
        volumes: Some(volumes),
        ..PodSpec::default()
    }
}

/// The sync container: the image, `sync`'s arguments, the environment, resources and mounts,
/// a read-only root and no capabilities.
fn sync_container(
    connection: &HrisConnection,
    kind: RunMode,
    run_id: &str,
    approved_hash: Option<&str>,
    defaults: &JobDefaults,
    mounts: Vec<VolumeMount>,
) -> Container {
    let settings = &connection.spec.job;
    let image = if settings.image.is_empty() {
        defaults.image.clone()
    } else {
        settings.image.clone()
    };
    Container {
        name: SYNC_CONTAINER.into(),
        image: Some(image),
        args: Some(sync_args(connection, kind, run_id, approved_hash)),
        env: Some(own_env(defaults)),
        resources: Some(sync_resources(connection, defaults)),
        volume_mounts: Some(mounts),
        termination_message_policy: Some("File".into()),
        security_context: Some(SecurityContext {
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

/// The arguments of `hris-operator sync` for this run.
fn sync_args(
    connection: &HrisConnection,
    kind: RunMode,
    run_id: &str,
    approved_hash: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        "sync".to_owned(),
        "--connection".to_owned(),
        format!("{}/{}", job_namespace(connection), connection.name_any()),
        "--mode".to_owned(),
        kind.as_str().to_owned(),
        "--secrets-dir".to_owned(),
        SECRETS_DIR.to_owned(),
        "--run-id".to_owned(),
        run_id.to_owned(),
        "--report".to_owned(),
        report_name(&job_name(connection, kind, run_id)),
    ];
    if let Some(hash) = approved_hash {
        args.extend(["--approve".to_owned(), hash.to_owned()]);
    }
    args
}

/// The connection's resources, else the operator-wide default, else a small request and a
/// memory limit.
fn sync_resources(connection: &HrisConnection, defaults: &JobDefaults) -> ResourceRequirements {
    connection
        .spec
        .job
        .resources
        .clone()
        .or_else(|| defaults.pod.resources.clone())
        .unwrap_or_else(|| ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("100m".into())),
                ("memory".to_owned(), Quantity("128Mi".into())),
            ])),
            limits: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity("1Gi".into()),
            )])),
            ..ResourceRequirements::default()
        })
}

/// The volumes of the sync Pod and where the container mounts them: scratch space at `/tmp`
/// (the root is read-only), then one volume per referenced Secret at `SECRETS_DIR/NAME` and
/// per referenced ConfigMap at `CONFIG_MAPS_DIR/NAME`, each with just the referenced keys and
/// mounted read-only.
fn mounted_files(connection: &HrisConnection) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity("256Mi".into())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }];
    let secrets = keys_by_name(
        secret_refs(connection)
            .into_iter()
            .map(|r| (r.name.as_str(), r.key.as_str())),
    );
    // A Secret only notifications read is optional: a missing one fails those deliveries
    // (reported as NotificationFailed), not the whole run.
    let required: BTreeSet<&str> = crate::connectors::required_secret_refs(&connection.spec)
        .into_iter()
        .map(|r| r.name.as_str())
        .collect();
    for (index, (secret, keys)) in secrets.iter().enumerate() {
        let volume = format!("secret-{index}");
        volumes.push(Volume {
            name: volume.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some((*secret).to_owned()),
                items: Some(key_paths(keys)),
                default_mode: Some(0o400),
                optional: Some(!required.contains(secret)),
            }),
            ..Volume::default()
        });
        mounts.push(read_only_mount(volume, format!("{SECRETS_DIR}/{secret}")));
    }
    let config_maps = keys_by_name(
        config_map_refs(connection)
            .into_iter()
            .map(|r| (r.name.as_str(), r.key.as_str())),
    );
    for (index, (config_map, keys)) in config_maps.iter().enumerate() {
        let volume = format!("configmap-{index}");
        volumes.push(Volume {
            name: volume.clone(),
            config_map: Some(ConfigMapVolumeSource {
                name: (*config_map).to_owned(),
                items: Some(key_paths(keys)),
                default_mode: Some(0o444),
                optional: Some(false),
            }),
            ..Volume::default()
        });
        mounts.push(read_only_mount(
            volume,
            format!("{CONFIG_MAPS_DIR}/{config_map}"),
        ));
    }
    (volumes, mounts)
}

/// `(name, key)` references grouped by name, each key once, in the order they come.
fn keys_by_name<'a>(
    references: impl Iterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, key) in references {
        let keys = grouped.entry(name).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    grouped
}

/// Each key as a file of the same name.
fn key_paths(keys: &[&str]) -> Vec<KeyToPath> {
    keys.iter()
        .map(|key| KeyToPath {
            key: (*key).to_owned(),
            path: (*key).to_owned(),
            mode: None,
        })
        .collect()
}

fn read_only_mount(volume: String, mount_path: String) -> VolumeMount {
    VolumeMount {
        name: volume,
        mount_path,
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// The environment the controller gives every sync container; settings cannot change it.
fn own_env(defaults: &JobDefaults) -> Vec<EnvVar> {
    vec![EnvVar {
        name: "RUST_LOG".into(),
        value: Some(defaults.log_level.clone()),
        ..EnvVar::default()
    }]
}

/// Whether a Pod label belongs to the controller (the ones it selects and records runs by,
/// and its whole `hris-operator.io/` prefix) or to the Job controller (`job-name`,
/// `controller-uid`, `batch.kubernetes.io/`), whose Pods must keep matching their Job's
/// selector. The operator-wide settings never set these.
pub fn is_reserved_label(key: &str) -> bool {
    matches!(
        key,
        "app.kubernetes.io/name"
            | "app.kubernetes.io/component"
            | "app.kubernetes.io/managed-by"
            | "job-name"
            | "controller-uid"
    ) || is_reserved_annotation(key)
}

/// Whether a Pod annotation belongs to the controller or the Job controller.
pub fn is_reserved_annotation(key: &str) -> bool {
    key.starts_with("hris-operator.io/") || key.starts_with("batch.kubernetes.io/")
}

/// The operator-wide settings that the controller's own labels, annotations and environment
/// override, as fields of the settings file (for a warning at start).
pub fn overridden_settings(defaults: &JobDefaults) -> Vec<String> {
    let settings = &defaults.pod;
    let labels = settings.labels.keys().filter(|k| is_reserved_label(k));
    let annotations = settings
        .annotations
        .keys()
        .filter(|k| is_reserved_annotation(k));
    let own = own_env(defaults);
    let env = settings
        .env
        .iter()
        .enumerate()
        .filter(|(_, var)| own.iter().any(|o| o.name == var.name));
    labels
        .map(|key| format!("labels.{key}"))
        .chain(annotations.map(|key| format!("annotations.{key}")))
        .chain(env.map(|(index, var)| format!("env[{index}] ({})", var.name)))
        .collect()
}

/// Adds the operator-wide settings to a sync Pod template. The controller's own labels,
/// annotations and environment win: a setting of the same key is left out, as is any
/// reserved label or annotation, so no setting can detach a Pod from its Job or its connection.
fn apply_pod_settings(template: &mut PodTemplateSpec, settings: &SyncPodSettings) {
    let metadata = template.metadata.get_or_insert_with(ObjectMeta::default);
    add_missing(&mut metadata.labels, &settings.labels, is_reserved_label);
    add_missing(
        &mut metadata.annotations,
        &settings.annotations,
        is_reserved_annotation,
    );
    let Some(pod) = template.spec.as_mut() else {
        return;
    };
    pod.node_selector =
        (!settings.node_selector.is_empty()).then(|| settings.node_selector.clone());
    pod.tolerations = (!settings.tolerations.is_empty()).then(|| settings.tolerations.clone());
    pod.affinity = settings.affinity.clone();
    pod.topology_spread_constraints = (!settings.topology_spread_constraints.is_empty())
        .then(|| settings.topology_spread_constraints.clone());
    pod.priority_class_name =
        (!settings.priority_class_name.is_empty()).then(|| settings.priority_class_name.clone());
    for container in &mut pod.containers {
        let env = container.env.get_or_insert_with(Vec::new);
        let extra: Vec<EnvVar> = settings
            .env
            .iter()
            .filter(|var| !env.iter().any(|own| own.name == var.name))
            .cloned()
            .collect();
        env.extend(extra);
    }
}

/// `extra`'s entries that `map` lacks and `reserved` allows, added to `map`.
fn add_missing(
    map: &mut Option<BTreeMap<String, String>>,
    extra: &BTreeMap<String, String>,
    reserved: fn(&str) -> bool,
) {
    let mut allowed = extra.iter().filter(|(key, _)| !reserved(key)).peekable();
    if allowed.peek().is_none() {
        return;
    }
    let map = map.get_or_insert_with(BTreeMap::new);
    for (key, value) in allowed {
        map.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{contract::labels::CONNECTION_LABEL, crd::HrisConnectionSpec};

    fn connection(name: &str, yaml_target: &str) -> HrisConnection {
        let spec: HrisConnectionSpec = serde_saphyr::from_str(&format!(
            "source: {{csv: {{path: e.csv}}}}\ntarget: {yaml_target}\nexternalIdPrefix: 'hr:'\n\
             job: {{activeDeadlineSeconds: 900, backoffLimit: 1}}\n"
        ))
        .unwrap();
        let mut connection = HrisConnection::new(name, spec);
        connection.metadata.namespace = Some("people".into());
        connection.metadata.uid = Some("4f0c-uid".into());
        connection.metadata.generation = Some(7);
        connection
    }

    fn defaults() -> JobDefaults {
        JobDefaults {
            image: "registry.example/hris-operator:0.1.0".into(),
            image_pull_secrets: vec!["regcred".into()],
            ttl_seconds_after_finished: 86_400,
            log_level: "info".into(),
            pod: SyncPodSettings::default(),
        }
    }

    const SCIM: &str = "{scim: {baseUrl: 'https://x.example/scim/v2', oauth2: {tokenUrl: 'https://x.example/token', clientId: c, clientSecretSecretRef: {name: scim-oauth, key: secret}}}}";

    #[test]
    fn the_job_is_deterministic_and_owned_by_its_connection() {
        let connection = connection("acme", SCIM);
        let id = run_id("2026-11-22T02:00:00Z");
        let a = build_job(&connection, RunMode::Apply, &id, None, &defaults());
        let b = build_job(&connection, RunMode::Apply, &id, None, &defaults());
        assert_eq!(a, b);
        assert_eq!(
            a.metadata.name.as_deref(),
            Some(format!("acme-apply-7-{id}").as_str())
        );
        let owner = &a.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("HrisConnection", "acme", "4f0c-uid")
        );
        assert_eq!(owner.controller, Some(true));
        let other = build_job(
            &connection,
            RunMode::Simulate,
            &run_id("another"),
            None,
            &defaults(),
        );
        assert_ne!(other.metadata.name, a.metadata.name);
    }

    #[test]
    fn the_container_runs_sync_with_the_secrets_mounted_as_files() {
        let job = build_job(
            &connection("acme", SCIM),
            RunMode::Simulate,
            "abcd1234",
            None,
            &defaults(),
        );
        let spec = job.spec.unwrap();
        assert_eq!(spec.backoff_limit, Some(1));
        assert_eq!(spec.active_deadline_seconds, Some(900));
        assert_eq!(spec.ttl_seconds_after_finished, Some(86_400));
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.service_account_name.as_deref(), Some("acme-sync"));
        assert_eq!(
            pod.image_pull_secrets,
            Some(vec![LocalObjectReference {
                name: "regcred".into()
            }])
        );
        let container = &pod.containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some("registry.example/hris-operator:0.1.0")
        );
        assert_eq!(
            container.args.as_ref().unwrap().join(" "),
            "sync --connection people/acme --mode simulate --secrets-dir /var/run/secrets/hris-operator \
             --run-id abcd1234 --report acme-sim-7-abcd1234-report"
        );
        let secret = pod
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find_map(|v| v.secret.as_ref())
            .unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("scim-oauth"));
        assert_eq!(secret.items.as_ref().unwrap()[0].key, "secret");
        let mount = container
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.mount_path == "/var/run/secrets/hris-operator/scim-oauth")
            .unwrap();
        assert_eq!(mount.read_only, Some(true));
    }

    #[test]
    fn the_pod_is_non_root_with_a_read_only_root_filesystem() {
        let job = build_job(
            &connection("acme", SCIM),
            RunMode::Apply,
            "x",
            Some("9e61cd"),
            &defaults(),
        );
        let pod = job.spec.unwrap().template.spec.unwrap();
        assert_eq!(
            pod.security_context.as_ref().unwrap().run_as_non_root,
            Some(true)
        );
        let security = pod.containers[0].security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(
            security.capabilities.as_ref().unwrap().drop,
            Some(vec!["ALL".to_owned()])
        );
        let args = pod.containers[0].args.as_ref().unwrap();
        assert_eq!(&args[args.len() - 2..], ["--approve", "9e61cd"]);
        // Writable scratch space despite the read-only root.
        assert!(
            pod.containers[0]
                .volume_mounts
                .as_ref()
                .unwrap()
                .iter()
                .any(|m| m.mount_path == "/tmp")
        );
    }

    #[test]
    fn the_connection_can_override_image_account_and_resources() {
        let mut connection = connection("acme", "{file: {path: d.json}}");
        connection.spec.job.image = "mirror.example/hris:pinned".into();
        connection.spec.job.service_account_name = "custom".into();
        let job = build_job(&connection, RunMode::Apply, "x", None, &defaults());
        let pod = job.spec.unwrap().template.spec.unwrap();
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("mirror.example/hris:pinned")
        );
        assert_eq!(pod.service_account_name.as_deref(), Some("custom"));
        assert_eq!(
            pod.volumes.as_ref().unwrap().len(),
            1,
            "no secrets: only /tmp"
        );
    }

    #[test]
    fn the_operator_wide_pod_settings_land_in_the_job_but_never_override_ours() {
        let settings = SyncPodSettings::parse(
            "labels: {team: identity, app.kubernetes.io/component: proxy, \
                      hris-operator.io/connection: other, job-name: other}\n\
             annotations: {example.com/owner: identity, hris-operator.io/approved-hash: forged}\n\
             env: [{name: HTTPS_PROXY, value: 'http://proxy.corp:3128'}, \
                   {name: NO_PROXY, value: '.svc,.cluster.local'}, {name: RUST_LOG, value: trace}]\n\
             nodeSelector: {kubernetes.io/os: linux}\n\
             tolerations: [{key: dedicated, operator: Equal, value: sync, effect: NoSchedule}]\n\
             affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: \
                        {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}\n\
             topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n\
             priorityClassName: batch-low\n\
             resources: {requests: {cpu: 250m}}\n",
        )
        .unwrap();
        let defaults = JobDefaults {
            pod: settings,
            ..defaults()
        };
        let plain = build_job(
            &connection("acme", SCIM),
            RunMode::Apply,
            "x",
            Some("9e61cd"),
            &JobDefaults {
                pod: SyncPodSettings::default(),
                ..defaults.clone()
            },
        );
        let job = build_job(
            &connection("acme", SCIM),
            RunMode::Apply,
            "x",
            Some("9e61cd"),
            &defaults,
        );
        // The Job itself, its selector-relevant labels and its owner are untouched.
        assert_eq!(job.metadata, plain.metadata);
        let template = &job.spec.as_ref().unwrap().template;
        let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        let plain_template = &plain.spec.as_ref().unwrap().template;
        let plain_labels = plain_template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        for (key, value) in plain_labels {
            assert_eq!(
                labels.get(key),
                Some(value),
                "our label {key} was overridden"
            );
        }
        assert_eq!(labels["team"], "identity");
        assert_eq!(labels["app.kubernetes.io/component"], "sync");
        assert_eq!(labels[CONNECTION_LABEL], "acme");
        assert!(
            !labels.contains_key("job-name"),
            "the Job controller's label"
        );
        assert_eq!(labels.len(), plain_labels.len() + 1);
        let annotations = template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap();
        assert_eq!(annotations["example.com/owner"], "identity");
        assert_eq!(annotations[APPROVED_HASH_ANNOTATION], "9e61cd");

        let pod = template.spec.as_ref().unwrap();
        let env: Vec<(&str, &str)> = pod.containers[0]
            .env
            .iter()
            .flatten()
            .map(|var| (var.name.as_str(), var.value.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            env,
            [
                ("RUST_LOG", "info"),
                ("HTTPS_PROXY", "http://proxy.corp:3128"),
                ("NO_PROXY", ".svc,.cluster.local"),
            ]
        );
        assert_eq!(
            pod.node_selector.as_ref().unwrap()["kubernetes.io/os"],
            "linux"
        );
        assert_eq!(
            pod.tolerations.as_ref().unwrap()[0].value.as_deref(),
            Some("sync")
        );
        assert!(pod.affinity.as_ref().unwrap().node_affinity.is_some());
        assert_eq!(
            pod.topology_spread_constraints.as_ref().unwrap()[0].topology_key,
            "zone"
        );
        assert_eq!(pod.priority_class_name.as_deref(), Some("batch-low"));
        let resources = pod.containers[0].resources.as_ref().unwrap();
        assert_eq!(resources.requests.as_ref().unwrap()["cpu"].0, "250m");
        // What keeps the Pod ours is the same as without settings.
        let plain_pod = plain_template.spec.as_ref().unwrap();
        assert_eq!(pod.security_context, plain_pod.security_context);
        assert_eq!(
            pod.containers[0].security_context,
            plain_pod.containers[0].security_context
        );
        assert_eq!(pod.service_account_name, plain_pod.service_account_name);
        assert_eq!(pod.containers[0].args, plain_pod.containers[0].args);
        assert_eq!(pod.volumes, plain_pod.volumes);

        assert_eq!(
            overridden_settings(&defaults),
            [
                "labels.app.kubernetes.io/component",
                "labels.hris-operator.io/connection",
                "labels.job-name",
                "annotations.hris-operator.io/approved-hash",
                "env[2] (RUST_LOG)",
            ]
        );
    }

    #[test]
    fn a_connection_s_own_resources_win_over_the_operator_wide_default() {
        let defaults = JobDefaults {
            pod: SyncPodSettings::parse("resources: {requests: {cpu: 250m}}").unwrap(),
            ..defaults()
        };
        let mut connection = connection("acme", SCIM);
        connection.spec.job.resources = Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".into(), Quantity("2Gi".into()))])),
            ..ResourceRequirements::default()
        });
        let job = build_job(&connection, RunMode::Apply, "x", None, &defaults);
        let pod = job.spec.unwrap().template.spec.unwrap();
        let resources = pod.containers[0].resources.as_ref().unwrap();
        assert_eq!(resources.requests, None);
        assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "2Gi");
    }

    fn connection_with_source(yaml_source: &str) -> HrisConnection {
        let mut connection = connection("acme", "{file: {path: d.json}}");
        connection.spec.source = serde_saphyr::from_str(yaml_source).unwrap();
        connection
    }

    fn mounts(job: &Job) -> Vec<(String, String, Vec<String>)> {
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let volumes = pod.volumes.as_ref().unwrap();
        pod.containers[0]
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.mount_path != "/tmp")
            .map(|m| {
                let volume = volumes.iter().find(|v| v.name == m.name).unwrap();
                let (name, items) = match (&volume.secret, &volume.config_map) {
                    (Some(secret), None) => (
                        format!("secret:{}", secret.secret_name.as_deref().unwrap()),
                        secret.items.as_ref().unwrap(),
                    ),
                    (None, Some(map)) => (
                        format!("configMap:{}", map.name),
                        map.items.as_ref().unwrap(),
                    ),
                    _ => panic!("a mount of one Secret or one ConfigMap"),
                };
                assert_eq!(m.read_only, Some(true));
                (
                    m.mount_path.clone(),
                    name,
                    items.iter().map(|i| i.key.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_source_secret_is_mounted_with_only_its_keys() {
        let cases = [
            (
                "{merge: {apiKeySecretRef: {name: merge, key: apiKey}, accountTokenSecretRef: {name: merge, key: accountToken}}}",
                vec![(
                    "/var/run/secrets/hris-operator/merge",
                    "secret:merge",
                    vec!["apiKey", "accountToken"],
                )],
            ),
            (
                "{bambooHr: {companyDomain: acme, credentialsSecretRef: {name: bamboo, key: apiKey}}}",
                vec![(
                    "/var/run/secrets/hris-operator/bamboo",
                    "secret:bamboo",
                    vec!["apiKey"],
                )],
            ),
            (
                "{personio: {clientIdSecretRef: {name: personio-id, key: id}, clientSecretSecretRef: {name: personio, key: secret}}}",
                vec![
                    (
                        "/var/run/secrets/hris-operator/personio",
                        "secret:personio",
                        vec!["secret"],
                    ),
                    (
                        "/var/run/secrets/hris-operator/personio-id",
                        "secret:personio-id",
                        vec!["id"],
                    ),
                ],
            ),
            (
                "{hiBob: {serviceUserId: svc, tokenSecretRef: {name: hibob, key: token}}}",
                vec![(
                    "/var/run/secrets/hris-operator/hibob",
                    "secret:hibob",
                    vec!["token"],
                )],
            ),
            (
                "{afas: {environmentId: '12345', getConnector: HrisEmployees, tokenSecretRef: {name: afas, key: token}}}",
                vec![(
                    "/var/run/secrets/hris-operator/afas",
                    "secret:afas",
                    vec!["token"],
                )],
            ),
            (
                "{workday: {host: wd.example, tenant: acme, reportOwner: isu, reportName: people, username: isu, passwordSecretRef: {name: workday, key: password}}}",
                vec![(
                    "/var/run/secrets/hris-operator/workday",
                    "secret:workday",
                    vec!["password"],
                )],
            ),
            (
                "{csv: {secretRef: {name: people, key: employees.csv}}}",
                vec![(
                    "/var/run/secrets/hris-operator/people",
                    "secret:people",
                    vec!["employees.csv"],
                )],
            ),
            ("{csv: {path: e.csv}}", vec![]),
        ];
        for (source, expected) in cases {
            let job = build_job(
                &connection_with_source(source),
                RunMode::Simulate,
                "x",
                None,
                &defaults(),
            );
            let expected: Vec<(String, String, Vec<String>)> = expected
                .into_iter()
                .map(|(path, name, keys)| {
                    (
                        path.to_owned(),
                        name.to_owned(),
                        keys.into_iter().map(str::to_owned).collect(),
                    )
                })
                .collect();
            assert_eq!(mounts(&job), expected, "{source}");
        }
    }

    #[test]
    fn a_csv_config_map_is_mounted_at_the_config_maps_dir() {
        let connection =
            connection_with_source("{csv: {configMapRef: {name: people, key: employees.csv}}}");
        assert!(secret_refs(&connection).is_empty());
        let job = build_job(&connection, RunMode::Apply, "x", None, &defaults());
        assert_eq!(
            mounts(&job),
            vec![(
                "/var/run/configmaps/hris-operator/people".to_owned(),
                "configMap:people".to_owned(),
                vec!["employees.csv".to_owned()],
            )]
        );
        let pod = job.spec.unwrap().template.spec.unwrap();
        let volume = pod
            .volumes
            .unwrap()
            .into_iter()
            .find_map(|v| v.config_map)
            .unwrap();
        assert_eq!(volume.optional, Some(false));
    }

    #[test]
    fn directory_targets_mount_their_credentials() {
        let graph = connection(
            "entra",
            "{microsoftGraph: {tenantId: t, clientId: c, clientSecretSecretRef: {name: entra, key: clientSecret}}}",
        );
        assert_eq!(
            secret_refs(&graph),
            vec![&SecretKeyRef {
                name: "entra".into(),
                key: "clientSecret".into()
            }]
        );
        let google = connection(
            "workspace",
            "{googleWorkspace: {serviceAccountKeySecretRef: {name: gws, key: key.json}, adminEmail: admin@acme.example}}",
        );
        assert_eq!(
            secret_refs(&google),
            vec![&SecretKeyRef {
                name: "gws".into(),
                key: "key.json".into()
            }]
        );
    }

    #[test]
    fn notification_secrets_are_mounted_optional_unless_a_connector_reads_the_secret_too() {
        let mut connection = connection("acme", SCIM);
        connection.spec.notifications = serde_saphyr::from_str(
            "[{slack: {webhookUrlSecretRef: {name: hooks, key: slack}}},
              {webhook: {urlSecretRef: {name: hooks, key: events},
                         signingKeySecretRef: {name: scim-oauth, key: signing}}},
              {email: {smtp: {host: smtp.acme.example,
                              usernameSecretRef: {name: smtp, key: user},
                              passwordSecretRef: {name: smtp, key: password}},
                       from: hris@acme.example, to: [hr@acme.example]}}]",
        )
        .unwrap();
        let job = build_job(&connection, RunMode::Apply, "abcd1234", None, &defaults());
        let dir = "/var/run/secrets/hris-operator";
        assert_eq!(
            mounts(&job),
            [
                (
                    format!("{dir}/hooks"),
                    "secret:hooks".into(),
                    vec!["slack".into(), "events".into()]
                ),
                (
                    format!("{dir}/scim-oauth"),
                    "secret:scim-oauth".into(),
                    vec!["secret".into(), "signing".into()]
                ),
                (
                    format!("{dir}/smtp"),
                    "secret:smtp".into(),
                    vec!["user".into(), "password".into()]
                ),
            ]
        );
        let volumes = job.spec.unwrap().template.spec.unwrap().volumes.unwrap();
        let optional = |name: &str| {
            volumes
                .iter()
                .find_map(|v| {
                    v.secret
                        .as_ref()
                        .filter(|s| s.secret_name.as_deref() == Some(name))
                })
                .unwrap()
                .optional
        };
        // A missing notification Secret fails its deliveries, not the run; the target's
        // Secret stays required even though a notification reads it too.
        assert_eq!(optional("hooks"), Some(true));
        assert_eq!(optional("smtp"), Some(true));
        assert_eq!(optional("scim-oauth"), Some(false));
    }
}
