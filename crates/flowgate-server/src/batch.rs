//! Concurrent requests share the sentence encoder: a dedicated thread takes whatever texts
//! are waiting (up to a batch) and embeds them together, which is where the throughput under
//! load comes from.

use flowgate_demand::Encoder;
use tokio::sync::{mpsc, oneshot};

type Job = (String, oneshot::Sender<Result<Vec<f32>, String>>);

/// Runs this thread (and the threads it starts: the encoder's per-batch threads inherit it)
/// at nice 10, below the HTTP runtime: the encoder can keep both cores busy, and a request
/// that only needs a moment (a webhook's acknowledgement, a read) should not wait behind it.
/// The encoder still gets every cycle nothing else wants.
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
    pub fn start(encoder: Encoder, max_batch: usize) -> Batcher {
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
