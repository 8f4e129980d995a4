//! The retention sweep. The daily cron only pokes the sweeper object (`retention/sweeper`,
//! class `RetentionSweeper`); its alarm erases a bounded batch per run through the erasure
//! path (each erasure audited with reason `retention`), keeps its state in its storage and
//! re-arms until the cycle is done; each poke starts a fresh cycle, carrying an unfinished
//! one's cursors forward. Every decision (what is expired, the budget, turns,
//! retries) is `crate::retention`'s. Reads older than retention are already refused by the
//! read API; the sweep frees the storage. Deployments should also set an R2 lifecycle rule as
//! a backstop (README, "Retention").

use std::cell::RefCell;

use futures_util::future::join_all;
use worker::{
    durable_object, event, wasm_bindgen, DurableObject, Env, Request, Response, Result,
    ScheduleContext, ScheduledEvent, State,
};

use super::bindings;
use super::http::{now_ms, storage_err};
use super::read_api::erase_session_counted;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId};
use crate::retention::{self, Budget, Entry, Sweep};
use crate::storage;

type ApiResult<T> = std::result::Result<T, ApiError>;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let body = serde_json::json!({"now": now_for_sweep(&env)}).to_string();
    match call_sweeper(&env, "/start", &body).await {
        Ok(reply) => worker::console_log!("retention sweep poked: {reply}"),
        Err(e) => worker::console_error!("retention sweep not started: {}", e.code),
    }
}

fn now_for_sweep(env: &Env) -> u64 {
    // Test-only clock shift (feature `faults`): lets a test age its sessions.
    #[cfg(feature = "faults")]
    if let Some(days) = env
        .var(bindings::FAULT_CLOCK_OFFSET_DAYS)
        .ok()
        .and_then(|v| v.to_string().parse::<u64>().ok())
    {
        return now_ms().saturating_add(crate::time::days_ms(days));
    }
    let _ = env;
    now_ms()
}

/// Call the one sweeper object.
pub async fn call_sweeper(env: &Env, path: &str, body: &str) -> ApiResult<String> {
    let stub = env
        .durable_object(bindings::SWEEPER)
        .and_then(|ns| ns.get_by_name(retention::SWEEPER_OBJECT))
        .map_err(storage_err("retention sweeper"))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(&format!("https://sweeper.internal{path}"), &init)
        .map_err(storage_err("retention sweeper"))?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .map_err(storage_err("retention sweeper"))?;
    let text = resp
        .text()
        .await
        .map_err(storage_err("retention sweeper"))?;
    if resp.status_code() != 200 {
        return Err(ApiError::unavailable(
            "retention sweeper failed; retry later",
        ));
    }
    Ok(text)
}

#[durable_object]
pub struct RetentionSweeper {
    state: State,
    env: Env,
    /// One run or poke at a time: alarms and fetches can otherwise interleave at awaits.
    busy: RefCell<bool>,
}

impl DurableObject for RetentionSweeper {
    fn new(state: State, env: Env) -> Self {
        RetentionSweeper {
            state,
            env,
            busy: RefCell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = super::http::path(&req);
        let body = req.text().await.unwrap_or_default();
        let result = match path.as_str() {
            "/start" => self.start(&body).await,
            "/status" => self.load().await.and_then(|s| status(&s)),
            _ => Err(ApiError::not_found("no such sweeper route")),
        };
        match result {
            Ok(text) => Response::ok(text),
            Err(e) => Response::error(e.body(), e.status),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if self.busy.replace(true) {
            return Response::ok("busy");
        }
        let result = self.run().await;
        self.busy.replace(false);
        // An error (the state could not be read or written) makes the runtime retry the alarm.
        result.map_err(|e| worker::Error::RustError(e.to_string()))?;
        Response::ok("ok")
    }
}

fn status(s: &Sweep) -> ApiResult<String> {
    Ok(serde_json::json!({
        "active": s.active,
        "discovering": s.discovering,
        "queued_projects": s.queue.len(),
        "pending_retries": s.retries.len(),
        "stats": s.stats,
    })
    .to_string())
}

impl RetentionSweeper {
    async fn load(&self) -> ApiResult<Sweep> {
        let text: Option<String> = self
            .state
            .storage()
            .get("sweep")
            .await
            .map_err(storage_err("sweeper state"))?;
        match text {
            None => Ok(Sweep::default()),
            Some(t) => serde_json::from_str(&t)
                .map_err(|_| ApiError::unavailable("sweeper state unreadable")),
        }
    }

    async fn save(&self, s: &Sweep) -> ApiResult<()> {
        let text =
            serde_json::to_string(s).map_err(|_| ApiError::unavailable("serialize sweeper"))?;
        self.state
            .storage()
            .put("sweep", text)
            .await
            .map_err(storage_err("sweeper state"))?;
        let storage = self.state.storage();
        match s.next_alarm(now_ms()) {
            Some(at) => super::http::set_alarm(&storage, at, "sweeper alarm").await,
            None => storage
                .delete_alarm()
                .await
                .map_err(storage_err("sweeper alarm")),
        }
    }

    async fn start(&self, body: &str) -> ApiResult<String> {
        #[derive(serde::Deserialize)]
        struct Poke {
            now: u64,
        }
        let p: Poke = serde_json::from_str(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed sweeper call"))?;
        let mut s = self.load().await?;
        let carried = s.start(p.now);
        self.save(&s).await?;
        Ok(serde_json::json!({"started": true, "carried": carried}).to_string())
    }

    /// One alarm run: due retries first, then projects in turn, all within one budget.
    async fn run(&self) -> ApiResult<()> {
        let mut s = self.load().await?;
        let now = now_ms();
        let mut budget = Budget::new();
        let mut erased = 0u32;
        let bucket = self
            .env
            .bucket(bindings::RECORDINGS)
            .map_err(storage_err("retention sweep"))?;

        let mut due = s
            .take_due(now, retention::MAX_RETRIES)
            .into_iter()
            .peekable();
        while due.peek().is_some() {
            let w = budget.wave(retention::CONCURRENCY);
            if w == 0 {
                break;
            }
            let wave: Vec<_> = due.by_ref().take(w).collect();
            let items: Vec<_> = wave
                .iter()
                .map(|r| (r.project.as_str(), &r.entry, r.attempts))
                .collect();
            let (results, cost) = erase_wave(&self.env, &items).await;
            budget.charge(cost);
            for (r, res) in wave.into_iter().zip(results) {
                match res {
                    Ok(()) => {
                        erased += 1;
                        s.stats.retried_ok += 1;
                    }
                    Err(_) => s.failed(&r.project, r.entry, r.attempts, now),
                }
            }
        }
        // Retries the budget did not reach are still due next run.
        s.retries.extend(due);

        while s.active && s.may_advance() {
            if s.wants_discovery() {
                // One list plus one config read per project found.
                if !budget.take(1 + retention::DISCOVERY_PAGE) {
                    break;
                }
                let mut list = bucket
                    .list()
                    .prefix("index/".to_string())
                    .delimiter("/")
                    .limit(retention::DISCOVERY_PAGE);
                if let Some(c) = &s.discovery_cursor {
                    list = list.cursor(c.clone());
                }
                let page = list
                    .execute()
                    .await
                    .map_err(storage_err("retention sweep"))?;
                let kv = self
                    .env
                    .kv(bindings::PROJECTS)
                    .map_err(storage_err("retention sweep"))?;
                for prefix in page.delimited_prefixes() {
                    let project = storage::last_segment(&prefix).to_string();
                    let config = kv
                        .get(&format!("project:{project}"))
                        .text()
                        .await
                        .map_err(|e| storage_err("retention sweep")(e.into()))?;
                    s.add_project(&project, config.as_deref());
                    if let Some(c) = s.queue.back().filter(|c| c.project == project) {
                        if c.source != retention::RetentionSource::Config {
                            worker::console_log!(
                                "retention sweep: {project} has no readable config ({:?}); default retention applies",
                                c.source
                            );
                        }
                    }
                }
                s.discovered_page(page.cursor(), page.truncated());
                continue;
            }
            let Some(cursor) = s.queue.pop_front() else {
                s.settle();
                break;
            };
            let n = budget.turn_sessions();
            if n == 0 || !budget.take(1) {
                s.queue.push_front(cursor);
                break;
            }
            let mut list = bucket
                .list()
                .prefix(format!("index/{}/days/", cursor.project))
                .limit(n);
            if let Some(a) = &cursor.start_after {
                list = list.start_after(a.clone());
            }
            let listed = list
                .execute()
                .await
                .map_err(storage_err("retention sweep"))?;
            let keys: Vec<String> = listed.objects().iter().map(|o| o.key()).collect();
            let mut page = retention::read_page(
                &cursor.project,
                &keys,
                listed.truncated(),
                &cursor.keep_from,
            );
            let mut handled = 0;
            while handled < page.expired.len() {
                let w = budget.wave(page.expired.len() - handled);
                if w == 0 {
                    break;
                }
                let wave: Vec<_> = page.expired[handled..handled + w]
                    .iter()
                    .filter(|e| !s.is_pending(&cursor.project, e))
                    .map(|e| (cursor.project.as_str(), e, 0))
                    .collect();
                let (results, cost) = erase_wave(&self.env, &wave).await;
                budget.charge(cost);
                let mut failed = Vec::new();
                for ((_, e, _), res) in wave.iter().zip(results) {
                    match res {
                        Ok(()) => erased += 1,
                        Err(_) => failed.push((*e).clone()),
                    }
                }
                for e in failed {
                    s.failed(&cursor.project, e, 0, now);
                }
                handled += w;
            }
            page.cut(handled, &cursor.project);
            s.turn_done(cursor, &page);
            s.settle();
        }
        s.settle();
        s.stats.runs += 1;
        s.stats.erased += u64::from(erased);
        s.stats.last_run_erased = erased;
        s.stats.last_run_subrequests = budget.spent;
        s.stats.max_run_erased = s.stats.max_run_erased.max(erased);
        s.stats.max_run_subrequests = s.stats.max_run_subrequests.max(budget.spent);
        worker::console_log!(
            "retention run: {erased} erased, {} subrequests, {} retries pending",
            budget.spent,
            s.retries.len()
        );
        if !s.active && s.retries.is_empty() {
            worker::console_log!(
                "retention sweep: cycle done, {} sessions erased in {} runs",
                s.stats.erased,
                s.stats.runs
            );
        }
        self.save(&s).await
    }
}

/// Erase a wave of expired sessions at once through the erasure path (each audited
/// `retention`), then the day entries of those that went, in one call. Returns each outcome
/// and the subrequests made (≤ `ERASE_WORST_COST` per session).
async fn erase_wave(env: &Env, items: &[(&str, &Entry, u32)]) -> (Vec<ApiResult<()>>, u32) {
    let outcomes = join_all(
        items
            .iter()
            .map(|(project, e, attempts)| erase(env, project, e, *attempts)),
    )
    .await;
    let mut cost = 0;
    let mut results = Vec::with_capacity(items.len());
    let mut gone = Vec::new();
    for ((project, e, _), (res, c)) in items.iter().zip(outcomes) {
        cost += c;
        if res.is_ok() {
            gone.push(e.key(project));
        }
        results.push(res);
    }
    if !gone.is_empty() {
        cost += 1;
        let deleted = match env.bucket(bindings::RECORDINGS) {
            Ok(b) => b
                .delete_multiple(gone)
                .await
                .map_err(storage_err("retention sweep")),
            Err(err) => Err(storage_err("retention sweep")(err)),
        };
        // The sessions are gone but their day entries are not: retry them (erasing again is
        // harmless) rather than leave entries a later cycle would find anyway.
        if let Err(err) = deleted {
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(err.clone());
            }
        }
    }
    (results, cost)
}

/// Erase one expired session through the erasure path; its outcome and subrequests.
async fn erase(env: &Env, project: &str, e: &Entry, attempts: u32) -> (ApiResult<()>, u32) {
    if let Err(err) = injected(env, &e.session, attempts) {
        return (Err(err), 0);
    }
    // The sweep lists keys the session objects wrote from checked ids; an entry that is not
    // one names no session, so there is nothing to erase but the entry itself.
    let (Some(project), Some(session)) = (ProjectKey::parse(project), SessionId::parse(&e.session))
    else {
        return (Ok(()), 0);
    };
    match erase_session_counted(&project, &session, "retention", env).await {
        Ok((_, cost)) => (Ok(()), cost),
        // A failure part way: charge the worst case, the budget cannot know better.
        Err(err) => {
            worker::console_error!("retention erase failed: {}", err.code);
            (Err(err), retention::ERASE_WORST_COST)
        }
    }
}

/// Test-only fault point (feature `faults`): the first erase of the session named by
/// `FAULT_RETENTION_FAIL_ONCE` fails, as a storage failure would.
#[cfg(feature = "faults")]
fn injected(env: &Env, session: &str, attempts: u32) -> ApiResult<()> {
    let target = env
        .var(bindings::FAULT_RETENTION_FAIL_ONCE)
        .ok()
        .map(|v| v.to_string());
    if attempts == 0 && target.as_deref() == Some(session) {
        return Err(ApiError::unavailable("injected fault: retention erase"));
    }
    Ok(())
}

#[cfg(not(feature = "faults"))]
fn injected(_env: &Env, _session: &str, _attempts: u32) -> ApiResult<()> {
    Ok(())
}
