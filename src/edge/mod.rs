//! The imperative shell (wasm32 only): moves bytes between HTTP, KV, the session Durable Object
//! and R2. Every decision is delegated to the pure modules of the crate.

mod admin_api;
mod admin_do;
mod analytics;
mod audit_api;
mod audit_log_do;
mod audit_read;
mod bindings;
mod config;
mod erase_job_do;
mod http;
mod ingest;
mod objects;
mod optout;
mod projects;
mod r2;
mod read_api;
mod retention;
mod sdk;
#[cfg(feature = "faults")]
mod seed_audit;
#[cfg(feature = "faults")]
mod seed_sessions;
mod session_do;
mod subrequests;

#[allow(unused_imports)] // the macro exports it to the runtime
pub use retention::RetentionSweeper;
#[allow(unused_imports)] // the macro exports it to the runtime
pub use session_do::SessionObject;

use worker::{event, Context, Env, Request, Response, Result};

use crate::routes::{route, Route};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let method = req.method().to_string();
    let path = http::path(&req);
    subrequests::take();
    // Test-only seeding routes, all under `/__test/` (feature `faults`): never in production
    // builds.
    #[cfg(feature = "faults")]
    if path.starts_with("/__test/") {
        let result = match (method.as_str(), path.as_str()) {
            ("POST", "/__test/seed-audit") => Some(seed_audit::seed(req, &env).await),
            _ => seed_sessions::handle(&path, req, &env).await,
        }
        .unwrap_or_else(|| Err(crate::error::ApiError::not_found("no such test route")));
        return match result {
            Ok(r) => Ok(r),
            Err(e) => Response::error(e.body(), e.status),
        };
    }
    let result = match route(&method, &path) {
        Ok(r) => dispatch(r, req, &env).await,
        Err(e) => Err(e),
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => match http::error_response(&e, None) {
            Ok(r) => r,
            Err(_) => Response::error(e.body(), e.status)?,
        },
    };
    #[allow(unused_mut)]
    let mut resp = vary_origin(resp);
    #[cfg(feature = "faults")]
    let _ = resp
        .headers_mut()
        .set("X-Veilgate-Subrequests", &subrequests::take().to_string());
    Ok(resp)
}

async fn dispatch(
    r: Route,
    req: Request,
    env: &Env,
) -> std::result::Result<Response, crate::error::ApiError> {
    match r {
        Route::Health => http::json(200, &serde_json::json!({"ok": true})),
        Route::IngestPreflight { key } => ingest::preflight(&key, &req, env).await,
        Route::Ingest { key } => ingest::ingest(&key, req, env).await,
        Route::ListSessions { key } => read_api::list_sessions(&key, &req, env).await,
        Route::AnalyticsSummary { key } => analytics::summary(&key, &req, env).await,
        Route::Manifest { key, session } => read_api::manifest(&key, &session, &req, env).await,
        Route::Events { key, session } => read_api::events(&key, &session, &req, env).await,
        Route::Chunk { key, session, seq } => read_api::chunk(&key, &session, seq, &req, env).await,
        Route::DeleteSession { key, session } => {
            read_api::delete_session(&key, &session, &req, env).await
        }
        Route::DeleteVisitor { key, visitor } => {
            read_api::delete_visitor(&key, &visitor, &req, env).await
        }
        Route::VisitorErasure { key, visitor } => {
            read_api::visitor_erasure(&key, &visitor, &req, env).await
        }
        Route::OptOut => optout::opt_out(&req),
        Route::OptInPage => optout::opt_in_form(),
        Route::OptIn => optout::opt_in(&req),
        Route::Audit { key } => audit_api::list(&key, &req, env).await,
        Route::AuditVerify { key } => audit_api::verify(&key, &req, env).await,
        Route::AuditVerifyJob { key, job } => audit_api::verify_job(&key, &job, &req, env).await,
        Route::AuditReport { key } => audit_api::report(&key, &req, env).await,
        Route::SdkConfig { key } => sdk::config(&key, &req, env).await,
        Route::SdkAsset { name } => sdk::asset(name, &req, env).await,
        Route::AdminList => admin_api::list(&req, env).await,
        Route::AdminProject { key } => admin_api::project(&key, req, env).await,
        Route::AdminRotate { key, kind } => admin_api::rotate(&key, kind, &req, env).await,
    }
}

/// CORS answers differ by origin: keep caches from mixing them up.
fn vary_origin(mut resp: Response) -> Response {
    let _ = resp.headers_mut().append("Vary", "Origin");
    resp
}
