//! Building the service from [`Config`], serving it, and stopping it.

use std::net::SocketAddr;
use std::sync::Arc;

use flowgate_app::Service;
use flowgate_app::service::{Parts, PolicyFile};
use flowgate_store::Store;

use crate::{AppState, Config, Error};

/// Loads everything (store migrated, model, policy resolved against held-out and reviewed
/// evidence, knowledge base, the sentence encoder), then [`run`]s until `shutdown`
/// resolves.
pub async fn serve(
    config: Config,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let store = Store::open(&config.db_url).await?;
    store.migrate().await?;
    let model = flowgate_demand::IntentModel::load(&config.model)?;
    let policy = match &config.policy {
        Some(path) => Some(PolicyFile {
            text: std::fs::read_to_string(path).map_err(|e| flowgate_gate::PolicyError::Read {
                path: path.display().to_string(),
                problem: e.to_string(),
            })?,
            origin: path.display().to_string(),
        }),
        None => None,
    };
    let kb = config
        .kb
        .as_deref()
        .map(flowgate_kb::Kb::open)
        .transpose()?;
    let encoder =
        flowgate_demand::Encoder::load(&flowgate_demand::model_files::default_model_dir()?)?;
    let parts = Parts {
        store,
        model,
        kb,
        embedder: Arc::new(encoder),
        policy,
    };
    let service = Service::start(parts, config.service_options()).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    run(Arc::new(service), &config, listener, on_listen, shutdown).await
}

/// Serves `service` on `listener` with its background work (inbox workers, figures,
/// compaction, callbacks), calls `on_listen` with the bound address, and serves until
/// `shutdown` resolves: then it stops accepting, finishes requests in flight, lets each
/// worker finish the delivery it holds (one it did not finish is claimed again after a
/// restart) and closes the store.
pub async fn run(
    service: Arc<Service>,
    config: &Config,
    listener: tokio::net::TcpListener,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let workers = service.spawn_workers(config.workers, config.compact_every);
    let state = Arc::new(AppState {
        app: service.clone(),
        limits: crate::auth::RateLimit::new(config.rate_per_minute),
        metrics: Default::default(),
        timeout: config.request_timeout,
        webhooks: config.webhooks.clone(),
    });
    on_listen(listener.local_addr()?);
    let stopper = workers.stopper();
    let draining = async move {
        shutdown.await;
        stopper.stop();
    };
    axum::serve(
        listener,
        crate::api::router(state, config.body_limit, config.version),
    )
    .with_graceful_shutdown(draining)
    .await?;
    workers.join().await;
    service.close().await;
    Ok(())
}
