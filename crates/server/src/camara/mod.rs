//! The CAMARA side of netauth: what resource APIs share (the bearer-token
//! extractor, subscriber look-ups in the CAMARA error dialect).

pub mod bearer;

use crate::errors::ApiReply;
use crate::infra::state::AppState;
use netauth_domain::subscriber::Subscriber;
use netauth_proto::{CamaraError, Msisdn};

/// The subscriber with this E.164 number: 400 `INVALID_ARGUMENT` for a
/// malformed number, 404 `IDENTIFIER_NOT_FOUND` for one nobody has.
pub async fn subscriber_by_number(app: &AppState, msisdn: &str) -> Result<Subscriber, ApiReply> {
    Msisdn::parse(msisdn).map_err(|e| CamaraError::invalid_argument(e.description.to_string()))?;
    app.store
        .subscriber_by_msisdn(msisdn)
        .await?
        .ok_or_else(|| CamaraError::new(404, "IDENTIFIER_NOT_FOUND", "no subscriber has this number").into())
}
