//! `hris-operator controller`: watches HrisConnections and the Jobs they own, reconciles them
//! while this replica holds the leader Lease, and serves `/metrics`, `/healthz` and `/readyz`.
//!
//! SIGTERM or SIGINT stops it, in every state (standby, leading, API server unreachable, a
//! reconcile in flight): reconciles in flight get [`RECONCILE_DRAIN`] to finish, the Lease is
//! given up, and the process exits 0 within [`SHUTDOWN_DEADLINE`] whatever is still pending. A
//! bounded stop matters because the kube runtime's own graceful shutdown waits for the watch
//! caches to fill first, which never happens while the API server is unreachable.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::StatusCode, http::header, response::IntoResponse};
use futures::{FutureExt, StreamExt, future::join_all};
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
    context::{Context, Guarded, Peers},
    job::JobDefaults,
    leader::{LeaderElector, LeaseTiming},
    reconcile::{ReconcileError, reconcile},
    unreadable::report_unreadable,
};
use crate::metrics::Metrics;

/// Reconciles at once, per watched scope: bounds the controller's memory and its load on the
/// API server when many connections become due together.
pub const RECONCILE_CONCURRENCY: u16 = 16;

/// How long reconciles in flight may take to finish once a shutdown signal came; those still
/// running then are cancelled (every reconcile is safe to repeat from the start).
pub const RECONCILE_DRAIN: Duration = Duration::from_secs(3);

/// The longest a shutdown takes from the signal to the exit: draining, giving the Lease up and
/// closing the HTTP endpoints. Well under Kubernetes' default 30 s grace period.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(6);

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

/// Runs the controller until a shutdown signal (`Ok`, within [`SHUTDOWN_DEADLINE`]) or lost
/// leadership (`Err`).
pub async fn run(config: OperatorConfig) -> Result<(), OperatorError> {
    // Registered before anything else, so that a signal at any moment of the start stops the
    // process cleanly instead of killing it.
    let signal = shutdown_signal();
    let (shutdown_tx, shutdown) = watch::channel(false);
    let operating = operate(config, shutdown);
    tokio::pin!(operating);
    tokio::select! {
        result = &mut operating => return result,
        () = signal => {}
    }
    tracing::info!(
        deadline_seconds = SHUTDOWN_DEADLINE.as_secs(),
        "shutting down"
    );
    let _ = shutdown_tx.send(true);
    match tokio::time::timeout(SHUTDOWN_DEADLINE, operating).await {
        // Asked to stop, the controller has stopped: a Lease lost on the way changes nothing.
        Ok(Ok(())) | Ok(Err(OperatorError::LostLeadership)) => {}
        Ok(Err(error)) => return Err(error),
        Err(_) => tracing::warn!(
            deadline_seconds = SHUTDOWN_DEADLINE.as_secs(),
            "shutdown did not finish in time (the API server may be unreachable); exiting anyway"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Everything the controller does until it stops, whether asked to (`shutdown` turns true) or
/// because it lost the Lease.
async fn operate(
    config: OperatorConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), OperatorError> {
    let client = Client::try_default().await.map_err(OperatorError::Client)?;
    let shared = Shared {
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(false)),
        scopes_listed: Arc::new(Mutex::new(Vec::new())),
        stores: Arc::new(Mutex::new(Vec::new())),
    };
    let servers = serve_endpoints(&config, &shared, &shutdown).await?;

    // Stand by until this replica leads (or is asked to stop first).
    let mut leadership = None;
    if config.leader_elect {
        leadership = stand_by(&config, &client, &shared, &shutdown).await;
        if leadership.is_none() {
            join_all(servers).await;
            return Ok(());
        }
    }
    shared.metrics.set_leader(true);

    let lost = leadership.as_ref().map(|(lost, _, _)| lost.clone());
    let stop = stop_signal(shutdown.clone(), lost.clone());
    let context = Arc::new(Context {
        client: client.clone(),
        defaults: config.defaults.clone(),
        starting_deadline: config.starting_deadline,
        reporter: Reporter {
            controller: "hris-operator".into(),
            instance: Some(config.identity.clone()),
        },
        metrics: shared.metrics.clone(),
        peers: Peers(shared.stores.clone()),
        unreadable: Default::default(),
        written: Default::default(),
    });
    let mut controllers = start_controllers(&config, &client, &shared, &context, &stop);
    tokio::select! {
        _ = join_all(controllers.iter_mut()) => {}
        () = drain(stop, &shared) => {
            tracing::info!("cancelling the controllers");
            for controller in &controllers {
                controller.abort();
            }
        }
    }
    shared.metrics.set_leader(false);
    shared.ready.store(false, Ordering::SeqCst);
    shared
        .scopes_listed
        .lock()
        .expect("the scope list is never poisoned")
        .clear();

    let lost_leadership = !*shutdown.borrow() && lost.as_ref().is_some_and(|lost| !*lost.borrow());
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

/// What [`LeaderElector::lead`] hands over: whether this replica still leads, the switch that
/// stops renewing the Lease, and the task renewing it.
type Leadership = (
    watch::Receiver<bool>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<LeaderElector>,
);

/// Opens `/metrics`, `/healthz` and `/readyz`; they close on shutdown.
async fn serve_endpoints(
    config: &OperatorConfig,
    shared: &Shared,
    shutdown: &watch::Receiver<bool>,
) -> Result<[tokio::task::JoinHandle<()>; 2], OperatorError> {
    let metrics_listener = bind(config.metrics_addr).await?;
    let health_listener = bind(config.health_addr).await?;
    tracing::info!(
        metrics = %local(&metrics_listener),
        health = %local(&health_listener),
        "serving /metrics, /healthz and /readyz"
    );
    Ok([
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
    ])
}

/// Waits until this replica holds the leader Lease; `None` when asked to stop first.
async fn stand_by(
    config: &OperatorConfig,
    client: &Client,
    shared: &Shared,
    shutdown: &watch::Receiver<bool>,
) -> Option<Leadership> {
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
    let leadership = tokio::select! {
        led = elector.lead() => Some(led),
        _ = stop.wait_for(|stop| *stop) => None,
    };
    if leadership.is_some() {
        shared.ready.store(false, Ordering::SeqCst);
    }
    leadership
}

/// Completes when the controllers are to stop: on shutdown, or once the Lease is lost.
fn stop_signal(
    mut shutdown: watch::Receiver<bool>,
    mut lost: Option<watch::Receiver<bool>>,
) -> impl Future<Output = ()> + Clone + Send + Sync + 'static {
    let stop = async move {
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
    };
    Box::pin(stop).shared()
}

/// One kube-runtime controller per watched scope (every namespace, or each one listed),
/// reconciling connections and woken by the Jobs they own.
fn start_controllers(
    config: &OperatorConfig,
    client: &Client,
    shared: &Shared,
    context: &Arc<Context>,
    stop: &(impl Future<Output = ()> + Clone + Send + Sync + 'static),
) -> Vec<tokio::task::JoinHandle<()>> {
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
    controllers
}

/// Completes once the controllers have had their time to finish after `stop`. The kube runtime
/// stops gracefully only once its caches have filled: with the API server unreachable that is
/// never. Reconciles start only after a cache filled, so without one there is nothing to
/// drain; otherwise those still running after the drain are cancelled.
fn drain(stop: impl Future<Output = ()>, shared: &Shared) -> impl Future<Output = ()> {
    let stores = shared
        .stores
        .lock()
        .expect("the store list is never poisoned")
        .clone();
    async move {
        stop.await;
        let filled = stores
            .iter()
            .any(|store| store.wait_until_ready().now_or_never().is_some());
        if filled {
            tokio::time::sleep(RECONCILE_DRAIN).await;
        } else {
            tracing::info!(
                "the caches never filled (is the API server reachable?): no reconcile to wait for"
            );
        }
    }
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

/// A future that resolves on the first SIGTERM or SIGINT (Ctrl-C). The handlers are in place
/// when this returns, not at the first poll: a signal in between is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                    only.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
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
