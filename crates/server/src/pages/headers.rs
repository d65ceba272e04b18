//! The middleware every site's router wears: the security headers of
//! SECURITY.md 10 and 11 on every response (errors and redirects included),
//! and error pages in the site's layout.
//!
//! - CSP (CSP Level 3): nothing may load but the one stylesheet, allowed by
//!   its hash; forms post only to us; `frame-ancestors 'none'`. A page whose
//!   form ends in a redirect to a client (the authorization pages: Allow,
//!   Deny, Cancel) names that client's origin too ([`FormTarget`]): browsers
//!   apply `form-action` to the redirects that follow a form's POST (CSP 3
//!   §6.1.3, "navigation" checks), so with `'self'` alone Chromium refuses
//!   to take the person back to the client.
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

static CSS_HASH: LazyLock<String> =
    LazyLock::new(|| base64::engine::general_purpose::STANDARD.encode(sha256(CSS.as_bytes())));

fn csp(form_action: &str) -> Option<HeaderValue> {
    let hash = &*CSS_HASH;
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    ))
    .ok()
}

static CSP: LazyLock<HeaderValue> =
    LazyLock::new(|| csp("'self'").unwrap_or_else(|| HeaderValue::from_static("default-src 'none'")));

/// A response extension: the page's forms may end in a redirect to this
/// client redirect URI, whose origin joins `form-action`.
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

/// The CSP source expression of a redirect URI: its origin
/// (`scheme://host[:port]`; paths do not count after a redirect anyway,
/// CSP 3 §6.7.2.13), or, for a URI without a host (a native app's private
/// scheme), its scheme. None for anything else, which adds nothing.
fn form_source(redirect_uri: &str) -> Option<String> {
    let u = url::Url::parse(redirect_uri).ok()?;
    let origin = u.origin();
    let source = if origin.is_tuple() { origin.ascii_serialization() } else { format!("{}:", u.scheme()) };
    // Only characters a source expression may hold: nothing that could end
    // the directive or the header.
    source.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.:/[]".contains(&b)).then_some(source)
}

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
    let target = resp.extensions_mut().remove::<FormTarget>();
    set_page_headers(&mut resp);
    if let Some(source) = target.and_then(|FormTarget(uri)| form_source(&uri))
        && let Some(v) = csp(&format!("'self' {source}"))
    {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
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

#[cfg(test)]
mod tests {
    use super::form_source;

    #[test]
    fn form_sources_are_origins() {
        assert_eq!(
            form_source("http://127.0.0.1:9001/callback?x=1").as_deref(),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(form_source("https://app.example.com/cb").as_deref(), Some("https://app.example.com"));
        assert_eq!(form_source("https://[::1]:8443/cb").as_deref(), Some("https://[::1]:8443"));
        assert_eq!(form_source("com.example.app:/oauth").as_deref(), Some("com.example.app:"));
        assert_eq!(form_source("not a url"), None);
    }
}
