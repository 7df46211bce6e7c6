//! Writes sent one at a time: the SCIM target (no Bulk, `maxConcurrency: 1`, a rate far above
//! what the server can take) against a plain sequential client, both creating users in the real
//! scim2-server, in the same run and on the same server.
//!
//! `cargo bench --bench scim_one_at_a_time` — rounds of 1,000 creates, the two clients taking
//! turns in the order target, plain, plain, target (so a server that slows down or speeds up
//! over the run weighs on both alike), `SCIM_ONE_AT_A_TIME_BLOCKS` such blocks (default 5).
//! Both send the same bodies (the target's own, for users of the same shape) with the same
//! headers, each request on a new connection (the server speaks HTTP/1.0), and read each
//! answer whole. Prints each round, each block's ratio target ÷ plain and the ratio of the
//! totals; exits non-zero when the median block's ratio is past 1.10× (the median, because on
//! a shared machine one round now and then takes half as long again, whichever client runs it).
//! Needs scim2-server: run tests/python-tools.sh first (or set `HRIS_TEST_VENV`).

#[path = "support/scim2_server.rs"]
mod scim2_server;

use std::time::{Duration, Instant};

use hris_operator::{
    connectors::{
        http::{Auth, HttpClient, RetryPolicy},
        target::scim::ScimTarget,
    },
    crd::ScimQuirks,
    sync::{
        model::NewUser,
        ports::target::{Target, TargetOp},
    },
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use scim2_server::Scim2Server;

const USERS: usize = 1_000;
const TOKEN: &str = "bench-token";
/// Far above what the server answers: the limiter never has to hold a request back.
const REQUESTS_PER_SECOND: f64 = 10_000.0;
const BAR: f64 = 1.10;

/// Users of one round; `tag` keeps every round's names apart (and of the same length).
fn users(tag: &str) -> Vec<NewUser> {
    (0..USERS)
        .map(|n| NewUser {
            external_id: format!("acme:{tag}-{n:05}").into(),
            email: format!("{tag}-{n:05}@acme.example").into(),
            first_name: format!("First{n:05}").into(),
            last_name: "Lind".into(),
            active: true,
            ..NewUser::default()
        })
        .collect()
}

async fn target_round(target: &ScimTarget, tag: &str) -> Duration {
    let ops: Vec<TargetOp> = users(tag).into_iter().map(TargetOp::Create).collect();
    let start = Instant::now();
    let results = target.apply(ops).await;
    let elapsed = start.elapsed();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "the target failed creates: {failed:?}");
    elapsed
}

/// What a plain sequential client does: POST, check the status, read the new user's id.
async fn plain_round(client: &reqwest::Client, url: &str, bodies: Vec<String>) -> Duration {
    let start = Instant::now();
    for body in bodies {
        let response = client
            .post(url)
            .bearer_auth(TOKEN)
            .header(ACCEPT, "application/scim+json, application/json")
            .header(CONTENT_TYPE, "application/scim+json")
            .body(body)
            .send()
            .await
            .expect("POST /Users");
        assert_eq!(response.status(), 201);
        let created: serde_json::Value = response.json().await.expect("a JSON answer");
        assert!(created["id"].is_string(), "{created}");
    }
    start.elapsed()
}

fn seconds(durations: &[Duration]) -> f64 {
    durations.iter().map(Duration::as_secs_f64).sum()
}

#[tokio::main]
async fn main() {
    let blocks: usize = std::env::var("SCIM_ONE_AT_A_TIME_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let server = Scim2Server::start(TOKEN);
    let base = server.base_url();
    let url = format!("{base}/Users");

    let http = HttpClient::new(
        Auth::Bearer(TOKEN.into()),
        Some(REQUESTS_PER_SECOND),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    let target = ScimTarget::new(http, &base, ScimQuirks::default(), 1);
    target.check().await.expect("the server answers");
    assert_eq!(
        target.capabilities().max_batch,
        1,
        "the server must not offer Bulk"
    );
    hris_operator::connectors::http::install_crypto_provider();
    let plain = reqwest::Client::new();

    let mut target_times = Vec::new();
    let mut plain_times = Vec::new();
    let mut block_ratios = Vec::new();
    let mut round = 0;
    for block in 1..=blocks {
        let (mut target_block, mut plain_block) = (0.0, 0.0);
        for plain_turn in [false, true, true, false] {
            round += 1;
            let tag = format!("b{block}r{round:02}");
            let elapsed = if plain_turn {
                let bodies = users(&tag)
                    .iter()
                    .map(|user| target.new_resource(user).to_string())
                    .collect();
                let elapsed = plain_round(&plain, &url, bodies).await;
                plain_times.push(elapsed);
                plain_block += elapsed.as_secs_f64();
                elapsed
            } else {
                let elapsed = target_round(&target, &tag).await;
                target_times.push(elapsed);
                target_block += elapsed.as_secs_f64();
                elapsed
            };
            println!(
                "round {round:2}: {:<6} {USERS} creates in {:.3} s ({:.0} a second)",
                if plain_turn { "plain" } else { "target" },
                elapsed.as_secs_f64(),
                USERS as f64 / elapsed.as_secs_f64()
            );
        }
        block_ratios.push(target_block / plain_block);
        println!(
            "block {block}: target ÷ plain = {:.3}",
            target_block / plain_block
        );
    }
    let (target_total, plain_total) = (seconds(&target_times), seconds(&plain_times));
    let per_request = |total: f64, runs: usize| total / (runs * USERS) as f64 * 1e3;
    block_ratios.sort_by(f64::total_cmp);
    let median = block_ratios[block_ratios.len() / 2];
    println!(
        "target: {} creates in {target_total:.2} s ({:.3} ms each); plain client: {} in \
         {plain_total:.2} s ({:.3} ms each); target ÷ plain: {:.3} over all rounds, {median:.3} \
         the median block (bar {BAR})",
        target_times.len() * USERS,
        per_request(target_total, target_times.len()),
        plain_times.len() * USERS,
        per_request(plain_total, plain_times.len()),
        target_total / plain_total,
    );
    drop(server);
    if median > BAR {
        eprintln!("the target is {median:.3}× the plain client, over the {BAR}× bar");
        std::process::exit(1);
    }
}
