//! Browser pages of the sandbox: the handset simulator and the subscriber's
//! consent page.

use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
}
