//! The password-hashing pool: a fixed set of threads (one fewer than the cores, at least one) that
//! run argon2.
//!
//! argon2id here uses 19 MiB per hash. On tokio's blocking pool every one of up to hundreds of
//! threads would keep that buffer in its own allocator arena after use (a login flood measured
//! over 1 GB resident); a fixed pool bounds it to one buffer per thread, and bounds how much CPU a
//! flood of logins can take from the rest of the server. Callers wait in the queue, not on a
//! thread. The threads run at the lowest normal priority, so that other requests come first.

use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

use super::ServiceError;

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the hashing threads.
#[derive(Debug, Clone)]
pub struct HashPool {
    queue: mpsc::Sender<Job>,
}

impl HashPool {
    /// Starts `threads` hashing threads; they end when every handle is dropped.
    pub fn start(threads: usize) -> HashPool {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("latchkey-hash-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match jobs.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a hashing thread");
            }
        }
        HashPool { queue }
    }

    /// Queues `work` on a hashing thread without waiting for it.
    pub fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        if self.queue.send(timed(Box::new(work))).is_err() {
            tracing::error!("the hashing pool has stopped");
        }
    }

    /// Runs `work` on a hashing thread and waits for its result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        self.queue
            .send(timed(job))
            .map_err(|_| ServiceError::Internal("the hashing pool has stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Internal("a hashing thread dropped a job".into()))
    }
}

/// `job`, counted into the queue-depth gauge now and out of it, with its wait, when a thread
/// starts it (nothing when metrics are off).
fn timed(job: Job) -> Job {
    if !crate::metrics::enabled() {
        return job;
    }
    let queued = std::time::Instant::now();
    crate::metrics::hashing_queued();
    Box::new(move || {
        crate::metrics::hashing_started(queued.elapsed().as_secs_f64());
        job();
    })
}

/// Gives the calling (hashing) thread the lowest priority of the normal scheduling policy (nice
/// 19): it still takes every idle cycle, but a login flood yields the CPU to the requests that
/// need little of it. Lowering a priority needs no privilege; if the system refuses anyway, the
/// thread runs at normal priority.
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let lowered = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
    );
    if let Err(e) = lowered {
        tracing::warn!(error = ?e, "cannot lower the priority of a hashing thread");
    }
}
