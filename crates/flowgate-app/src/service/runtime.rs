//! The CPU work of a decision runs on threads of its own, below the HTTP runtime's priority:
//! concurrent requests share the sentence encoder (a dedicated thread takes whatever texts
//! are waiting, up to a batch, and embeds them together, which is where the throughput under
//! load comes from), and the rest of triage (classification head, out-of-scope scan,
//! knowledge-base search) runs on a small pool. The runtime's threads are left to answer
//! what only needs a moment: a webhook's acknowledgement, a read.

use std::sync::Arc;

use flowgate_demand::Embed;
use tokio::sync::{mpsc, oneshot};

type Job = (String, oneshot::Sender<Result<Vec<f32>, String>>);

/// Runs this thread (and the threads it starts: the encoder's per-batch threads inherit it)
/// at nice 10, below the HTTP runtime: the encoder and triage can keep both cores busy, and
/// a request that only needs a moment (a webhook's acknowledgement, a read) should not wait
/// behind them. They still get every cycle nothing else wants.
#[allow(unsafe_code)]
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes the calling thread's
        // nice value only (Linux threads have their own); no memory is touched.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        if r != 0 {
            tracing::debug!("could not lower the encoder thread's priority");
        }
    }
}

/// A handle to the encoder thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub fn start(encoder: Arc<dyn Embed>, max_batch: usize) -> Batcher {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("flowgate-encoder".into())
            .spawn(move || {
                lower_priority();
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < max_batch.max(1) {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let texts: Vec<&str> = jobs.iter().map(|j| j.0.as_str()).collect();
                    match encoder.embed(&texts) {
                        Ok(embs) => {
                            for (j, e) in jobs.into_iter().zip(embs) {
                                let _ = j.1.send(Ok(e));
                            }
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            for j in jobs {
                                let _ = j.1.send(Err(msg.clone()));
                            }
                        }
                    }
                }
            })
            .expect("spawning the encoder thread");
        Batcher { tx }
    }

    /// The text's embedding.
    pub async fn embed(&self, text: String) -> Result<Vec<f32>, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((text, tx))
            .await
            .map_err(|_| "the encoder stopped".to_owned())?;
        rx.await.map_err(|_| "the encoder stopped".to_owned())?
    }
}

type Task = Box<dyn FnOnce() + Send>;

/// A few threads at the encoder's priority that run CPU-bound closures for async callers.
#[derive(Clone)]
pub struct CpuPool {
    tx: std::sync::mpsc::Sender<Task>,
}

impl CpuPool {
    pub fn start(threads: usize) -> CpuPool {
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("flowgate-triage-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next task.
                        let task = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match task {
                            Ok(t) => t(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawning a triage thread");
        }
        CpuPool { tx }
    }

    /// `f`'s result, computed on the pool.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| "the triage threads stopped".to_owned())?;
        rx.await
            .map_err(|_| "a triage thread stopped mid-task".to_owned())
    }
}
