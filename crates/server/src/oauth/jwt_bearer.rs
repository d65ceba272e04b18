//! The JWT bearer grant at the token endpoint (RFC 7523 §2.1 and §3, the
//! CAMARA profile §1.7): a three-legged token without any interaction, for
//! a subscriber the client names in an assertion it signed.
//!
//! ```text
//! POST /token grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWS>
//!   ─► client_auth            no other credentials: the assertion authenticates its `iss`
//!                             (verify_grant_assertion, jti spent through the JtiWriter);
//!                             otherwise the client authenticates and grant() verifies it here
//!   ─► flows::read_grant      sub (tel: | operatortoken:), scope claim → purpose + API scopes
//!   ─► flows::authorize_request (PolicyGrant::JwtBearer)
//!                             purpose and scopes of the client, legal bases (invalid_scope)
//!   ─► App::resolve_hint      tel: → Network; operatortoken: → EntitlementServer (invalid_grant)
//!   ─► consent::evaluate      consent on record where the basis needs it, or
//!                             invalid_grant: the grant has no way to ask
//!   ─► issue_user_tokens      access token only (amr nba for an operator token); no refresh token
//! ```
//! Any assertion failure is `invalid_grant` (RFC 7523 §3.1, CAMARA profile
//! appendix A).

use crate::errors::OAuthReply;
use crate::infra::state::App;
use crate::oauth::client_auth::{record_grant_jti, verify_grant_assertion_with_keys};
use crate::oauth::consent;
use crate::oauth::issue::{UserGrant, issue_user_tokens};
use netauth_domain::client::Client;
use netauth_domain::client_auth::GrantAssertion;
use netauth_domain::flows::jwt_bearer::{BearerSubject, read_grant};
use netauth_domain::flows::{ConsentOutcome, PolicyError, PolicyGrant, authorize_request};
use netauth_proto::{LoginHint, OAuthError, Scope, TokenResponse};

/// The grant, for `client`. `verified` is the assertion when it was the
/// client's authentication (already verified and spent); otherwise the
/// client authenticated another way and `assertion` is verified here.
pub async fn grant(
    app: &App,
    client: &Client,
    assertion: &str,
    endpoint_url: &str,
    verified: Option<GrantAssertion>,
) -> Result<TokenResponse, OAuthReply> {
    let g = match verified {
        Some(g) => g,
        None => {
            let issuer = app.issuer.as_str();
            let audiences = [issuer, endpoint_url, &format!("{issuer}{}", crate::routes::TOKEN.path)];
            let g = verify_grant_assertion_with_keys(app, client, assertion, &audiences, app.now())
                .await
                .map_err(OAuthError::invalid_grant)?;
            record_grant_jti(app, client, &g).await.map_err(|r| match r {
                Ok(d) => OAuthError::invalid_grant(d).into(),
                Err(store) => store,
            })?;
            g
        }
    };
    let req = read_grant(&g)?;
    let rules = app.legal_bases().await?;
    let decision =
        authorize_request(client, Some(&req.scopes), req.purpose.as_ref(), &rules, PolicyGrant::JwtBearer)
            .map_err(OAuthError::from)?;
    let Some(purpose) = decision.purpose.clone() else {
        return Err(OAuthError::from(PolicyError::PurposeRequired).into());
    };
    let hint = match &req.subject {
        BearerSubject::Tel(m) => LoginHint::Tel(m.clone()),
        BearerSubject::OperatorToken(t) => LoginHint::OperatorToken(t.clone()),
    };
    let Some(subscriber) = app.resolve_hint(&hint).await? else {
        return Err(OAuthError::invalid_grant(match req.subject {
            BearerSubject::Tel(_) => "the assertion's subject is not an active subscriber of this operator",
            BearerSubject::OperatorToken(_) => {
                "the assertion's operator token is unknown, expired or already used"
            }
        })
        .into());
    };
    match consent::evaluate(app, &client.client_id, &subscriber.id, &decision).await? {
        ConsentOutcome::Granted => {}
        ConsentOutcome::Missing { scopes: missing, .. } => {
            // CAMARA profile §1.11: the JWT bearer grant cannot ask.
            let missing: Vec<&str> = missing.iter().map(Scope::as_str).collect();
            return Err(OAuthError::invalid_grant(format!(
                "the subscriber has not consented to {} for {purpose}, and the JWT bearer grant cannot \
                 ask for consent; obtain it another way (CIBA or the authorization code flow) first",
                missing.join(", ")
            ))
            .into());
        }
    }
    tracing::debug!(client_id = %client.client_id, subject = req.subject.kind(), "JWT bearer grant");
    let amr = req.subject.amr();
    Ok(issue_user_tokens(
        app,
        UserGrant {
            client,
            subscriber: &subscriber,
            scopes: &decision.scopes,
            purpose: Some(&purpose),
            amr: &amr,
            // No interaction: the subscriber is authenticated by the
            // assertion, now.
            auth_time: app.now(),
            family_id: None,
            id_token_extra: None,
        },
    )
    .await?)
}
