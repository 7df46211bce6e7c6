//! `hris-operator emulate …`: serve one emulator on this machine until Ctrl-C, for the samples
//! in `config/samples` and for trying a connection without an account. Each emulator has its
//! own default port, the one its sample points at; `--port 0` takes any free port. The first
//! line printed names the URL to put in the manifest (and the demo credentials, which the
//! samples' `secrets/` folder holds).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use tokio::net::TcpListener;

use super::{afas, bamboohr, google, graph, hibob, hr, merge, personio, scim, workday};

/// Exit code of an emulator that cannot listen or start.
const EXIT_FAILED: u8 = 1;

/// Emulators `emulate` can serve.
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
    /// Microsoft Entra ID through Microsoft Graph: the token endpoint and `/v1.0/users`.
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
    },
    /// Google Workspace: the OAuth token endpoint (JWT bearer grant) and the Admin SDK
    /// Directory API's users.
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

/// Prints to stdout and flushes (a test or script reads the first line to learn the URL).
fn announce(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

async fn listen(host: &str, port: u16) -> Result<TcpListener, ExitCode> {
    TcpListener::bind((host, port)).await.map_err(|error| {
        eprintln!("error: cannot listen on {host}:{port}: {error} (choose another with --port)");
        ExitCode::from(EXIT_FAILED)
    })
}

fn origin(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map(|address| format!("http://{address}"))
        .unwrap_or_default()
}

/// Serves `emulator` until Ctrl-C (or SIGTERM).
pub async fn serve(emulator: Emulator) -> ExitCode {
    match run(emulator).await {
        Ok(code) | Err(code) => code,
    }
}

async fn run(emulator: Emulator) -> Result<ExitCode, ExitCode> {
    match emulator {
        Emulator::Scim {
            host,
            port,
            token,
            requests_per_second,
        } => {
            let listener = listen(&host, port).await?;
            announce(&format!(
                "SCIM emulator on {}/scim/v2 (bearer token `{token}`)",
                origin(&listener)
            ));
            let config = scim::ScimConfig {
                token,
                requests_per_second,
                burst: 20,
                ..Default::default()
            };
            tokio::select! {
                served = scim::serve(config, listener) => served.map(|()| ExitCode::SUCCESS).map_err(|error| {
                    eprintln!("error: the emulator stopped: {error}");
                    ExitCode::from(EXIT_FAILED)
                }),
                () = stopped() => Ok(ExitCode::SUCCESS),
            }
        }
        Emulator::Graph {
            host,
            port,
            tenant_id,
            client_id,
            client_secret,
        } => {
            let listener = listen(&host, port).await?;
            let note = format!(
                "tenantId `{tenant_id}`, clientId `{client_id}`, client secret `{client_secret}`"
            );
            let config = graph::GraphConfig {
                tenant_id,
                client_id,
                client_secret,
                ..Default::default()
            };
            let emulator = graph::GraphEmulator::start_on(config, listener)
                .await
                .map_err(not_started)?;
            announce(&format!(
                "Microsoft Graph emulator on {} (authorityUrl; graphUrl {}); {note}",
                emulator.authority_url(),
                emulator.graph_url()
            ));
            stopped().await;
            Ok(ExitCode::SUCCESS)
        }
        Emulator::Google {
            host,
            port,
            service_account_key,
            admin_email,
        } => {
            let key = ServiceAccountKey::read(&service_account_key).map_err(|error| {
                eprintln!(
                    "error: --service-account-key {}: {error}",
                    service_account_key.display()
                );
                ExitCode::from(2)
            })?;
            let listener = listen(&host, port).await?;
            let config = google::GoogleConfig {
                client_email: key.client_email.clone(),
                admin_email: admin_email.clone(),
                ..google::GoogleConfig::new(key.public_key_pem)
            };
            let emulator = google::GoogleEmulator::start_on(config, listener)
                .await
                .map_err(not_started)?;
            announce(&format!(
                "Google Workspace emulator on {} (tokenUrl {}; apiUrl {}); service account `{}`, \
                 adminEmail `{admin_email}`",
                emulator.token_url().trim_end_matches("/token"),
                emulator.token_url(),
                emulator.api_url(),
                key.client_email
            ));
            stopped().await;
            Ok(ExitCode::SUCCESS)
        }
        hr => serve_hr(&hr).await,
    }
}

fn not_started(error: std::io::Error) -> ExitCode {
    eprintln!("error: the emulator did not start: {error}");
    ExitCode::from(EXIT_FAILED)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
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
        let body: String = private_key
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----") && !line.is_empty())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| "`private_key` is not a PEM key".to_owned())?;
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

async fn serve_hr(emulator: &Emulator) -> Result<ExitCode, ExitCode> {
    let (args, sample_port) = match emulator {
        Emulator::Merge(a) => (a, 8101),
        Emulator::BambooHr(a) => (a, 8102),
        Emulator::Personio(a) => (a, 8103),
        Emulator::HiBob(a) => (a, 8104),
        Emulator::Afas(a) => (a, 8105),
        Emulator::Workday(a) => (a, 8106),
        Emulator::Scim { .. } | Emulator::Graph { .. } | Emulator::Google { .. } => {
            unreachable!("served by run")
        }
    };
    let listener = listen(&args.host, args.port.unwrap_or(sample_port)).await?;
    let employees = hr::demo_employees(args.employees);
    let common = hr::CommonConfig {
        requests_per_second: args.requests_per_second,
        burst: args
            .requests_per_second
            .map_or(1, |r| r.ceil().max(1.0) as u32),
        ..hr::CommonConfig::default()
    };
    let started = match emulator {
        Emulator::Merge(_) => {
            let config = merge::MergeConfig {
                records: merge::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "API key `{}`, account token `{}`",
                config.api_key, config.account_token
            );
            merge::start_on(config, listener)
                .await
                .map(|e| ("Merge", e, note))
        }
        Emulator::BambooHr(_) => {
            let config = bamboohr::BambooConfig {
                records: bamboohr::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!("API key `{}`", config.api_key);
            bamboohr::start_on(config, listener)
                .await
                .map(|e| ("BambooHR", e, note))
        }
        Emulator::Personio(_) => {
            let config = personio::PersonioConfig {
                records: personio::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "client id `{}`, client secret `{}`",
                config.client_id, config.client_secret
            );
            personio::start_on(config, listener)
                .await
                .map(|e| ("Personio", e, note))
        }
        Emulator::HiBob(_) => {
            let config = hibob::HiBobConfig {
                records: hibob::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "serviceUserId `{}`, token `{}`",
                config.service_user_id, config.token
            );
            hibob::start_on(config, listener)
                .await
                .map(|e| ("HiBob", e, note))
        }
        Emulator::Afas(_) => {
            let config = afas::AfasConfig {
                records: afas::records(&employees),
                common,
                ..Default::default()
            };
            let note = format!(
                "getConnector `{}`, token XML `{}`",
                config.connector, config.token
            );
            afas::start_on(config, listener)
                .await
                .map(|e| ("AFAS", e, note))
        }
        Emulator::Workday(_) => {
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
            workday::start_on(config, listener)
                .await
                .map(|e| ("Workday", e, note))
        }
        Emulator::Scim { .. } | Emulator::Graph { .. } | Emulator::Google { .. } => {
            unreachable!("served by run")
        }
    };
    let (name, handle, note) = started.map_err(not_started)?;
    announce(&format!(
        "{name} emulator on {} ({} employees); demo credentials: {note}",
        handle.base_url(),
        args.employees
    ));
    stopped().await;
    drop(handle);
    Ok(ExitCode::SUCCESS)
}
