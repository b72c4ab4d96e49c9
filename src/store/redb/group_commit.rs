//! Group commit: writes from many requests gathered into one durable transaction.
//!
//! One writer thread takes every write job waiting in its queue, runs them one after another in a
//! single redb write transaction (each sees the writes of those before it, exactly as if they had
//! run alone in that order), commits once — one fsync for the whole batch — and only then answers
//! each caller. An answer still means durable. If any job fails inside, the whole batch is
//! discarded and every caller in it is told to try again. After an I/O error (a full disk) the
//! next batch's write transaction reopens the data file once a write can succeed again, so the
//! writer recovers without a restart.

use std::marker::PhantomData;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::Store;
use super::raw::WriteTx;
use crate::store::{StoreError, Writes};

/// The most jobs one transaction carries.
const MAX_BATCH: usize = 512;

/// A write waiting for its batch.
trait Pending: Send {
    /// Runs the work in the shared transaction; `false` when it failed and the batch must go.
    fn run(&mut self, tx: &dyn Writes) -> bool;
    /// Answers the caller: the work's result if the batch committed, else why not.
    fn deliver(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct Work<T, E, F> {
    work: Option<F>,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Pending for Work<T, E, F>
where
    T: Send,
    E: From<StoreError> + Send,
    F: FnOnce(&dyn Writes) -> Result<T, E> + Send,
{
    fn run(&mut self, tx: &dyn Writes) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(self: Box<Self>, committed: Result<(), &StoreError>) {
        let answer = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Writer("a write job did not run").into()),
            (Err(e), _) => Err(duplicate(e).into()),
        };
        let _ = self.reply.send(answer);
    }
}

/// The same error again, for the next caller of a failed batch.
fn duplicate(e: &StoreError) -> StoreError {
    let io = |source: &std::io::Error| std::io::Error::new(source.kind(), source.to_string());
    match e {
        StoreError::AlreadyOpen { path } => StoreError::AlreadyOpen { path: path.clone() },
        StoreError::NewerSchema {
            place,
            found,
            supported,
        } => StoreError::NewerSchema {
            place: place.clone(),
            found: *found,
            supported: *supported,
        },
        StoreError::CreateDir { path, source } => StoreError::CreateDir {
            path: path.clone(),
            source: io(source),
        },
        StoreError::CreateFile { path, source } => StoreError::CreateFile {
            path: path.clone(),
            source: io(source),
        },
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Exists(m) => StoreError::Exists(m.clone()),
        StoreError::NotEmpty(m, t) => StoreError::NotEmpty(m.clone(), t),
        StoreError::CopyMismatch(m) => StoreError::CopyMismatch(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Unreachable(m) => StoreError::Unreachable(m.clone()),
        StoreError::BatchDiscarded => StoreError::BatchDiscarded,
        StoreError::Writer(m) => StoreError::Writer(m),
        StoreError::Db(m) => StoreError::Db(m.clone()),
    }
}

/// The handle to the writer thread: jobs sent through it share durable commits. `E` is the
/// error type of the jobs (the service's), which store errors convert into.
#[derive(Debug)]
pub struct GroupCommit<E> {
    queue: mpsc::Sender<Box<dyn Pending>>,
    error: PhantomData<fn() -> E>,
}

impl<E> Clone for GroupCommit<E> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
            error: PhantomData,
        }
    }
}

impl<E: From<StoreError> + Send + 'static> GroupCommit<E> {
    /// Starts the writer thread for `store`. It ends when every handle is dropped.
    pub fn start(store: Store) -> GroupCommit<E> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Pending>>();
        let spawned = std::thread::Builder::new()
            .name("latchkey-writer".into())
            .spawn(move || writer(store, jobs));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the writer thread");
        }
        GroupCommit {
            queue,
            error: PhantomData,
        }
    }

    /// Runs `work` in the next batch and returns its result once the batch is durable. An `Err`
    /// from `work` discards the whole batch.
    pub async fn run<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Writes) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Work {
            work: Some(work),
            result: None,
            reply,
        });
        self.queue
            .send(job)
            .map_err(|_| StoreError::Writer("the writer thread has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::Writer("the writer thread dropped a job"))?
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
        let started = std::time::Instant::now();
        let outcome = run_batch(&store, &mut batch);
        crate::metrics::commit(batch.len(), started.elapsed().as_secs_f64());
        for job in batch {
            job.deliver(outcome.as_ref().map(|_| ()));
        }
    }
}

fn run_batch(store: &Store, batch: &mut [Box<dyn Pending>]) -> Result<(), StoreError> {
    let tx = WriteTx(store.begin_write()?);
    for job in batch.iter_mut() {
        if !job.run(&tx) {
            return Err(StoreError::BatchDiscarded);
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SetupTokenRecord;

    #[tokio::test]
    async fn concurrent_jobs_each_get_their_own_answer_after_the_commit() {
        let store = Store::in_memory().unwrap();
        let writer = GroupCommit::<StoreError>::start(store.clone());
        let mut handles = Vec::new();
        for i in 0..50u64 {
            let w = writer.clone();
            handles.push(tokio::spawn(async move {
                w.run(move |tx| -> Result<u64, StoreError> {
                    tx.put_setup_token(
                        &format!("t{i}"),
                        &SetupTokenRecord {
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
        let stored = store
            .read(|tx| {
                (0..50)
                    .map(|i| tx.setup_token(&format!("t{i}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        assert!(stored.iter().all(Option::is_some));
    }

    #[tokio::test]
    async fn a_failing_job_discards_its_batch_and_says_so() {
        let store = Store::in_memory().unwrap();
        let writer = GroupCommit::<StoreError>::start(store.clone());
        let failed = writer
            .run(|tx| -> Result<(), StoreError> {
                tx.put_setup_token(
                    "x",
                    &SetupTokenRecord {
                        expires_at: crate::domain::Timestamp(1),
                    },
                )?;
                Err(StoreError::Corrupt("boom".into()))
            })
            .await;
        assert!(matches!(failed, Err(StoreError::BatchDiscarded)));
        assert!(store.read(|tx| tx.setup_token("x")).unwrap().is_none());
    }
}
