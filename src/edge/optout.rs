//! `GET`/`POST /v1/opt-out`, `GET /v1/opt-in` (the page) and `POST /v1/opt-in`: veilgate's
//! own first-party opt-out cookie.

use worker::{Headers, Method, Request, Response};

use crate::consent::optout;
use crate::error::{ApiError, ErrorCode};

fn page(opt_out: bool) -> Result<Response, ApiError> {
    let (html, cookie) = if opt_out {
        (optout::opt_out_page_html(), optout::opt_out_set_cookie())
    } else {
        (optout::opt_in_page_html(), optout::opt_in_clear_cookie())
    };
    html_page(html, Some(&cookie))
}

/// `GET`/`POST /v1/opt-out`: the cookie on a navigation or a same-origin POST; otherwise
/// (an `<img>`, a `fetch`, a frame) the page with the button, and no cookie.
pub fn opt_out(req: &Request) -> Result<Response, ApiError> {
    let own = own_origin(req)?;
    let h = |n: &str| req.headers().get(n).ok().flatten();
    let (origin, site, mode, dest) = (
        h("Origin"),
        h("Sec-Fetch-Site"),
        h("Sec-Fetch-Mode"),
        h("Sec-Fetch-Dest"),
    );
    let meta = optout::FetchMeta {
        origin: origin.as_deref(),
        site: site.as_deref(),
        mode: mode.as_deref(),
        dest: dest.as_deref(),
    };
    if optout::opt_out_allowed(req.method() == Method::Post, meta, &own) {
        page(true)
    } else {
        html_page(optout::opt_out_confirm_page_html(), None)
    }
}

fn own_origin(req: &Request) -> Result<String, ApiError> {
    req.url()
        .map(|u| u.origin().ascii_serialization())
        .map_err(|_| ApiError::new(ErrorCode::BadUrl, "unreadable request URL"))
}

/// `GET /v1/opt-in`: the form only; a GET never clears the cookie.
pub fn opt_in_form() -> Result<Response, ApiError> {
    html_page(optout::opt_in_confirm_page_html(), None)
}

/// `POST /v1/opt-in`: clear the cookie if the form was posted from this origin.
pub fn opt_in(req: &Request) -> Result<Response, ApiError> {
    let own = own_origin(req)?;
    let h = |n: &str| req.headers().get(n).ok().flatten();
    if !optout::opt_in_allowed(h("Origin").as_deref(), h("Sec-Fetch-Site").as_deref(), &own) {
        return Err(ApiError::new(
            ErrorCode::CrossSiteOptIn,
            "opting back in must be confirmed on this site's opt-in page",
        ));
    }
    page(false)
}

fn html_page(html: String, cookie: Option<&str>) -> Result<Response, ApiError> {
    let headers = Headers::new();
    for (k, v) in optout::PAGE_HEADERS {
        let _ = headers.set(k, v);
    }
    let _ = headers.set("Content-Security-Policy", &optout::page_csp());
    if let Some(c) = cookie {
        let _ = headers.set("Set-Cookie", c);
    }
    Response::ok(html)
        .map(|r| r.with_headers(headers))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "response"))
}
