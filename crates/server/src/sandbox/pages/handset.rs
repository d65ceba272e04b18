//! The handset simulator: pending CIBA prompts with Approve/Deny, and the
//! answering policy (what an unattended handset does).

use super::{HANDSET_SITE as SITE, handset_path, operator_name, purpose_label, subscriber};
use crate::infra::state::AppState;
use crate::pages::{
    Form, Layout, PageError, PageResult, Session, refuse_cross_site, render, see_other, with_cookie,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
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
    scopes: Vec<String>,
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
    headers: HeaderMap,
) -> PageResult {
    let s = subscriber(&app, &msisdn).await?;
    let (session, cookie) = SITE.page_session(&app, &headers);
    let t = app.now();
    let mut prompts = Vec::new();
    for p in app.store.list_prompts(&s.id, t).await? {
        prompts.push(prompt_view(&app, &session, &s, p, t).await?);
    }
    let page = HandsetPage {
        layout: Layout::new(&SITE, format!("Handset {}", s.msisdn)).refresh(3),
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
) -> Result<PromptView, PageError> {
    // The name as registered now, should the client have been renamed.
    let client_name = match app.client(&p.client_id).await? {
        Some(c) => c.name.clone(),
        None => p.client_name.clone(),
    };
    let purpose = p.purpose.unwrap_or_default();
    Ok(PromptView {
        csrf: SITE.form_token(app, session, &s.id, &format!("prompt:{}", p.id)),
        purpose_label: purpose_label(&purpose),
        id: p.id,
        kind: p.kind,
        client_name,
        client_id: p.client_id,
        purpose,
        scopes: p.scopes,
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
    see_other(&back)
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
