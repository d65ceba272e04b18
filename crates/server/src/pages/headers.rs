//! The middleware every site's router wears: the security headers of
//! SECURITY.md 10 and 11 on every response (errors and redirects included),
//! and error pages in the site's layout.
//!
//! - CSP (CSP Level 3): nothing may load but the one stylesheet, allowed by
//!   its hash; forms post only to us; `frame-ancestors 'none'`.
//! - `X-Frame-Options: DENY` for browsers without `frame-ancestors`.
//! - `Referrer-Policy: no-referrer`, so no page's URL reaches anyone else.
//! - `Cache-Control: no-store`: pages carry CSRF tokens and personal data.

use super::layout::{CSS, PageError};
use super::site::PageSite;
use crate::infra::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine;
use netauth_domain::crypto::sha256;
use std::sync::LazyLock;

static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(sha256(CSS.as_bytes()));
    let v = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// Wears `site`'s middleware on its routes:
/// `pages::site_router(&SITE, Router::new().route(…))`.
pub fn site_router(site: &'static PageSite, routes: Router<AppState>) -> Router<AppState> {
    routes.layer(middleware::from_fn_with_state(site, site_pages))
}

async fn site_pages(State(site): State<&'static PageSite>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if let Some(e) = resp.extensions_mut().remove::<PageError>() {
        resp = e.render_for(site);
    }
    set_page_headers(&mut resp);
    resp
}

/// SECURITY.md 10 and 11 on one response.
pub fn set_page_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
}
