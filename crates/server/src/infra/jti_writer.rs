//! Group commit for assertion `jti` records (SECURITY.md 22).
//!
//! Every `private_key_jwt` or `app_jwt` authentication must record its `jti`
//! in the Store before a token is issued, so that it is single-use on every
//! node. One autocommit write per request costs more than the signature
//! check it follows (docs/benchmarks.md: ~160 µs of SQLite worker time per
//! request). One writer task per node takes whatever records are waiting,
//! writes them in one statement, and answers each waiter whether its `jti`
//! was new. The guarantee is unchanged: the row is committed before the
//! answer, and the primary key still decides between nodes. Under load,
//! batches grow by themselves while the previous one is being written; with
//! no load a record is written at once, alone.

use netauth_domain::UnixTime;
use netauth_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Records per batch at most (the Store splits statements further).
const MAX_BATCH: usize = 512;
/// Waiting records at most; senders wait beyond that (backpressure).
const QUEUE: usize = 8192;

struct Pending {
    record: (String, String, UnixTime),
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

pub struct JtiWriter {
    tx: mpsc::Sender<Pending>,
}

fn stopped() -> StoreError {
    StoreError::Database("the jti writer has stopped".into())
}

impl JtiWriter {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(QUEUE);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let (records, replies): (Vec<_>, Vec<_>) =
                    batch.drain(..).map(|p| (p.record, p.reply)).unzip();
                match store.record_jtis(&records).await {
                    Ok(fresh) => {
                        for (reply, f) in replies.into_iter().zip(fresh) {
                            let _ = reply.send(Ok(f));
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(StoreError::Database(msg.clone())));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Records `jti` of `client_id` until `expires_at`; false on a replay.
    pub async fn record(&self, client_id: &str, jti: &str, expires_at: UnixTime) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let record = (client_id.to_owned(), jti.to_owned(), expires_at);
        self.tx.send(Pending { record, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}
