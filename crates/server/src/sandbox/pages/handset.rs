//! The handset simulator: pending CIBA prompts with Approve/Deny, and the
//! answering policy (what an unattended handset does).

use super::{
    HANDSET_SITE as SITE, handset_path, operator_name, page_lang, purpose_label_in, scope_label, subscriber,
};
use crate::infra::state::AppState;
use crate::pages::{
    Form, Lang, Layout, PageError, PageResult, Session, refuse_cross_site, render, see_other, with_cookie,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use netauth_domain::ciba::Prompt;
use netauth_domain::subscriber::{HandsetPolicy, Subscriber, SubscriberStatus};

struct PromptView {
    id: String,
    kind: String,
    client_name: String,
    client_id: String,
    purpose: String,
    purpose_label: String,
    /// (id, what it lets the app do, in the page's language)
    scopes: Vec<(String, String)>,
    /// A sign-in code to read off the screen (`login_code` prompts).
    code: Option<String>,
    expires_in: i64,
    csrf: String,
}

#[derive(Template)]
#[template(path = "sandbox/handset.html")]
struct HandsetPage {
    layout: Layout,
    msisdn: String,
    operator: String,
    active: bool,
    policy: &'static str,
    policy_csrf: String,
    prompts: Vec<PromptView>,
    answered: Option<Answered>,
}

/// The confirmation shown after Approve or Deny (the 303 lands here).
struct Answered {
    approved: bool,
}

fn policy_str(p: HandsetPolicy) -> &'static str {
    match p {
        HandsetPolicy::Ask => "ask",
        HandsetPolicy::AutoApprove => "auto_approve",
        HandsetPolicy::AutoDeny => "auto_deny",
    }
}

pub(super) async fn handset_get(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let s = subscriber(&app, &msisdn).await?;
    let lang = page_lang(&headers);
    let (session, cookie) = SITE.page_session(&app, &headers);
    let t = app.now();
    let mut prompts = Vec::new();
    for p in app.store.list_prompts(&s.id, t).await? {
        prompts.push(prompt_view(&app, &session, &s, p, t, lang).await?);
    }
    let answered = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "answered")
        .and_then(|(_, v)| match v.as_ref() {
            "approve" => Some(Answered { approved: true }),
            "deny" => Some(Answered { approved: false }),
            _ => None,
        });
    // Reloading only while nothing waits: a person reading a prompt is not
    // interrupted, and the page holds no input a reload could lose (the
    // policy is three buttons).
    let mut layout = Layout::new(&SITE, format!("Handset {}", s.msisdn)).lang(lang);
    if prompts.is_empty() {
        layout = layout.refresh(3);
    }
    let page = HandsetPage {
        answered,
        layout,
        operator: operator_name(&app, &s).await?,
        active: s.status == SubscriberStatus::Active,
        policy: policy_str(s.handset_policy),
        policy_csrf: SITE.form_token(&app, &session, &s.id, "policy"),
        prompts,
        msisdn: s.msisdn,
    };
    Ok(with_cookie(render(StatusCode::OK, &page), cookie))
}

async fn prompt_view(
    app: &AppState,
    session: &Session,
    s: &Subscriber,
    p: Prompt,
    t: i64,
    lang: Lang,
) -> Result<PromptView, PageError> {
    // The name as registered now, should the client have been renamed.
    let client_name = match app.client(&p.client_id).await? {
        Some(c) => c.name.clone(),
        None => p.client_name.clone(),
    };
    let purpose = p.purpose.unwrap_or_default();
    Ok(PromptView {
        csrf: SITE.form_token(app, session, &s.id, &format!("prompt:{}", p.id)),
        purpose_label: purpose_label_in(&purpose, lang),
        id: p.id,
        kind: p.kind,
        client_name,
        client_id: p.client_id,
        purpose,
        scopes: p
            .scopes
            .into_iter()
            .map(|s| {
                let l = scope_label(&s, lang);
                (s, l)
            })
            .collect(),
        code: p.code,
        expires_in: (p.expires_at - t).max(0),
    })
}

pub(super) async fn prompt_post(
    State(app): State<AppState>,
    Path((msisdn, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let s = subscriber(&app, &msisdn).await?;
    let back = handset_path(&s.msisdn);
    let form = Form::parse(&headers, &body)?;
    let approve = match form.field("decision")? {
        "approve" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("The decision is approve or deny.").back(back)),
    };
    SITE.verify_csrf(&app, &headers, &form, &s.id, &format!("prompt:{id}"), &back).await?;
    if !crate::oauth::ciba::answer_prompt(&app, &s.id, &id, approve).await? {
        return Err(PageError::not_found(
            "No longer pending",
            "This request is no longer pending: it was answered already, or it expired.",
        )
        .back(back));
    }
    see_other(&format!("{back}?answered={}", if approve { "approve" } else { "deny" }))
}

pub(super) async fn policy_post(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let mut s = subscriber(&app, &msisdn).await?;
    let back = handset_path(&s.msisdn);
    let form = Form::parse(&headers, &body)?;
    let policy = match form.field("policy")? {
        "ask" => HandsetPolicy::Ask,
        "auto_approve" => HandsetPolicy::AutoApprove,
        "auto_deny" => HandsetPolicy::AutoDeny,
        _ => return Err(PageError::bad_request("The policy is ask, auto_approve or auto_deny.").back(back)),
    };
    SITE.verify_csrf(&app, &headers, &form, &s.id, "policy", &back).await?;
    s.handset_policy = policy;
    app.store.update_subscriber(&s).await?;
    see_other(&back)
}
