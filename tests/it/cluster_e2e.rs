//! The operator on a real cluster (kind or k3d), opt-in: it runs only when `HRIS_E2E_KUBECONFIG`
//! names a kubeconfig, and says so and passes otherwise (unit tests never contact a cluster).
//!
//! What it needs in the cluster: the image `HRIS_E2E_IMAGE` (default `hris-operator:dev`,
//! built from config/image/Dockerfile and loaded with `kind load docker-image`), and the
//! emulators' image `HRIS_E2E_EMULATOR_IMAGE` (default `hris-emulators:dev`, built from
//! tests/emulators/Dockerfile and loaded the same way). It installs the
//! CRD itself, runs the controller binary of this build outside the cluster against it, and
//! runs in a fresh namespace it deletes afterwards:
//!
//! 1. the API server refuses an invalid connection (the CRD's schema and CEL rules);
//! 2. a SCIM emulator (`hris-emulators scim`, the emulators' image) as a Deployment and Service;
//! 3. an Active connection reading a CSV from a ConfigMap into that emulator: the controller
//!    starts a sync Job (real kubelet, real termination message) as the connection's own
//!    ServiceAccount, whose Role (made by the controller) allows only reading the connection and
//!    writing the run's report Secrets; the status shows the created users, the report Secret
//!    exists and is owned by the connection, and the API server's own access review refuses
//!    that ServiceAccount the credentials Secret and any other report;
//! 4. a second sync (requested by annotation) changes nobody.
//!
//! Run: `HRIS_E2E_KUBECONFIG=~/.kube/config cargo test --test it cluster_e2e -- --nocapture`

use std::time::{Duration, Instant};

use hris_operator::crd::HrisConnection;
use k8s_openapi::api::{
    apps::v1::Deployment,
    authorization::v1::SubjectAccessReview,
    core::v1::{ConfigMap, Namespace, Secret, Service},
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client, Config,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(300);
const EMPLOYEES: &str = "id,firstName,lastName,employmentStatus,workEmail,startDate\n\
E1,Ada,Lovelace,Active,ada@example.com,2020-01-01\n\
E2,Alan,Turing,Active,alan@example.com,2020-01-01\n\
E3,Grace,Hopper,Active,grace@example.com,2020-01-01\n";

async fn client() -> Option<Client> {
    let path = std::env::var_os("HRIS_E2E_KUBECONFIG")?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(&path).expect("HRIS_E2E_KUBECONFIG is readable");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("HRIS_E2E_KUBECONFIG is a valid kubeconfig");
    Some(Client::try_from(config).expect("a client"))
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn apply<T: serde::Serialize>(object: &T) -> Patch<&T> {
    Patch::Apply(object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_syncs_on_a_real_cluster() {
    let Some(client) = client().await else {
        eprintln!("HRIS_E2E_KUBECONFIG is not set: the real-cluster suite does not run");
        return;
    };
    let image = std::env::var("HRIS_E2E_IMAGE").unwrap_or_else(|_| "hris-operator:dev".into());
    let emulator_image =
        std::env::var("HRIS_E2E_EMULATOR_IMAGE").unwrap_or_else(|_| "hris-emulators:dev".into());
    let namespace = format!("hris-e2e-{}", std::process::id());
    let params = PatchParams::apply("hris-e2e").force();

    // The CRD, exactly as shipped.
    let crd: CustomResourceDefinition =
        serde_saphyr::from_str(include_str!("../../crds/hrisconnection.yaml")).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch("hrisconnections.hris-operator.io", &params, &apply(&crd))
        .await
        .unwrap();
    eventually("the CRD to be established", || async {
        let crd = crds.get("hrisconnections.hris-operator.io").await.ok()?;
        crd.status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
            .then_some(())
    })
    .await;

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cleanup = Cleanup {
        namespaces: namespaces.clone(),
        name: namespace.clone(),
    };

    // 1. The API server refuses an invalid manifest.
    let connections: Api<HrisConnection> = Api::namespaced(client.clone(), &namespace);
    let invalid = json!({
        "apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
        "metadata": {"name": "invalid"},
        "spec": {"source": {"csv": {"path": "a.csv"}}, "target": {"file": {"path": "d.json"}},
                 "externalIdPrefix": "xx:", "safeguards": {"maxDeletePercent": 101}}
    });
    let refused = Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        &namespace,
        &kube::api::ApiResource::erase::<HrisConnection>(&()),
    )
    .create(
        &PostParams::default(),
        &serde_json::from_value(invalid).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("maxDeletePercent"),
        "{refused}"
    );

    // 2. A SCIM emulator in the cluster.
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "scim", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "scim"}},
                 "template": {"metadata": {"labels": {"app": "scim"}},
                   "spec": {"containers": [{"name": "scim", "image": emulator_image,
                     "args": ["scim", "--host", "0.0.0.0", "--port", "8090",
                              "--token", "e2e-token"],
                     "ports": [{"containerPort": 8090}]}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &namespace)
        .patch("scim", &params, &apply(&deployment))
        .await
        .unwrap();
    let service: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "scim", "namespace": namespace},
        "spec": {"selector": {"app": "scim"}, "ports": [{"port": 8090, "targetPort": 8090}]}
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), &namespace)
        .patch("scim", &params, &apply(&service))
        .await
        .unwrap();
    let token: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "scim", "namespace": namespace},
        "stringData": {"token": "e2e-token"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &namespace)
        .patch("scim", &params, &apply(&token))
        .await
        .unwrap();
    let employees: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "employees", "namespace": namespace},
        "data": {"employees.csv": EMPLOYEES}
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &namespace)
        .patch("employees", &params, &apply(&employees))
        .await
        .unwrap();

    // 3. The controller (this build, outside the cluster) and an Active connection.
    let mut controller = std::process::Command::new(env!("CARGO_BIN_EXE_hris-operator"))
        .args([
            "controller",
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
            "--namespaces",
            &namespace,
        ])
        .env(
            "KUBECONFIG",
            std::env::var_os("HRIS_E2E_KUBECONFIG").unwrap(),
        )
        .env("HRIS_SYNC_IMAGE", &image)
        .env("RUST_LOG", "info")
        .spawn()
        .unwrap();
    let connection: HrisConnection = serde_json::from_value(json!({
        "apiVersion": "hris-operator.io/v1alpha1", "kind": "HrisConnection",
        "metadata": {"name": "acme", "namespace": namespace},
        "spec": {"mode": "Active",
                 "source": {"csv": {"configMapRef": {"name": "employees", "key": "employees.csv"}}},
                 // The emulator in the test namespace speaks plain http.
                 "target": {"scim": {"baseUrl": format!("http://scim.{namespace}.svc:8090/scim/v2"),
                                     "allowInsecureHttp": true,
                                     "credentialsSecretRef": {"name": "scim", "key": "token"}}},
                 "externalIdPrefix": "acme:", "schedule": {"interval": "24h"}}
    }))
    .unwrap();
    connections
        .create(&PostParams::default(), &connection)
        .await
        .unwrap();
    let status = eventually("the first sync in status", || async {
        let status = connections.get("acme").await.ok()?.status?;
        status
            .last_sync
            .as_ref()
            .is_some_and(|run| run.result.is_some())
            .then_some(status)
    })
    .await;
    let sync = status.last_sync.unwrap();
    assert_eq!(
        sync.result.map(|r| r.as_str()),
        Some("Succeeded"),
        "{sync:?}"
    );
    assert_eq!(sync.counts.created, 3);
    let report = sync.report_ref.expect("a report reference");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let parts = secrets
        .list(&ListParams::default().labels("hris-operator.io/connection=acme"))
        .await
        .unwrap();
    assert!(
        parts.items.iter().any(|s| s
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(&report))),
        "the report Secret {report} exists"
    );
    // The sync ran as the connection's ServiceAccount, under a Role naming this run's reports;
    // the API server itself refuses that account everything else.
    let role = Api::<k8s_openapi::api::rbac::v1::Role>::namespaced(client.clone(), &namespace)
        .get("acme-sync")
        .await
        .unwrap();
    let rules = role.rules.unwrap();
    assert_eq!(rules[1].resource_names.as_ref().unwrap()[0], report);
    let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
    let may = |verb: &str, group: &str, resource: &str, name: &str| {
        let review: SubjectAccessReview = serde_json::from_value(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": format!("system:serviceaccount:{namespace}:acme-sync"),
                     "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{namespace}")],
                     "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                            "resource": resource, "name": name}}
        }))
        .unwrap();
        let reviews = reviews.clone();
        async move {
            reviews
                .create(&PostParams::default(), &review)
                .await
                .unwrap()
                .status
                .is_some_and(|status| status.allowed)
        }
    };
    assert!(may("get", "hris-operator.io", "hrisconnections", "acme").await);
    assert!(may("patch", "", "secrets", &report).await);
    assert!(!may("get", "hris-operator.io", "hrisconnections", "other").await);
    assert!(!may("get", "", "secrets", "scim").await);
    assert!(!may("get", "", "secrets", &report).await);
    assert!(!may("patch", "", "secrets", "scim").await);

    // 4. A requested second sync changes nobody.
    connections
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "hris-operator.io/sync-requested-at": "2026-11-22T12:00:00Z"}}})),
        )
        .await
        .unwrap();
    let second = eventually("the requested sync", || async {
        let status = connections.get("acme").await.ok()?.status?;
        let run = status.last_sync?;
        (run.job_name.as_deref() != sync.job_name.as_deref() && run.result.is_some()).then_some(run)
    })
    .await;
    assert_eq!(second.counts.created + second.counts.updated, 0);
    assert_eq!(second.counts.unchanged, 3);

    let _ = controller.kill();
    let _ = controller.wait();
    drop(cleanup);
}

/// Deletes the test namespace, whatever happened.
struct Cleanup {
    namespaces: Api<Namespace>,
    name: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let namespaces = self.namespaces.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async { namespaces.delete(&name, &DeleteParams::default()).await })
        })
        .join();
    }
}
