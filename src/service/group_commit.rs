//! Group commit: writes from many requests gathered into one durable transaction.
//!
//! One writer thread takes every write job waiting in its queue, runs them one after another in a
//! single redb write transaction (each sees the writes of those before it, exactly as if they had
//! run alone in that order), commits once — one fsync for the whole batch — and only then answers
//! each caller. An answer still means durable. If any job fails inside, the whole batch is
//! discarded and every caller in it is told to try again. After an I/O error (a full disk) the
//! next batch's `Store::write` reopens the data file once a write can succeed again, so the
//! writer recovers without a restart.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::ServiceError;
use crate::store::{Store, WriteTx};

/// The most jobs one transaction carries.
const MAX_BATCH: usize = 512;

/// A write waiting for its batch.
trait Pending: Send {
    /// Runs the work in the shared transaction; `false` when it failed and the batch must go.
    fn run(&mut self, tx: &WriteTx) -> bool;
    /// Answers the caller: the work's result if the batch committed, else why not.
    fn deliver(self: Box<Self>, committed: Result<(), ServiceError>);
}

struct Work<T, F> {
    work: Option<F>,
    result: Option<Result<T, ServiceError>>,
    reply: oneshot::Sender<Result<T, ServiceError>>,
}

impl<T, F> Pending for Work<T, F>
where
    T: Send,
    F: FnOnce(&WriteTx) -> Result<T, ServiceError> + Send,
{
    fn run(&mut self, tx: &WriteTx) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(self: Box<Self>, committed: Result<(), ServiceError>) {
        let answer = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(ServiceError::Internal("a write job did not run".into())),
            (Err(e), _) => Err(e),
        };
        let _ = self.reply.send(answer);
    }
}

/// The handle to the writer thread.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

impl GroupCommit {
    /// Starts the writer thread for `store`. It ends when every handle is dropped.
    pub fn start(store: Store) -> GroupCommit {
        let (queue, jobs) = mpsc::channel::<Box<dyn Pending>>();
        let spawned = std::thread::Builder::new()
            .name("latchkey-writer".into())
            .spawn(move || writer(store, jobs));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the writer thread");
        }
        GroupCommit { queue }
    }

    /// Runs `work` in the next batch and returns its result once the batch is durable.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTx) -> Result<T, ServiceError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Work {
            work: Some(work),
            result: None,
            reply,
        });
        self.queue
            .send(job)
            .map_err(|_| ServiceError::Internal("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Internal("the writer thread dropped a job".into()))?
    }
}

fn writer(store: Store, jobs: mpsc::Receiver<Box<dyn Pending>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&store, &mut batch);
        for job in batch {
            job.deliver(outcome.clone());
        }
    }
}

fn run_batch(store: &Store, batch: &mut [Box<dyn Pending>]) -> Result<(), ServiceError> {
    let tx = store.write()?;
    for job in batch.iter_mut() {
        if !job.run(&tx) {
            return Err(ServiceError::Internal(
                "a write in the same batch failed; nothing in it was stored".into(),
            ));
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Reads;

    #[tokio::test]
    async fn concurrent_jobs_each_get_their_own_answer_after_the_commit() {
        let store = Store::in_memory().unwrap();
        let writer = GroupCommit::start(store.clone());
        let mut handles = Vec::new();
        for i in 0..50u64 {
            let w = writer.clone();
            handles.push(tokio::spawn(async move {
                w.run(move |tx| {
                    tx.put_setup_token(
                        &format!("t{i}"),
                        &crate::store::SetupTokenRecord {
                            expires_at: crate::domain::Timestamp(i),
                        },
                    )?;
                    Ok(i)
                })
                .await
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().unwrap(), i as u64);
        }
        assert_eq!(
            store
                .read()
                .unwrap()
                .count(crate::store::tables::SETUP_TOKENS)
                .unwrap(),
            50
        );
    }

    #[tokio::test]
    async fn a_failing_job_discards_its_batch_and_says_so() {
        let store = Store::in_memory().unwrap();
        let writer = GroupCommit::start(store.clone());
        let failed = writer
            .run(|tx| -> Result<(), ServiceError> {
                tx.put_setup_token(
                    "x",
                    &crate::store::SetupTokenRecord {
                        expires_at: crate::domain::Timestamp(1),
                    },
                )?;
                Err(ServiceError::Internal("boom".into()))
            })
            .await;
        assert!(failed.is_err());
        assert!(store.read().unwrap().setup_token("x").unwrap().is_none());
    }
}
