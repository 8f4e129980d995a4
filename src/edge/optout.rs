//! `GET /v1/opt-out` and `GET /v1/opt-in`: veilgate's own first-party opt-out cookie.

use worker::{Headers, Response};

use crate::consent::optout;
use crate::error::ApiError;

pub fn page(opt_out: bool) -> Result<Response, ApiError> {
    let (html, cookie) = if opt_out {
        (optout::opt_out_page_html(), optout::opt_out_set_cookie())
    } else {
        (optout::opt_in_page_html(), optout::opt_in_clear_cookie())
    };
    let headers = Headers::new();
    for (k, v) in optout::PAGE_HEADERS {
        let _ = headers.set(k, v);
    }
    let _ = headers.set("Content-Security-Policy", &optout::page_csp());
    let _ = headers.set("Set-Cookie", &cookie);
    Response::ok(html)
        .map(|r| r.with_headers(headers))
        .map_err(|_| ApiError::new(500, "internal", "response"))
}
