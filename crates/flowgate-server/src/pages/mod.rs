//! The team's screens, served by the same process as the API: server-rendered pages (maud),
//! one embedded style sheet and one embedded script, nothing from another origin.
//!
//! Sign-in exchanges a token (`flowgate token create`) for a session: the cookie holds a
//! random id (HttpOnly, SameSite=Strict, Secure behind TLS), the store keeps its SHA-256 and
//! the role is the token's, read at every request. Every form carries the session's CSRF
//! secret (the sign-in form a double-submit cookie's), compared in constant time. Roles as in
//! the API: viewers see, reviewers also review, admins also throw kill switches.

mod controls;
mod decisions;
mod flow;
mod overview;
mod reports;
mod reviews;

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::Shared;
use crate::auth::Need;
use crate::problem::Problem;
use crate::session::{CsrfForm, Person, check_csrf, login, login_form, logout, person, require};
use controls::*;
use decisions::*;
use flow::*;
use overview::*;
use reports::*;
use reviews::*;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");
const ICON: &str = include_str!("../../assets/favicon.svg");

/// What every page answers with, besides the API's headers: scripts and styles from this
/// origin only, no framing, no referrer to other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(overview))
        .route("/ui/login", get(login_form).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/decisions", get(decisions))
        .route("/ui/decisions/{seq}", get(decision))
        .route("/ui/reviews", get(reviews))
        .route("/ui/reviews/claim", post(claim))
        .route("/ui/reviews/{seq}", get(review).post(mark))
        .route("/ui/controls", get(controls))
        .route("/ui/defects", get(defects))
        .route("/ui/defects.md", get(defects_markdown))
        .route("/ui/defects/threshold", post(apply_threshold))
        .route("/ui/governance", get(governance))
        .route("/ui/governance.md", get(governance_markdown))
        .route("/ui/governance.json", get(governance_json))
        .route("/ui/controls/kill-switch", post(kill_switch))
        .route("/ui/flow", get(flow))
        .route("/ui/whatif", get(whatif_form).post(whatif_run))
        .route("/ui/pilot", get(pilot_page))
        .route("/ui/assets/app.css", get(|| asset("text/css", CSS)))
        .route("/ui/assets/app.js", get(|| asset("text/javascript", JS)))
        .route(
            "/ui/assets/favicon.svg",
            get(|| asset("image/svg+xml", ICON)),
        )
        .layer(middleware::from_fn(security_headers))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// A page's failure: a redirect to sign in, or an HTML page with the status.
pub enum PageError {
    SignIn,
    Status(StatusCode, String),
}

impl From<Problem> for PageError {
    fn from(p: Problem) -> PageError {
        PageError::Status(p.status, p.detail)
    }
}

impl From<flowgate_app::Error> for PageError {
    fn from(e: flowgate_app::Error) -> PageError {
        PageError::from(Problem::from(e))
    }
}

impl From<flowgate_store::StoreError> for PageError {
    fn from(e: flowgate_store::StoreError) -> PageError {
        PageError::from(Problem::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/ui/login").into_response(),
            PageError::Status(status, detail) => {
                let title = status.canonical_reason().unwrap_or("Error");
                let body = html! {
                    (DOCTYPE)
                    html lang="en" { head { (head(title)) } body {
                        main { h1 { (status.as_u16()) " " (title) } p role="alert" { (detail) }
                               p { a href="/ui/" { "Back to the overview" } } }
                    } }
                };
                (status, Html(body.into_string())).into_response()
            }
        }
    }
}

/// A number to `digits` decimals, or "–".
fn fnum(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

/// A share as a percentage to one decimal.
fn fpct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub type Page = Result<Response, PageError>;
pub fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · flowgate" }
        link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml";
        link rel="stylesheet" href="/ui/assets/app.css";
        script src="/ui/assets/app.js" defer {}
    }
}

fn layout(p: &Person, title: &str, here: &str, body: Markup) -> Response {
    let nav = [
        ("/ui/", "Overview"),
        ("/ui/decisions", "Decisions"),
        ("/ui/reviews", "Review queue"),
        ("/ui/defects", "Defect review"),
        ("/ui/flow", "Flow"),
        ("/ui/whatif", "What-if"),
        ("/ui/pilot", "Pilot"),
        ("/ui/controls", "Controls"),
        ("/ui/governance", "Governance"),
    ];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                header {
                    a.brand href="/ui/" { "flowgate" }
                    nav aria-label="Pages" {
                        ul { @for (href, label) in nav {
                            li { a href=(href) aria-current=[(href == here).then_some("page")] { (label) } }
                        } }
                    }
                    form.signout method="post" action="/ui/logout" {
                        span { (p.name) " (" (p.role) ")" }
                        input type="hidden" name="csrf" value=(p.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
    .into_string();
    Html(page).into_response()
}
