//! Which finished runs to forget: the Jobs (and with them their report Secrets) beyond
//! `historyLimits`, newest kept. A run counts as failed when its recorded result says so, even
//! if its Job completed (the result travels in the termination message).

use std::collections::HashMap;

use k8s_openapi::{api::batch::v1::Job, jiff::Timestamp};
use kube::ResourceExt;

use crate::crd::{HistoryLimits, RunResult};

/// When and how a Job finished, from its conditions; `None` while it runs.
pub fn finished_state(job: &Job) -> Option<(Timestamp, Option<String>)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find_map(|c| match (c.type_.as_str(), c.status.as_str()) {
            ("Complete", "True") => Some((c.last_transition_time.as_ref()?.0, None)),
            ("Failed", "True") => Some((
                c.last_transition_time.as_ref()?.0,
                Some(c.reason.clone().unwrap_or_else(|| "JobFailed".into())),
            )),
            _ => None,
        })
}

/// The finished Jobs to delete, oldest first. `results` maps Job names to recorded results.
pub fn jobs_to_prune<'a>(
    jobs: &'a [Job],
    results: &HashMap<String, RunResult>,
    limits: &HistoryLimits,
) -> Vec<&'a Job> {
    let mut finished: Vec<(Timestamp, bool, &Job)> = jobs
        .iter()
        .filter_map(|job| {
            let (at, failure) = finished_state(job)?;
            let failed =
                failure.is_some() || results.get(&job.name_any()) == Some(&RunResult::Failed);
            Some((at, failed, job))
        })
        .collect();
    finished.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    let (mut kept_ok, mut kept_failed) = (0u32, 0u32);
    let mut prune: Vec<(Timestamp, &Job)> = Vec::new();
    for (at, failed, job) in finished {
        let (kept, limit) = if failed {
            (&mut kept_failed, limits.failed)
        } else {
            (&mut kept_ok, limits.successful)
        };
        if *kept < limit {
            *kept += 1;
        } else {
            prune.push((at, job));
        }
    }
    prune.sort_by_key(|(at, _)| *at);
    prune.into_iter().map(|(_, job)| job).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, condition: &str, minute: u32) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"conditions": [{"type": condition, "status": "True",
                "lastTransitionTime": format!("2026-11-22T10:{minute:02}:00Z")}]}
        }))
        .unwrap()
    }

    #[test]
    fn keeps_the_newest_of_each_kind_and_never_a_running_job() {
        let running: Job =
            serde_json::from_value(json!({"metadata": {"name": "running"}})).unwrap();
        let jobs = vec![
            job("ok-1", "Complete", 1),
            job("ok-2", "Complete", 2),
            job("ok-3", "Complete", 3),
            job("bad-1", "Failed", 4),
            job("bad-2", "Failed", 5),
            job("writes-failed", "Complete", 6),
            running,
        ];
        let results = HashMap::from([("writes-failed".to_owned(), RunResult::Failed)]);
        let limits = HistoryLimits {
            successful: 2,
            failed: 1,
        };
        let pruned: Vec<String> = jobs_to_prune(&jobs, &results, &limits)
            .iter()
            .map(|j| j.name_any())
            .collect();
        // Kept: ok-3, ok-2 (successful), writes-failed (the newest failure).
        assert_eq!(pruned, ["ok-1", "bad-1", "bad-2"]);
    }

    #[test]
    fn limits_of_zero_keep_nothing_finished() {
        let jobs = vec![job("a", "Complete", 1), job("b", "Failed", 2)];
        let limits = HistoryLimits {
            successful: 0,
            failed: 0,
        };
        assert_eq!(jobs_to_prune(&jobs, &HashMap::new(), &limits).len(), 2);
    }
}
