//! `hris-emulators …`: serve one emulator on this machine until Ctrl-C, for the samples in
//! `config/samples` and for trying a connection without an account. Each emulator has its own
//! default port, the one its sample points at; `--port 0` takes any free port. The first line
//! printed names the URL to put in the manifest (and the demo credentials, which the samples'
//! `secrets/` folder holds).
//!
//! The binary is [`Cli`] and [`serve`]; a test serves the same command line in its own process
//! with [`start`], which returns once the emulator listens.

use std::{net::SocketAddr, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{afas, bamboohr, google, graph, hibob, hr, merge, personio, scim, slack, workday};

/// Exit code of an emulator that cannot listen or start.
const EXIT_FAILED: u8 = 1;
/// Exit code of an argument that cannot be used (a key file that cannot be read).
const EXIT_USAGE: u8 = 2;

/// Serves an emulator of an API hris-operator talks to on this machine, until Ctrl-C: for the
/// samples in config/samples and for trying a connection without an account.
#[derive(Parser, Debug)]
#[command(name = "hris-emulators", version)]
pub struct Cli {
    /// The API to emulate.
    #[command(subcommand)]
    pub emulator: Emulator,
}

/// Emulators `hris-emulators` can serve.
#[derive(Subcommand, Debug)]
pub enum Emulator {
    /// A SCIM 2.0 service provider holding users in memory.
    Scim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Bearer token the emulator accepts.
        #[arg(long, default_value = "demo-token")]
        token: String,
        /// Requests a second before it answers 429 (default: unlimited).
        #[arg(long)]
        requests_per_second: Option<f64>,
    },
    /// Microsoft Entra ID through Microsoft Graph: the token endpoint, `/v1.0/users` and
    /// `/v1.0/groups`, holding a demo tenant: synthetic people as users, the groups All Staff
    /// and Engineering (nested in it) with a guest, an account without a mailbox, a device and
    /// a service principal among their members.
    Graph {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8091)]
        port: u16,
        /// Tenant id the token endpoint answers for.
        #[arg(long, default_value = "contoso.onmicrosoft.com")]
        tenant_id: String,
        /// Client id of the app registration it accepts.
        #[arg(long, default_value = "11111111-2222-3333-4444-555555555555")]
        client_id: String,
        /// Client secret it accepts.
        #[arg(long, default_value = "emulator-client-secret")]
        client_secret: String,
        /// How many synthetic people the demo tenant holds as users (0: an empty tenant).
        #[arg(long, default_value_t = 25)]
        employees: usize,
    },
    /// Google Workspace: the OAuth token endpoint (JWT bearer grant) and the Admin SDK
    /// Directory API's users and group members, holding a demo account: synthetic people as
    /// users in the unit /Staff and a unit per department below it, a contractor in
    /// /Contractors, someone in /Staffing, and the groups all-staff@acme.example (with
    /// engineering@acme.example nested in it and a member from outside the account) and
    /// everyone@acme.example (the customer as its member).
    Google {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8092)]
        port: u16,
        /// The service account's JSON key file: the emulator accepts assertions signed by its
        /// key and issued by its `client_email`.
        #[arg(long, value_name = "FILE")]
        service_account_key: std::path::PathBuf,
        /// The administrator the service account may act as.
        #[arg(long, default_value = "admin@acme.example")]
        admin_email: String,
        /// How many synthetic people the demo account holds as users (0: an empty account).
        #[arg(long, default_value_t = 25)]
        employees: usize,
    },
    /// Slack's Web API (`users.list`, `conversations.members`, `users.info`), holding a demo
    /// workspace: synthetic people as members, Slackbot, a bot, an app user, a workflow bot, a
    /// multi-channel and a single-channel guest, and the channels #general, #engineering,
    /// #people-ops (private) and #leadership (private, without the app).
    Slack {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8093)]
        port: u16,
        /// Bot token it accepts, with the scopes users:read, users:read.email, channels:read
        /// and groups:read.
        #[arg(long, default_value = slack::BOT_TOKEN)]
        token: String,
        /// How many synthetic people the workspace holds as members.
        #[arg(long, default_value_t = 25)]
        employees: usize,
        /// `users.list` calls a minute before it answers 429 (Slack's Tier 2: 20). The default
        /// is relaxed, so that a sample runs in seconds.
        #[arg(long, default_value_t = 1200.0)]
        tier2_per_minute: f64,
        /// `conversations.members` and `users.info` calls a minute before 429 (Slack's Tier 4:
        /// 100).
        #[arg(long, default_value_t = 6000.0)]
        tier4_per_minute: f64,
    },
    /// Merge's HRIS API, serving synthetic employees.
    Merge(HrEmulatorArgs),
    /// BambooHR's API (datasets, meta fields), serving synthetic employees.
    #[command(name = "bamboohr")]
    BambooHr(HrEmulatorArgs),
    /// Personio's API v1, serving synthetic employees.
    Personio(HrEmulatorArgs),
    /// HiBob's people search, serving synthetic employees.
    #[command(name = "hibob")]
    HiBob(HrEmulatorArgs),
    /// An AFAS Profit GetConnector, serving synthetic employees.
    Afas(HrEmulatorArgs),
    /// A Workday RaaS report, serving synthetic employees.
    Workday(HrEmulatorArgs),
}

/// Arguments of the HR API emulators.
#[derive(Args, Debug)]
pub struct HrEmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port, printed at start). Default: the one the
    /// emulator's sample points at — Merge 8101, BambooHR 8102, Personio 8103, HiBob 8104,
    /// AFAS 8105, Workday 8106.
    #[arg(long)]
    pub port: Option<u16>,
    /// How many synthetic employees to serve.
    #[arg(long, default_value_t = 25)]
    pub employees: usize,
    /// Requests a second before it throttles (default: unlimited).
    #[arg(long)]
    pub requests_per_second: Option<f64>,
}

/// An emulator served by this process: it stops when this drops.
pub struct Serving {
    first_line: String,
    address: SocketAddr,
    _emulator: Box<dyn std::any::Any + Send>,
}

impl Serving {
    /// What the binary prints first: the URL to put in a manifest and the demo credentials.
    pub fn first_line(&self) -> &str {
        &self.first_line
    }

    /// The address the emulator listens on (with `--port 0`, the port it took).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

/// Why an emulator did not start: what to tell the person, and the process's exit code.
#[derive(Debug)]
pub struct NotStarted {
    /// The message, without the `error: ` the binary puts before it.
    pub message: String,
    /// 2 for an argument that cannot be used, 1 for anything else.
    pub exit_code: u8,
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NotStarted {}

/// Serves `emulator` until Ctrl-C (or SIGTERM), after printing its first line: the binary.
pub async fn serve(emulator: Emulator) -> ExitCode {
    // Listen for the signals before the first line is printed: whoever reads it may stop the
    // emulator at once.
    let stop = StopSignals::install();
    match start(emulator).await {
        Ok(serving) => {
            announce(serving.first_line());
            stop.received().await;
            drop(serving);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code)
        }
    }
}

/// Starts `emulator` in this process's runtime: it listens once this returns, and serves
/// until the answer drops.
pub async fn start(emulator: Emulator) -> Result<Serving, NotStarted> {
    match emulator {
        Emulator::Scim {
            host,
            port,
            token,
            requests_per_second,
        } => start_scim(&host, port, token, requests_per_second).await,
        Emulator::Graph {
            host,
            port,
            tenant_id,
            client_id,
            client_secret,
            employees,
        } => {
            let (users, groups, objects) = if employees == 0 {
                Default::default()
            } else {
                graph::demo_tenant(&hr::demo_employees(employees))
            };
            let config = graph::GraphConfig {
                tenant_id,
                client_id,
                client_secret,
                users,
                groups,
                objects,
                ..Default::default()
            };
            start_graph(&host, port, config).await
        }
        Emulator::Google {
            host,
            port,
            service_account_key,
            admin_email,
            employees,
        } => start_google(&host, port, &service_account_key, admin_email, employees).await,
        Emulator::Slack {
            host,
            port,
            token,
            employees,
            tier2_per_minute,
            tier4_per_minute,
        } => {
            let (members, channels) = slack::demo_workspace(&hr::demo_employees(employees));
            let config = slack::SlackConfig {
                tokens: vec![slack::SlackToken {
                    token,
                    scopes: slack::DEFAULT_SCOPES.map(str::to_owned).to_vec(),
                }],
                members,
                channels,
                tier2_per_minute: Some(tier2_per_minute),
                tier4_per_minute: Some(tier4_per_minute),
                // A second's worth of the Tier 2 pace at once.
                burst: (tier2_per_minute / 60.0).ceil().max(1.0) as u32,
                ..slack::SlackConfig::default()
            };
            start_slack(&host, port, config).await
        }
        Emulator::Merge(args) => start_hr(HrApi::Merge, args).await,
        Emulator::BambooHr(args) => start_hr(HrApi::BambooHr, args).await,
        Emulator::Personio(args) => start_hr(HrApi::Personio, args).await,
        Emulator::HiBob(args) => start_hr(HrApi::HiBob, args).await,
        Emulator::Afas(args) => start_hr(HrApi::Afas, args).await,
        Emulator::Workday(args) => start_hr(HrApi::Workday, args).await,
    }
}

impl Serving {
    fn new(first_line: String, address: SocketAddr, emulator: impl std::any::Any + Send) -> Self {
        Serving {
            first_line,
            address,
            _emulator: Box::new(emulator),
        }
    }
}

async fn start_scim(
    host: &str,
    port: u16,
    token: String,
    requests_per_second: Option<f64>,
) -> Result<Serving, NotStarted> {
    let listener = listen(host, port).await?;
    let address = local_address(&listener)?;
    let first_line = format!(
        "SCIM emulator on {}/scim/v2 (bearer token `{token}`)",
        origin(&listener)
    );
    let config = scim::ScimConfig {
        token,
        requests_per_second,
        burst: 20,
        ..Default::default()
    };
    let emulator = scim::ScimEmulator::start_on(config, listener)
        .await
        .map_err(not_started)?;
    Ok(Serving::new(first_line, address, emulator))
}

async fn start_graph(
    host: &str,
    port: u16,
    config: graph::GraphConfig,
) -> Result<Serving, NotStarted> {
    let listener = listen(host, port).await?;
    let address = local_address(&listener)?;
    let mut note = format!(
        "tenantId `{}`, clientId `{}`, client secret `{}`",
        config.tenant_id, config.client_id, config.client_secret
    );
    if !config.groups.is_empty() {
        let people = config.users.len();
        let groups: Vec<String> = config
            .groups
            .iter()
            .map(|g| format!("{} `{}`", g.display_name, g.id))
            .collect();
        note.push_str(&format!("; {people} users, groups {}", groups.join(", ")));
    }
    let emulator = graph::GraphEmulator::start_on(config, listener)
        .await
        .map_err(not_started)?;
    let first_line = format!(
        "Microsoft Graph emulator on {} (authorityUrl; graphUrl {}); {note}",
        emulator.authority_url(),
        emulator.graph_url()
    );
    Ok(Serving::new(first_line, address, emulator))
}

async fn start_slack(
    host: &str,
    port: u16,
    config: slack::SlackConfig,
) -> Result<Serving, NotStarted> {
    let listener = listen(host, port).await?;
    let address = local_address(&listener)?;
    let token = &config.tokens[0];
    let channels: Vec<String> = config
        .channels
        .iter()
        .map(|c| {
            let kind = match (c.is_private, c.app_is_member) {
                (false, _) => "",
                (true, true) => " (private)",
                (true, false) => " (private, without the app)",
            };
            format!("#{} `{}`{kind}", c.name, c.id)
        })
        .collect();
    let note = format!(
        "bot token `{}` (scopes {}); {} members, channels {}; users.list {} a minute, \
         conversations.members and users.info {} a minute",
        token.token,
        token.scopes.join(","),
        config.members.len(),
        channels.join(", "),
        config.tier2_per_minute.unwrap_or(f64::INFINITY),
        config.tier4_per_minute.unwrap_or(f64::INFINITY),
    );
    let emulator = slack::SlackEmulator::start_on(config, listener)
        .await
        .map_err(not_started)?;
    let first_line = format!("Slack emulator on {} (apiUrl); {note}", emulator.api_url());
    Ok(Serving::new(first_line, address, emulator))
}

async fn start_google(
    host: &str,
    port: u16,
    key_file: &std::path::Path,
    admin_email: String,
    employees: usize,
) -> Result<Serving, NotStarted> {
    let key = ServiceAccountKey::read(key_file).map_err(|error| NotStarted {
        message: format!("--service-account-key {}: {error}", key_file.display()),
        exit_code: EXIT_USAGE,
    })?;
    let listener = listen(host, port).await?;
    let address = local_address(&listener)?;
    let mut config = google::GoogleConfig {
        client_email: key.client_email.clone(),
        admin_email: admin_email.clone(),
        ..google::GoogleConfig::new(key.public_key_pem)
    };
    let mut note = String::new();
    if employees > 0 {
        let demo = google::demo_workspace(&hr::demo_employees(employees), &config.customer_id);
        let groups: Vec<&str> = demo.groups.iter().map(|g| g.email.as_str()).collect();
        note = format!(
            "; {} users, org units {} (a unit per department below {}), groups {}",
            demo.users.len(),
            google::ORG_UNITS.join(", "),
            google::STAFF_UNIT,
            groups.join(", ")
        );
        config.users = demo.users;
        config.groups = demo.groups;
        config.outsiders = demo.outsiders;
    }
    let emulator = google::GoogleEmulator::start_on(config, listener)
        .await
        .map_err(not_started)?;
    let first_line = format!(
        "Google Workspace emulator on {} (tokenUrl {}; apiUrl {}); service account `{}`, \
         adminEmail `{admin_email}`{note}",
        emulator.token_url().trim_end_matches("/token"),
        emulator.token_url(),
        emulator.api_url(),
        key.client_email
    );
    Ok(Serving::new(first_line, address, emulator))
}

/// Prints to stdout and flushes (a test or script reads the first line to learn the URL).
fn announce(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

async fn listen(host: &str, port: u16) -> Result<TcpListener, NotStarted> {
    TcpListener::bind((host, port))
        .await
        .map_err(|error| NotStarted {
            message: format!(
                "cannot listen on {host}:{port}: {error} (choose another with --port)"
            ),
            exit_code: EXIT_FAILED,
        })
}

fn local_address(listener: &TcpListener) -> Result<SocketAddr, NotStarted> {
    listener.local_addr().map_err(not_started)
}

fn origin(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map(|address| format!("http://{address}"))
        .unwrap_or_default()
}

fn not_started(error: std::io::Error) -> NotStarted {
    NotStarted {
        message: format!("the emulator did not start: {error}"),
        exit_code: EXIT_FAILED,
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment `install` returns.
struct StopSignals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                streams: signal(SignalKind::interrupt())
                    .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Resolves on the first of them.
    async fn received(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What the Google emulator needs from a service account's JSON key file.
struct ServiceAccountKey {
    client_email: String,
    public_key_pem: String,
}

impl ServiceAccountKey {
    /// Reads the key file and derives the public key (PKCS#1 PEM) from its private key.
    fn read(path: &std::path::Path) -> Result<Self, String> {
        use base64::Engine;
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("not a JSON key file: {e}"))?;
        let field = |name: &str| {
            json.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("the key file has no `{name}`"))
        };
        let client_email = field("client_email")?;
        let private_key = field("private_key")?;
        let der = google::pem_body(&private_key)
            .ok_or_else(|| "`private_key` is not a PEM key".to_owned())?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("`private_key` is not an RSA PKCS#8 key: {e}"))?;
        let public = base64::engine::general_purpose::STANDARD.encode(pair.public().as_ref());
        let mut pem = String::from("-----BEGIN RSA PUBLIC KEY-----\n");
        for line in public.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END RSA PUBLIC KEY-----\n");
        Ok(ServiceAccountKey {
            client_email,
            public_key_pem: pem,
        })
    }
}

/// The six HR APIs, which share their arguments.
#[derive(Clone, Copy)]
enum HrApi {
    Merge,
    BambooHr,
    Personio,
    HiBob,
    Afas,
    Workday,
}

impl HrApi {
    /// The port the API's sample points at.
    fn sample_port(self) -> u16 {
        match self {
            HrApi::Merge => 8101,
            HrApi::BambooHr => 8102,
            HrApi::Personio => 8103,
            HrApi::HiBob => 8104,
            HrApi::Afas => 8105,
            HrApi::Workday => 8106,
        }
    }
}

async fn start_hr(api: HrApi, args: HrEmulatorArgs) -> Result<Serving, NotStarted> {
    let listener = listen(&args.host, args.port.unwrap_or(api.sample_port())).await?;
    let address = local_address(&listener)?;
    let employees = hr::demo_employees(args.employees);
    let common = hr::CommonConfig {
        requests_per_second: args.requests_per_second,
        burst: args
            .requests_per_second
            .map_or(1, |r| r.ceil().max(1.0) as u32),
        ..hr::CommonConfig::default()
    };
    let (name, handle, note) = match api {
        HrApi::Merge => {
            let config = merge::MergeConfig {
                records: merge::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "API key `{}`, account token `{}`",
                config.api_key, config.account_token
            );
            ("Merge", merge::start_on(config, listener).await, note)
        }
        HrApi::BambooHr => {
            let config = bamboohr::BambooConfig {
                records: bamboohr::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!("API key `{}`", config.api_key);
            ("BambooHR", bamboohr::start_on(config, listener).await, note)
        }
        HrApi::Personio => {
            let config = personio::PersonioConfig {
                records: personio::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "client id `{}`, client secret `{}`",
                config.client_id, config.client_secret
            );
            ("Personio", personio::start_on(config, listener).await, note)
        }
        HrApi::HiBob => {
            let config = hibob::HiBobConfig {
                records: hibob::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "serviceUserId `{}`, token `{}`",
                config.service_user_id, config.token
            );
            ("HiBob", hibob::start_on(config, listener).await, note)
        }
        HrApi::Afas => {
            let config = afas::AfasConfig {
                records: afas::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "getConnector `{}`, token XML `{}`",
                config.connector, config.token
            );
            ("AFAS", afas::start_on(config, listener).await, note)
        }
        HrApi::Workday => {
            let config = workday::WorkdayConfig {
                records: workday::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "tenant `{}`, reportOwner `{}`, reportName `{}`, username `{}`, password `{}`",
                workday::TENANT,
                config.owner,
                config.report,
                config.username,
                config.password
            );
            ("Workday", workday::start_on(config, listener).await, note)
        }
    };
    let handle = handle.map_err(not_started)?;
    let first_line = format!(
        "{name} emulator on {} ({} employees); demo credentials: {note}",
        handle.base_url(),
        args.employees
    );
    Ok(Serving::new(first_line, address, handle))
}
