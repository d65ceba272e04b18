//! The subscriber's consent settings: every consent given or revoked, with
//! Revoke / Allow again, and the "Allow <client> to use <scopes> for
//! <purpose>?" question a CIBA `consent_required` error links to.

use super::{
    HANDSET_SITE as SITE, consents_path, operator_name, page_lang, purpose_label_in, scope_label, subscriber,
};
use crate::infra::state::AppState;
use crate::oauth::consent;
use crate::pages::{Form, Layout, PageError, PageResult, refuse_cross_site, render, see_other, with_cookie};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use netauth_domain::client::{Client, ClientStatus};
use netauth_domain::consent::{ConsentStatus, LegalBasis};
use netauth_domain::flows::{PolicyDecision, PolicyError, PolicyGrant, authorize_request};
use netauth_proto::{Purpose, Scope, ScopeSet};
use std::collections::HashMap;
use std::sync::Arc;

struct ConsentView {
    client_name: String,
    client_id: String,
    scope: String,
    scope_label: String,
    purpose: String,
    purpose_label: String,
    granted: bool,
    updated: String,
    csrf: String,
}

/// The question of the consent page: "Allow <client> to use <scopes> for <purpose>?".
struct AskView {
    client_name: String,
    client_id: String,
    scope: String,
    /// (id, what it lets the app do, in the page's language)
    scopes: Vec<(String, String)>,
    purpose: String,
    purpose_label: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "sandbox/consents.html")]
struct ConsentsPage {
    layout: Layout,
    msisdn: String,
    operator: String,
    consents: Vec<ConsentView>,
    ask: Option<AskView>,
    /// Why the query's request cannot be granted here, or that it already is.
    notice: Option<String>,
}

/// The client's display name, or its id when it is gone.
async fn client_name(app: &AppState, client_id: &str) -> Result<String, PageError> {
    Ok(app.client(client_id).await?.map(|c| c.name.clone()).unwrap_or_else(|| client_id.to_owned()))
}

/// A (client, scopes, purpose) the subscriber may opt in to here: the
/// client exists, is active, may ask for these scopes under this purpose,
/// and the operator's legal basis for each (scope, purpose) is `consent`.
async fn grantable(
    app: &AppState,
    client_id: &str,
    scopes: &[String],
    purpose: &str,
) -> Result<(Arc<Client>, PolicyDecision), PageError> {
    let no = |m: String| PageError::bad_request(m);
    let Some(client) = app.client(client_id).await? else {
        return Err(no(format!("There is no application `{client_id}`.")));
    };
    if client.status != ClientStatus::Active {
        return Err(no(format!("The application {} is suspended.", client.name)));
    }
    if scopes.is_empty() {
        return Err(no("No data (scope) was named.".into()));
    }
    let not_allowed = || no(format!("{} may not ask for anything for {purpose}.", client.name));
    let typed_purpose = Purpose::parse(purpose).map_err(|_| not_allowed())?;
    let mut typed = Vec::with_capacity(scopes.len());
    for scope in scopes {
        typed.push(
            Scope::parse(scope).map_err(|_| no(format!("{} may not ask for `{scope}`.", client.name)))?,
        );
    }
    let rules = app.legal_bases().await?;
    let decision = authorize_request(
        &client,
        Some(&ScopeSet::from_scopes(typed)),
        Some(&typed_purpose),
        &rules,
        PolicyGrant::ConsentPage,
    )
    .map_err(|e| match e {
        PolicyError::NoApiScope => no("No data (scope) was named.".into()),
        PolicyError::ScopeNotAllowed(scope) | PolicyError::ScopeNotGranted(scope) => {
            no(format!("{} may not ask for `{scope}`.", client.name))
        }
        PolicyError::NoLegalBasis { scope, .. } => no(format!("`{scope}` may not be used for {purpose}.")),
        PolicyError::PurposeRequired | PolicyError::PurposeNotAllowed(_) => not_allowed(),
    })?;
    if let Some(b) = decision.bases.iter().find(|b| b.basis != LegalBasis::Consent) {
        return Err(no(format!(
            "`{}` for {purpose} does not need your consent (the operator's legal basis is not consent).",
            b.scope
        )));
    }
    Ok((client, decision))
}

fn split_scopes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect();
    v.dedup();
    v
}

fn consent_action(action: &str, client_id: &str, scope: &str, purpose: &str) -> String {
    format!("consent:{action}\n{client_id}\n{scope}\n{purpose}")
}

pub(super) async fn consents_get(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let s = subscriber(&app, &msisdn).await?;
    let lang = page_lang(&headers);
    let (session, cookie) = SITE.page_session(&app, &headers);
    let q = Form::parse_query(query.as_deref())?;
    let wanted = ["client_id", "scope", "purpose"].map(|k| q.get(k).filter(|v| !v.is_empty()));
    let given = wanted.iter().filter(|v| v.is_some()).count();
    if given != 0 && given != 3 {
        return Err(PageError::bad_request("Name all of client_id, scope and purpose, or none.")
            .back(consents_path(&s.msisdn)));
    }

    let records = app.store.list_consents(&s.id).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut consents = Vec::with_capacity(records.len());
    for c in records {
        if !names.contains_key(&c.client_id) {
            names.insert(c.client_id.clone(), client_name(&app, &c.client_id).await?);
        }
        let granted = c.status == ConsentStatus::Granted;
        let action = if granted { "revoke" } else { "grant" };
        consents.push(ConsentView {
            client_name: names.get(&c.client_id).cloned().unwrap_or_default(),
            csrf: SITE.form_token(
                &app,
                &session,
                &s.id,
                &consent_action(action, &c.client_id, &c.scope, &c.purpose),
            ),
            purpose_label: purpose_label_in(&c.purpose, lang),
            scope_label: scope_label(&c.scope, lang),
            updated: httpdate::fmt_http_date(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(c.updated_at.max(0) as u64),
            ),
            granted,
            client_id: c.client_id,
            scope: c.scope,
            purpose: c.purpose,
        });
    }

    let (mut ask, mut notice) = (None, None);
    if let [Some(client_id), Some(scope), Some(purpose)] = wanted {
        let scopes = split_scopes(scope);
        match grantable(&app, client_id, &scopes, purpose).await {
            Ok((client, _)) => {
                let missing: Vec<String> = scopes
                    .iter()
                    .filter(|sc| {
                        !consents.iter().any(|c| {
                            c.granted && c.client_id == client_id && c.scope == **sc && c.purpose == purpose
                        })
                    })
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    notice = Some(format!(
                        "{} may already use this for {}.",
                        client.name,
                        purpose_label_in(purpose, lang)
                    ));
                } else {
                    let scope = missing.join(" ");
                    ask = Some(AskView {
                        csrf: SITE.form_token(
                            &app,
                            &session,
                            &s.id,
                            &consent_action("grant", client_id, &scope, purpose),
                        ),
                        client_name: client.name.clone(),
                        client_id: client_id.to_owned(),
                        scope,
                        scopes: missing
                            .into_iter()
                            .map(|s| {
                                let l = scope_label(&s, lang);
                                (s, l)
                            })
                            .collect(),
                        purpose: purpose.to_owned(),
                        purpose_label: purpose_label_in(purpose, lang),
                    });
                }
            }
            Err(e) if e.status() == StatusCode::BAD_REQUEST => notice = Some(e.into_message()),
            Err(e) => return Err(e),
        }
    }

    let page = ConsentsPage {
        layout: Layout::new(&SITE, format!("Consents of {}", s.msisdn)).lang(lang),
        operator: operator_name(&app, &s).await?,
        consents,
        ask,
        notice,
        msisdn: s.msisdn,
    };
    Ok(with_cookie(render(StatusCode::OK, &page), cookie))
}

pub(super) async fn consents_post(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let s = subscriber(&app, &msisdn).await?;
    let back = consents_path(&s.msisdn);
    let form = Form::parse(&headers, &body)?;
    let action = form.field("action")?;
    let client_id = form.field("client_id")?;
    let scope = form.field("scope")?;
    let purpose = form.field("purpose")?;
    match action {
        "grant" => {
            let scopes = split_scopes(scope);
            let (_, decision) =
                grantable(&app, client_id, &scopes, purpose).await.map_err(|e| e.back(back.clone()))?;
            let action = consent_action("grant", client_id, scope, purpose);
            SITE.verify_csrf(&app, &headers, &form, &s.id, &action, &back).await?;
            if let Some(p) = &decision.purpose {
                let scopes: Vec<Scope> = decision.scopes.iter().cloned().collect();
                consent::grant(&app, &s.id, client_id, p, &scopes).await?;
            }
        }
        "revoke" => {
            let action = consent_action("revoke", client_id, scope, purpose);
            SITE.verify_csrf(&app, &headers, &form, &s.id, &action, &back).await?;
            // Nothing to revoke is no error: the consent is not there either way.
            consent::revoke(&app, &s.id, client_id, scope, purpose).await?;
        }
        _ => return Err(PageError::bad_request("The action is grant or revoke.").back(back)),
    }
    see_other(&back)
}
