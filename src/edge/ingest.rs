//! `POST /v1/ingest/{key}`: every check that needs no session state, then the session object.

use std::borrow::Cow;

use worker::{Env, Request, Response};

use super::http::{self, header, query_param};
use super::objects;
use super::projects;
use crate::consent::{decide, Signals};
use crate::envelope::{self, Encoding};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{IngestCall, IngestReply, ObjectCall};
use crate::ratelimit::{ClientId, Limiter};
use crate::session::device_from_user_agent;

type Result<T> = std::result::Result<T, ApiError>;

thread_local! {
    static LIMITER: std::cell::RefCell<Limiter> = std::cell::RefCell::new(Limiter::default());
    /// The salt client addresses are hashed with: random per isolate, never stored, so a
    /// `ClientId` cannot be tied to an address outside this isolate's memory.
    static CLIENT_SALT: [u8; 16] = {
        let mut salt = [0u8; 16];
        // Without randomness the hash is still one-way enough for a key that never leaves
        // memory; refusing every beacon would be worse.
        let _ = getrandom::fill(&mut salt);
        salt
    };
}

fn client_id(req: &Request) -> ClientId {
    let address = header(req, "CF-Connecting-IP");
    CLIENT_SALT.with(|salt| ClientId::from_address(salt, address.as_deref()))
}

pub async fn preflight(key: &str, req: &Request, env: &Env) -> Result<Response> {
    let project = projects::load(key, env).await?;
    match header(req, "Origin") {
        Some(o) if project.origin_allowed(&o) => match project.cors_grant(&o) {
            Some(g) => http::preflight(&g),
            None => Err(ApiError::new(
                ErrorCode::OriginNotAllowed,
                "this origin may not send recordings to this project",
            )),
        },
        _ => Err(ApiError::new(
            ErrorCode::OriginNotAllowed,
            "this origin may not send recordings to this project",
        )),
    }
}

pub async fn ingest(key: &str, mut req: Request, env: &Env) -> Result<Response> {
    let origin = header(&req, "Origin")
        .or_else(|| header(&req, "Referer").and_then(|r| crate::routes::origin_of(&r)));
    let project = match projects::load(key, env).await {
        Ok(p) => p,
        // An unknown key's 401 is the same for every caller and reads no cookie, so the page
        // may read it: its SDK must stop, not retry what would look like a network error.
        Err(e) if e.status == 401 => {
            let grant = crate::sdk::config_reply_cors(origin.as_deref()).grant();
            return http::error_response(&e, Some(&grant));
        }
        Err(e) => return Err(e),
    };
    // Errors from here on carry CORS headers where the origin is admitted, so the page's SDK
    // can read them: a disabled project's 403 must stop it, not look like a network error
    // it retries for ever.
    let cors_origin = origin
        .as_deref()
        .filter(|o| project.origin_allowed(o))
        .and_then(|o| project.cors_grant(o));
    if let Err(e) = project
        .check_enabled()
        .and_then(|()| project.check_origin(origin.as_deref()))
    {
        return http::error_response(&e, cors_origin.as_ref());
    }
    let client = client_id(&req);
    let admitted = LIMITER.with(|l| {
        l.borrow_mut()
            .admit(key, client, &project.rate_limit, http::now_ms())
    });
    let result = match admitted {
        Ok(()) => accept(key, &project, &mut req, env).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((reply, inflated)) => {
            // Only what was stored spends the daily quota.
            if reply.stored {
                LIMITER.with(|l| l.borrow_mut().stored(key, inflated as u64, http::now_ms()));
            }
            let mut resp = http::json(202, &reply)?;
            if let Some(g) = &cors_origin {
                http::cors(resp.headers_mut(), g);
            }
            Ok(resp)
        }
        Err(e) => http::error_response(&e, cors_origin.as_ref()),
    }
}

async fn accept(
    key: &str,
    project: &crate::project::Project,
    req: &mut Request,
    env: &Env,
) -> Result<(IngestReply, usize)> {
    let limits = project.limits;
    if let Some(len) = header(req, "Content-Length").and_then(|l| l.parse::<usize>().ok()) {
        envelope::check_wire_len(len, &limits)?;
    }
    envelope::check_content_type(header(req, "Content-Type").as_deref())?;
    let encoding = Encoding::from_request(
        header(req, "Content-Encoding").as_deref(),
        query_param(req, "enc").as_deref(),
    )?;
    let body = http::read_body_capped(req, &limits).await?;
    let json = envelope::decode_body(&body, encoding, &limits)?;
    // The events are located here and checked by the session object as it parses them
    // (`span` is None then). Every refusal from here on is `parse_body`'s where it has one,
    // so a body is refused for the same reason whichever side finds the fault.
    let (env_, span) = envelope::parse_head(&json, &limits)?;
    let as_parse_body = |e: ApiError| match span {
        None => envelope::parse_body(&json, &limits).err().unwrap_or(e),
        Some(_) => e,
    };
    project
        .check_platform(env_.platform)
        .map_err(as_parse_body)?;

    let signals = Signals::from_request(
        header(req, "Cookie").as_deref(),
        header(req, "Sec-GPC").as_deref(),
        env_.consent.as_ref(),
    );
    let decision = decide(&project.consent, &signals);
    let decision_store = decision.store;
    if !decision_store && span.is_none() {
        // A dropped beacon's events never reach the object: check them here (the envelope
        // around them is checked already).
        envelope::validate_events(env_.events.get(), &limits).map_err(as_parse_body)?;
    }
    let timeouts = super::config::timeouts(env, &project.session);
    let call = IngestCall {
        project: key,
        session: &env_.session,
        visitor: &env_.visitor,
        seq: env_.seq as u32,
        platform: env_.platform,
        // A dropped beacon's page goes no further than this worker.
        page: env_
            .page
            .as_deref()
            .filter(|_| decision_store)
            .map(Cow::Borrowed),
        span,
        limits,
        device: header(req, "User-Agent").map(|ua| device_from_user_agent(&ua)),
        decision,
        masking: Cow::Borrowed(&project.masking),
        idle_ms: timeouts.idle_ms,
        max_ms: timeouts.max_ms,
        fault: fault(req),
    };
    // A dropped beacon's events go no further either.
    let events = if decision_store {
        env_.events.get()
    } else {
        "[]"
    };
    #[cfg(feature = "faults")]
    if call.fault.as_deref() == Some("do_unreachable") {
        return Err(ApiError::unavailable("session object failed; retry later"));
    }
    call_session(key, &env_.session, call, events, env)
        .await
        .map(|reply| (reply, json.len()))
        .map_err(|e| match e.status {
            400 | 413 => as_parse_body(e),
            _ => e,
        })
}

/// Send the beacon to its session object (one per `{project}:{session}`).
async fn call_session(
    key: &str,
    session: &str,
    call: IngestCall<'_>,
    events: &str,
    env: &Env,
) -> Result<IngestReply> {
    let call = ObjectCall::Ingest(call, events);
    let reply = objects::call(env, &format!("{key}:{session}"), call)
        .await?
        .ok_or_else(|| ApiError::unavailable("session object answered badly"))?;
    serde_json::from_slice(&reply)
        .map_err(|_| ApiError::unavailable("session object answered badly"))
}

/// Test-only fault injection (`X-Veilgate-Fault`), compiled in only with the `faults` feature,
/// which production builds never enable.
#[cfg(feature = "faults")]
fn fault(req: &Request) -> Option<String> {
    header(req, "X-Veilgate-Fault")
}

#[cfg(not(feature = "faults"))]
fn fault(_req: &Request) -> Option<String> {
    None
}
