//! Key lifecycle operations shared by the CLI and the admin API.

use netauth_domain::keys::{MasterKey, initial_keys, plan_rotation};
use netauth_store::Store;

/// Writes the first keys if the installation has none (race-safe across
/// nodes starting together).
pub async fn ensure_keys(store: &dyn Store, master: &MasterKey, now: i64) -> anyhow::Result<()> {
    if store.list_keys().await?.is_empty() {
        let keys = initial_keys(master, now)?;
        if store.init_keys(&keys).await? {
            tracing::info!("generated the installation's first signing and sealing keys");
        }
    }
    Ok(())
}

/// Publishes new keys now, active after `delay`; the current ones retire
/// then and stay published for `max_lifetime` more seconds.
pub async fn rotate(
    store: &dyn Store,
    master: &MasterKey,
    delay: i64,
    max_lifetime: i64,
    now: i64,
) -> anyhow::Result<()> {
    let existing = store.list_keys().await?;
    let plan = plan_rotation(master, &existing, now, delay, max_lifetime)?;
    store.rotate_keys(&plan).await?;
    Ok(())
}
