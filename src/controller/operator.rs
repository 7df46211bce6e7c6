//! `hris-operator controller`: watches HrisConnections and the Jobs they own, reconciles them
//! while this replica holds the leader Lease, and serves `/metrics`, `/healthz` and `/readyz`.
//! SIGTERM or Ctrl-C stops it gracefully: reconciles in flight finish, the Lease is given up.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::StatusCode, http::header, response::IntoResponse};
use futures::{StreamExt, future::join_all};
use k8s_openapi::api::batch::v1::Job;
use kube::{
    Api, Client,
    api::ListParams,
    runtime::{
        Controller,
        controller::{self, Action},
        events::Reporter,
        reflector::Store,
        watcher,
    },
};
use tokio::{net::TcpListener, sync::watch};

use super::{
    job::JobDefaults,
    leader::{LeaderElector, LeaseTiming},
    reconcile::{Context, Guarded, ReconcileError, reconcile, report_unreadable},
};
use crate::metrics::Metrics;

/// Reconciles at once, per watched scope: bounds the controller's memory and its load on the
/// API server when many connections become due together.
pub const RECONCILE_CONCURRENCY: u16 = 16;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Namespaces to watch; empty watches every namespace.
    pub namespaces: Vec<String>,
    /// Where `/metrics` listens.
    pub metrics_addr: SocketAddr,
    /// Where `/healthz` and `/readyz` listen.
    pub health_addr: SocketAddr,
    /// Reconcile only while holding the Lease `lease_namespace/lease_name`.
    pub leader_elect: bool,
    /// Namespace of the leader Lease (the controller's own).
    pub lease_namespace: String,
    /// Name of the leader Lease.
    pub lease_name: String,
    /// This replica's identity in the Lease (its Pod name).
    pub identity: String,
    /// Lease timing.
    pub lease_timing: LeaseTiming,
    /// Sync Job defaults.
    pub defaults: JobDefaults,
    /// How late a missed scheduled run may still start.
    pub starting_deadline: Duration,
}

/// Why the controller stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// No Kubernetes client could be configured.
    #[error("cannot configure a Kubernetes client (in a Pod, or from KUBECONFIG): {0}")]
    Client(#[source] kube::Error),
    /// A port could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another replica took the Lease, or it could not be renewed in time.
    #[error("lost the leader Lease; exiting so that a fresh start can compete for it again")]
    LostLeadership,
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    /// Per watched scope: whether its connections have been listed once since the start.
    scopes_listed: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
    stores: Arc<Mutex<Vec<Store<Guarded>>>>,
}

/// Runs the controller until a shutdown signal (`Ok`) or lost leadership (`Err`).
pub async fn run(config: OperatorConfig) -> Result<(), OperatorError> {
    let client = Client::try_default().await.map_err(OperatorError::Client)?;
    let shared = Shared {
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(false)),
        scopes_listed: Arc::new(Mutex::new(Vec::new())),
        stores: Arc::new(Mutex::new(Vec::new())),
    };
    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = shutdown_tx.send(true);
    });

    let metrics_listener = bind(config.metrics_addr).await?;
    let health_listener = bind(config.health_addr).await?;
    tracing::info!(
        metrics = %local(&metrics_listener),
        health = %local(&health_listener),
        "serving /metrics, /healthz and /readyz"
    );
    let servers = [
        tokio::spawn(serve(
            metrics_listener,
            metrics_routes(shared.clone()),
            shutdown.clone(),
        )),
        tokio::spawn(serve(
            health_listener,
            health_routes(shared.clone()),
            shutdown.clone(),
        )),
    ];

    // Stand by until this replica leads (or is asked to stop first).
    let mut leadership = None;
    if config.leader_elect {
        let elector = LeaderElector::new(
            client.clone(),
            &config.lease_namespace,
            &config.lease_name,
            &config.identity,
            config.lease_timing,
        );
        // A standby is healthy and ready: it is doing its job, which is to wait.
        shared.ready.store(true, Ordering::SeqCst);
        let mut stop = shutdown.clone();
        tokio::select! {
            led = elector.lead() => leadership = Some(led),
            _ = stop.wait_for(|stop| *stop) => {}
        }
        if leadership.is_none() {
            join_all(servers).await;
            return Ok(());
        }
        shared.ready.store(false, Ordering::SeqCst);
    }
    shared.metrics.set_leader(true);

    let lost = leadership.as_ref().map(|(lost, _, _)| lost.clone());
    let stop = {
        let mut shutdown = shutdown.clone();
        let mut lost = lost.clone();
        async move {
            match &mut lost {
                Some(lost) => {
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => {}
                        _ = lost.wait_for(|leading| !*leading) => {}
                    }
                }
                None => {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                }
            }
        }
    };
    let stop = futures::future::FutureExt::shared(Box::pin(stop));

    let context = Arc::new(Context {
        client: client.clone(),
        defaults: config.defaults.clone(),
        starting_deadline: config.starting_deadline,
        reporter: Reporter {
            controller: "hris-operator".into(),
            instance: Some(config.identity.clone()),
        },
        metrics: shared.metrics.clone(),
        peers: super::reconcile::Peers(shared.stores.clone()),
        unreadable: Default::default(),
        written: Default::default(),
    });
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    let mut controllers = Vec::new();
    let mut scope_listed = Vec::new();
    for scope in scopes {
        let (connections, jobs): (Api<Guarded>, Api<Job>) = match &scope {
            Some(namespace) => (
                Api::namespaced(client.clone(), namespace),
                Api::namespaced(client.clone(), namespace),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        // Ready once the connections of every scope can be listed: the API answers and the
        // RBAC allows it. (Waiting on the controller's store as well would take the wake-up
        // from the controller's own waiter.)
        let listed = Arc::new(AtomicBool::new(false));
        scope_listed.push(listed.clone());
        tokio::spawn(first_list(connections.clone(), listed));
        let controller = Controller::new(connections, watcher::Config::default())
            .owns(
                jobs,
                watcher::Config::default().labels("app.kubernetes.io/managed-by=hris-operator"),
            )
            .with_config(controller::Config::default().concurrency(RECONCILE_CONCURRENCY))
            .graceful_shutdown_on(stop.clone());
        shared
            .stores
            .lock()
            .expect("the store list is never poisoned")
            .push(controller.store());
        let context = context.clone();
        controllers.push(tokio::spawn(async move {
            controller
                .run(timed_reconcile, error_policy, context)
                .for_each(|result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "reconcile queue");
                    }
                })
                .await;
        }));
    }
    *shared
        .scopes_listed
        .lock()
        .expect("the scope list is never poisoned") = scope_listed;
    join_all(controllers).await;
    shared.metrics.set_leader(false);
    shared.ready.store(false, Ordering::SeqCst);
    shared
        .scopes_listed
        .lock()
        .expect("the scope list is never poisoned")
        .clear();

    let lost_leadership = lost.as_ref().is_some_and(|lost| !*lost.borrow());
    if let Some((_, stop_renewing, renewer)) = leadership {
        let _ = stop_renewing.send(());
        if let Ok(elector) = renewer.await
            && !lost_leadership
            && let Err(error) = elector.release().await
        {
            tracing::warn!(%error, "could not give the leader Lease up");
        }
    }
    if lost_leadership {
        return Err(OperatorError::LostLeadership);
    }
    join_all(servers).await;
    Ok(())
}

/// Lists the connections of a scope once (retrying), then marks it listed.
async fn first_list(connections: Api<Guarded>, listed: Arc<AtomicBool>) {
    loop {
        match connections
            .list_metadata(&ListParams::default().limit(1))
            .await
        {
            Ok(_) => {
                listed.store(true, Ordering::SeqCst);
                tracing::info!("connections listed; ready");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot list HrisConnections yet"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn timed_reconcile(
    connection: Arc<Guarded>,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = match &connection.0 {
        Ok(readable) => reconcile(readable, context.clone()).await,
        // One object this controller cannot read gets InvalidSpec; the others go on.
        Err(invalid) => report_unreadable(invalid, &context).await,
    };
    context
        .metrics
        .reconciled(started.elapsed().as_secs_f64(), result.is_err());
    result
}

fn error_policy(
    _connection: Arc<Guarded>,
    error: &ReconcileError,
    _context: Arc<Context>,
) -> Action {
    tracing::warn!(%error, "reconcile failed; retrying in 15 s");
    Action::requeue(Duration::from_secs(15))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, OperatorError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| OperatorError::Listen { addr, source })
}

fn local(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".into(), |addr| addr.to_string())
}

async fn serve(listener: TcpListener, routes: Router, mut shutdown: watch::Receiver<bool>) {
    let result = axum::serve(listener, routes)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "an HTTP endpoint stopped");
    }
}

fn metrics_routes(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(shared)
}

fn health_routes(shared: Shared) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz))
        .with_state(shared)
}

async fn metrics(State(shared): State<Shared>) -> impl IntoResponse {
    let stores = shared
        .stores
        .lock()
        .expect("the store list is never poisoned")
        .clone();
    let connections: Vec<Arc<Guarded>> = stores.iter().flat_map(Store::state).collect();
    shared
        .metrics
        .observe_connections(connections.iter().filter_map(|g| g.0.as_ref().ok()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
}

async fn readyz(State(shared): State<Shared>) -> impl IntoResponse {
    let leading_and_listed = {
        let scopes = shared
            .scopes_listed
            .lock()
            .expect("the scope list is never poisoned");
        !scopes.is_empty() && scopes.iter().all(|listed| listed.load(Ordering::SeqCst))
    };
    if shared.ready.load(Ordering::SeqCst) || leading_and_listed {
        (StatusCode::OK, "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the caches are filling",
        )
    }
}
