//! The service in process: the application service with a stub embedder and a small
//! fixture model trained for it, served on 127.0.0.1:0 over a fresh SQLite or PostgreSQL
//! database, called over real HTTP. Process-level behaviour (SIGKILL, SIGTERM, two servers,
//! the browser) is tested with the binary, in the `flowgate` crate.

mod api;
mod fixture;
mod openapi;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use flowgate_app::Service;
use flowgate_app::service::{Options, Parts, PolicyFile};
use flowgate_store::Store;
use serde_json::Value;
use sqlx::Connection;

static N: AtomicU32 = AtomicU32::new(0);

fn pg_admin_url() -> String {
    std::env::var("FLOWGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Which database a test app runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running service: its address, a token per role, and what it runs on. Stopped (and its
/// database removed) when dropped.
pub struct TestApp {
    pub base: String,
    pub tokens: std::collections::BTreeMap<&'static str, String>,
    pub backend: Backend,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<std::sync::mpsc::Receiver<()>>,
    db_url: String,
    pg_name: Option<String>,
    dir: std::path::PathBuf,
}

pub const ROLES: [&str; 4] = ["admin", "reviewer", "viewer", "ingest"];

/// The service on port 0 over a fresh database of `backend`, with the fixture model, its
/// knowledge base and policy, and one token per role.
pub fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            shadow_reviews: true,
            ..Options::default()
        },
    )
}

/// A standard-webhooks source every test app has, named `zendesk`, with this secret.
pub const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn spawn_app_with(backend: Backend, opts: Options) -> TestApp {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("flowgate-server-it-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (db_url, pg_name) = match backend {
        Backend::Sqlite => (dir.join("flowgate.db").display().to_string(), None),
        Backend::Postgres => {
            let name = format!("fg_srv_{}_{n}", std::process::id());
            let admin = pg_admin_url();
            rt.block_on(async {
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL must answer at {admin} for these tests: {e}")
                    });
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
            });
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
            (format!("{base}/{name}"), Some(name))
        }
    };
    let fx = fixture::get();
    let mut tokens = std::collections::BTreeMap::new();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done) = std::sync::mpsc::channel();
    let store = rt.block_on(async {
        let store = Store::open(&db_url).await.unwrap();
        store.migrate().await.unwrap();
        for role in ROLES {
            let token = flowgate_server::auth::new_token();
            store
                .token_create(
                    &format!("{role}-1"),
                    role,
                    &flowgate_server::auth::token_sha256(&token),
                    "test",
                    0,
                )
                .await
                .unwrap();
            tokens.insert(role, token);
        }
        store
    });
    let parts = Parts {
        store,
        model: fx.model(),
        kb: Some(fx.kb()),
        embedder: Arc::new(fixture::embedder()),
        policy: Some(PolicyFile {
            text: fixture::POLICY.to_owned(),
            origin: "fixture policy".into(),
        }),
    };
    let mut config = flowgate_server::Config::new(db_url.clone(), "unused".into(), None);
    config.workers = 1;
    config.compact_every = None;
    config.webhooks.insert(
        "zendesk".into(),
        flowgate_server::webhook::WebhookSource {
            scheme: flowgate_server::webhook::Scheme::StandardWebhooks,
            secrets: vec![HOOK_SECRET.into()],
            callback: None,
        },
    );
    rt.spawn(async move {
        let service = Service::start(parts, opts).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = flowgate_server::run(
            Arc::new(service),
            &config,
            listener,
            move |a| addr_tx.send(a).unwrap(),
            async move {
                let _ = stopped.await;
            },
        )
        .await;
        r.unwrap();
        let _ = done_tx.send(());
    });
    let addr = addr_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the service starts");
    TestApp {
        base: format!("http://{addr}"),
        tokens,
        backend,
        rt: Some(rt),
        stop: Some(stop),
        done: Some(done),
        db_url,
        pg_name,
        dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.recv_timeout(std::time::Duration::from_secs(30));
        }
        if let Some(rt) = self.rt.take() {
            if let Some(name) = self.pg_name.take() {
                let admin = pg_admin_url();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            }
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An answer: status, content type, body as JSON (`Null` when it is not JSON), headers.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub json: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a problem document with this status and slug.
    #[track_caller]
    pub fn problem(&self, status: u16, slug: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "{} {}",
            self.content_type,
            self.text
        );
        assert_eq!(
            self.json["type"],
            format!("urn:flowgate:problem:{slug}"),
            "{}",
            self.text
        );
        assert_eq!(self.json["status"], status);
        assert!(self.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

impl TestApp {
    pub fn token(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `method path` with `role`'s token (none: no Authorization) and a JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        role: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        self.raw(
            method,
            path,
            role.map(|r| self.token(r).to_owned()),
            body.map(|b| ("application/json", b.to_string())),
        )
    }

    /// Delivers `body` to `/v1/webhooks/zendesk`, signed as a Standard Webhook.
    pub fn deliver(&self, id: &str, body: &Value) -> Answer {
        let body = body.to_string();
        let ts = jiff::Timestamp::now().as_second();
        let sig =
            flowgate_server::webhook::standard_signature(HOOK_SECRET, id, ts, body.as_bytes())
                .unwrap();
        self.send(
            "POST",
            "/v1/webhooks/zendesk",
            &[
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", sig),
            ],
            None,
            Some(("application/json", body)),
        )
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<String>,
        body: Option<(&str, String)>,
    ) -> Answer {
        self.send(method, path, &[], token, body)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        token: Option<String>,
        body: Option<(&str, String)>,
    ) -> Answer {
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(60))
            .build();
        let mut req = agent.request(method, &self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let r = match body {
            Some((ct, b)) => req.set("Content-Type", ct).send_string(&b),
            None => req.call(),
        };
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_owned())))
            .collect();
        let content_type = resp.header("content-type").unwrap_or("").to_owned();
        let text = resp.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            json,
            text,
            headers,
        }
    }

    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    /// Revokes token `name` in the app's database.
    pub fn revoke(&self, name: &str) {
        let url = self.db_url.clone();
        let name = name.to_owned();
        self.rt.as_ref().unwrap().block_on(async move {
            let store = Store::open(&url).await.unwrap();
            store.token_revoke(&name, "test", 1).await.unwrap();
            store.close().await;
        });
    }
}
