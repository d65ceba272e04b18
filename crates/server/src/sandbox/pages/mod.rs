//! The sandbox's browser pages: the handset simulator and the subscriber's
//! consent settings (sandbox mode only; `netauth serve` never mounts them).
//! The JSON twin of the handset is `sandbox::api`; these pages are for a
//! person with a browser. They are built on the page layer (`crate::pages`)
//! like production pages; they live here, not in `pages/`, so that the
//! layer and everything in production stay free of sandbox code.
//!
//! ```text
//! GET  /sandbox/handset/{msisdn}               handset::handset_get    phone card: policy, pending prompts
//! POST /sandbox/handset/{msisdn}/prompts/{id}  handset::prompt_post    ─► ciba::answer_prompt ─► 303
//! POST /sandbox/handset/{msisdn}/policy        handset::policy_post    ─► Store::update_subscriber ─► 303
//! GET  /sandbox/handset/{msisdn}/consents      consents::consents_get  consents + "Allow …?" (?client_id&scope&purpose)
//! POST /sandbox/handset/{msisdn}/consents      consents::consents_post ─► consent::grant | consent::revoke ─► 303
//! ```
//!
//! Every form's CSRF token is bound to the subscriber (the subject) and the
//! exact action (which prompt; which client, scope and purpose).

mod consents;
mod handset;

use crate::infra::state::AppState;
use crate::pages::{self, Frame, PageError, PageSite, SameSite};
use crate::routes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use netauth_domain::subscriber::Subscriber;
use netauth_proto::Msisdn;

/// The handset pages: a person opens them directly, never through another
/// site, so the cookie is `SameSite=Strict`.
pub const HANDSET_SITE: PageSite = PageSite {
    name: "netauth sandbox",
    frame: Frame::Phone,
    cookie: "netauth_handset",
    cookie_path: routes::sandbox::HANDSET_PAGES,
    same_site: SameSite::Strict,
    csrf_sector: "csrf:handset",
    replay_scope: "sandbox:pages",
    // The handset page refreshes every 3 s, so only a consent page left
    // open for long meets this.
    csrf_ttl: 3600,
};

pub fn router() -> axum::Router<AppState> {
    pages::site_router(
        &HANDSET_SITE,
        axum::Router::new()
            .route(routes::sandbox::HANDSET_PAGE, get(handset::handset_get))
            .route(routes::sandbox::HANDSET_PAGE_PROMPT, post(handset::prompt_post))
            .route(routes::sandbox::HANDSET_PAGE_POLICY, post(handset::policy_post))
            .route(
                routes::sandbox::HANDSET_PAGE_CONSENTS,
                get(consents::consents_get).post(consents::consents_post),
            ),
    )
}

fn handset_path(msisdn: &str) -> String {
    routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE, msisdn)
}

fn consents_path(msisdn: &str) -> String {
    routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE_CONSENTS, msisdn)
}

/// The subscriber a page is about: 400 for a malformed number, 404 for a
/// number nobody has.
async fn subscriber(app: &AppState, msisdn: &str) -> Result<Subscriber, PageError> {
    if Msisdn::parse(msisdn).is_err() {
        return Err(PageError::bad_request(
            "This is not a phone number in E.164 form (a + then the country code and number, e.g. +34666666666).",
        ));
    }
    app.store.subscriber_by_msisdn(msisdn).await?.ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Unknown number",
            "No subscriber of this network has this number.",
        )
    })
}

async fn operator_name(app: &AppState, s: &Subscriber) -> Result<String, PageError> {
    Ok(app.store.get_operator(&s.operator_id).await?.map(|o| o.name).unwrap_or_else(|| s.operator_id.clone()))
}

/// `dpv:FraudPreventionAndDetection` → `Fraud prevention and detection`.
fn purpose_label(purpose: &str) -> String {
    let name = purpose.strip_prefix("dpv:").unwrap_or(purpose);
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_labels_read_as_words() {
        assert_eq!(purpose_label("dpv:FraudPreventionAndDetection"), "Fraud prevention and detection");
        assert_eq!(purpose_label("dpv:RequestedServiceProvision"), "Requested service provision");
        assert_eq!(purpose_label(""), "");
    }
}
