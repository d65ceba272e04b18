//! The sandbox's browser pages: the handset simulator and the subscriber's
//! consent settings (sandbox mode only; `netauth serve` never mounts them).
//! The JSON twin of the handset is `sandbox::api`; these pages are for a
//! person with a browser. They are built on the page layer (`crate::pages`)
//! like production pages; they live here, not in `pages/`, so that the
//! layer and everything in production stay free of sandbox code.
//!
//! ```text
//! GET  /                                       home::home_get          the sandbox's home page
//! GET  /sandbox/requests                       home::requests_get      the request inspector (?client_id=)
//! GET  /sandbox/v1/requests                    home::requests_json     the same, as JSON
//! GET  /sandbox/handset/{msisdn}               handset::handset_get    phone card: policy, pending prompts, ?answered=
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
pub mod home;

use crate::infra::state::AppState;
use crate::pages::{self, Frame, Lang, PageError, PageSite, SameSite};
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
    // The handset page refreshes every 3 s while no prompt waits, so only a
    // page left open on a prompt, or a consent page, meets this.
    csrf_ttl: 3600,
};

/// The home page and request inspector: read-only pages (no forms, no
/// cookie is ever set), wide for their tables.
pub const PORTAL_SITE: PageSite = PageSite {
    name: "netauth sandbox",
    frame: Frame::Wide,
    cookie: "netauth_portal",
    cookie_path: routes::sandbox::REQUESTS_PAGE,
    same_site: SameSite::Strict,
    csrf_sector: "csrf:portal",
    replay_scope: "sandbox:portal",
    csrf_ttl: 600,
};

pub fn router() -> axum::Router<AppState> {
    let portal = pages::site_router(
        &PORTAL_SITE,
        axum::Router::new()
            .route(routes::sandbox::HOME, get(home::home_get))
            .route(routes::sandbox::REQUESTS_PAGE, get(home::requests_get)),
    )
    .route(routes::sandbox::REQUESTS, get(home::requests_json));
    portal.merge(pages::site_router(
        &HANDSET_SITE,
        axum::Router::new()
            .route(routes::sandbox::HANDSET_PAGE, get(handset::handset_get))
            .route(routes::sandbox::HANDSET_PAGE_PROMPT, post(handset::prompt_post))
            .route(routes::sandbox::HANDSET_PAGE_POLICY, post(handset::policy_post))
            .route(
                routes::sandbox::HANDSET_PAGE_CONSENTS,
                get(consents::consents_get).post(consents::consents_post),
            ),
    ))
}

fn handset_path(msisdn: &str) -> String {
    routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE, msisdn)
}

fn consents_path(msisdn: &str) -> String {
    routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE_CONSENTS, msisdn)
}

/// The subscriber a page is about: 400 for a malformed number, 404 for a
/// number nobody has. Either way the page lists the numbers there are and
/// links to the sandbox's home page.
async fn subscriber(app: &AppState, msisdn: &str) -> Result<Subscriber, PageError> {
    if Msisdn::parse(msisdn).is_err() {
        return Err(PageError::bad_request(format!(
            "This is not a phone number in E.164 form (a + then the country code and number, e.g. +34666666666). {}",
            valid_numbers(app).await?
        ))
        .back(routes::sandbox::HOME));
    }
    match app.store.subscriber_by_msisdn(msisdn).await? {
        Some(s) => Ok(s),
        None => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Unknown number",
            format!("No subscriber of this network has this number. {}", valid_numbers(app).await?),
        )
        .back(routes::sandbox::HOME)),
    }
}

/// A sentence naming the numbers there are (the first few dozen).
async fn valid_numbers(app: &AppState) -> Result<String, PageError> {
    let subs = app.store.list_subscribers(None, 40).await?;
    let numbers: Vec<&str> = subs.iter().map(|s| s.msisdn.as_str()).collect();
    Ok(if numbers.is_empty() {
        "This network has no subscribers yet.".to_owned()
    } else {
        format!("Numbers in this sandbox: {}.", numbers.join(", "))
    })
}

/// The page's language from `Accept-Language` (the first supported tag).
fn page_lang(headers: &axum::http::HeaderMap) -> Lang {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .find_map(|t| Lang::parse(t.split(';').next().unwrap_or("").trim()))
        .unwrap_or_default()
}

/// What a scope lets an app do, in words, in the page's language (Spanish
/// and English for now; the scope's id is shown beside it).
fn scope_label(scope: &str, lang: Lang) -> String {
    let es = lang == Lang::Es;
    let (en, es_text) = match scope {
        "sim-swap" => ("know whether and when your SIM card changed", "saber si tu SIM ha cambiado y cuándo"),
        "sim-swap:check" => {
            ("check whether your SIM card changed recently", "comprobar si tu SIM ha cambiado hace poco")
        }
        "sim-swap:retrieve-date" => {
            ("see when your SIM card last changed", "ver cuándo cambió tu SIM por última vez")
        }
        "number-verification:verify" => {
            ("confirm that this phone uses your number", "confirmar que este teléfono usa tu número")
        }
        "number-verification:device-phone-number:read" => {
            ("read the number of this phone", "leer el número de este teléfono")
        }
        "openid" => ("sign you in", "iniciar tu sesión"),
        "offline_access" => {
            ("keep access while you are not using it", "mantener el acceso mientras no lo usas")
        }
        _ => ("use this network API", "usar esta API de red"),
    };
    if es { es_text } else { en }.to_owned()
}

/// A purpose in words in the page's language.
fn purpose_label_in(purpose: &str, lang: Lang) -> String {
    if lang == Lang::Es {
        let es = match purpose {
            "dpv:FraudPreventionAndDetection" => Some("Prevención y detección del fraude"),
            "dpv:RequestedServiceProvision" => Some("Prestación del servicio solicitado"),
            "dpv:IdentityVerification" => Some("Verificación de identidad"),
            _ => None,
        };
        if let Some(s) = es {
            return s.to_owned();
        }
    }
    purpose_label(purpose)
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
