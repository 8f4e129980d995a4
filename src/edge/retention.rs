//! The daily retention sweep (cron trigger): deletes sessions older than their project's
//! `retention_days`, each erasure audited with reason `retention`. Reads older than that are
//! already refused by the read API; the sweep frees the storage. Deployments should also set
//! an R2 lifecycle rule as a backstop (README, "Retention").

use worker::{event, Env, ScheduleContext, ScheduledEvent};

use super::http::{now_ms, storage_err};
use super::read_api::erase_session;
use crate::error::ApiError;
use crate::project::Project;
use crate::storage;

/// Most sessions one run erases; the rest wait for the next run.
const MAX_PER_RUN: usize = 2_000;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = sweep(&env).await {
        worker::console_error!("retention sweep stopped: {}", e.code);
    }
}

fn now_for_sweep(env: &Env) -> u64 {
    // Test-only clock shift (feature `faults`): lets a test age its sessions.
    #[cfg(feature = "faults")]
    if let Some(days) = env
        .var("FAULT_CLOCK_OFFSET_DAYS")
        .ok()
        .and_then(|v| v.to_string().parse::<u64>().ok())
    {
        return now_ms() + days * 86_400_000;
    }
    let _ = env;
    now_ms()
}

async fn sweep(env: &Env) -> Result<(), ApiError> {
    let kv = env.kv("PROJECTS").map_err(storage_err("retention sweep"))?;
    let bucket = env
        .bucket("RECORDINGS")
        .map_err(storage_err("retention sweep"))?;
    let now = now_for_sweep(env);
    let mut erased = 0usize;
    let mut cursor: Option<String> = None;
    loop {
        let mut list = kv.list().prefix("project:".to_string());
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list
            .execute()
            .await
            .map_err(|e| storage_err("retention sweep")(e.into()))?;
        for k in &page.keys {
            let key = k.name.trim_start_matches("project:");
            let Some(json) = kv
                .get(&k.name)
                .text()
                .await
                .map_err(|e| storage_err("retention sweep")(e.into()))?
            else {
                continue;
            };
            let Ok(project) = Project::from_json(&json) else {
                continue;
            };
            // Day folders of this project's index.
            let days_page = bucket
                .list()
                .prefix(format!("index/{key}/days/"))
                .delimiter("/")
                .execute()
                .await
                .map_err(storage_err("retention sweep"))?;
            let days: Vec<String> = days_page
                .delimited_prefixes()
                .iter()
                .map(|p| storage::last_segment(p).to_string())
                .collect();
            for day in storage::expired_days(&days, now, project.retention_days) {
                let sessions = bucket
                    .list()
                    .prefix(storage::day_index_prefix(key, day))
                    .execute()
                    .await
                    .map_err(storage_err("retention sweep"))?;
                for o in sessions.objects() {
                    if erased >= MAX_PER_RUN {
                        return Ok(());
                    }
                    let okey = o.key();
                    let session = storage::last_segment(&okey);
                    erase_session(key, session, "retention", env).await?;
                    // The day index entry goes even when the session had nothing left.
                    bucket
                        .delete(okey.clone())
                        .await
                        .map_err(storage_err("retention sweep"))?;
                    erased += 1;
                }
            }
        }
        if page.list_complete || page.cursor.is_none() {
            break;
        }
        cursor = page.cursor;
    }
    worker::console_log!("retention sweep: {erased} sessions erased");
    Ok(())
}
