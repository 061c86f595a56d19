//! Page sign-in: a token (`flowgate token create`) exchanged for a session. The cookie
//! holds a random id (HttpOnly, SameSite=Strict, Secure behind TLS), the store keeps its
//! SHA-256 and the role is the token's, read at every request. Every form carries the
//! session's CSRF secret (the sign-in form a double-submit cookie's), compared in constant
//! time.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};
use serde::Deserialize;

use crate::auth::{Need, allows, hex, token_sha256};
use crate::pages::{Page, PageError, head};
use crate::{AppState, Shared};

const SESSION_COOKIE: &str = "fg_session";
const LOGIN_COOKIE: &str = "fg_login";
/// How long a sign-in lasts.
const SESSION_MS: i64 = 12 * 3600 * 1000;

/// The signed-in person.
pub struct Person {
    pub name: String,
    pub role: String,
    pub csrf: String,
}

impl Person {
    pub fn may(&self, need: Need) -> bool {
        allows(&self.role, need)
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request reached us over TLS (a reverse proxy in front says so).
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if behind_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex(&b)
}

/// Constant-time equality of two secrets.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn person(s: &AppState, headers: &HeaderMap) -> Result<Person, PageError> {
    let id = cookie(headers, SESSION_COOKIE).ok_or(PageError::SignIn)?;
    let found = s.app.session(&token_sha256(id)).await?;
    let session = found.ok_or(PageError::SignIn)?;
    if session.role == "ingest" {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "an ingest token may not use the pages".into(),
        ));
    }
    Ok(Person {
        name: session.token_name,
        role: session.role,
        csrf: session.csrf,
    })
}

pub fn require(p: &Person, need: Need) -> Result<(), PageError> {
    if p.may(need) {
        Ok(())
    } else {
        Err(PageError::Status(
            StatusCode::FORBIDDEN,
            format!("{} has role {}, which may not do this", p.name, p.role),
        ))
    }
}

pub fn check_csrf(p: &Person, sent: &str) -> Result<(), PageError> {
    if same_secret(&p.csrf, sent) {
        Ok(())
    } else {
        Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "the form is stale or from another site; reload the page and try again".into(),
        ))
    }
}

// ---- sign-in -------------------------------------------------------------------------------

pub async fn login_form(headers: HeaderMap) -> Response {
    let csrf = random_hex();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head("Sign in")) }
            body.signin {
                main {
                    h1 { "Sign in to flowgate" }
                    form method="post" action="/ui/login" {
                        label for="token" { "Token" }
                        input #token type="password" name="token" autocomplete="off" required
                            aria-describedby="token-help";
                        p #token-help { "A token from " code { "flowgate token create" } "." }
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    let mut r = Html(page.into_string()).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, &csrf, 600),
    );
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: String,
}

pub async fn login(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Page {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(expected, &f.csrf) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "the sign-in form is stale or from another site; reload it and try again".into(),
        ));
    }
    let found = s.app.token(&token_sha256(f.token.trim())).await?;
    let Some((name, role)) = found else {
        return Err(PageError::Status(
            StatusCode::UNAUTHORIZED,
            "the token is unknown or revoked".into(),
        ));
    };
    if role == "ingest" {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "an ingest token may not use the pages".into(),
        ));
    }
    let id = random_hex();
    s.app
        .session_start(
            &token_sha256(&id),
            &name,
            &random_hex(),
            crate::now_ms() + SESSION_MS,
        )
        .await?;
    tracing::info!(token = %name, "signed in to the pages");
    let mut r = Redirect::to("/ui/").into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &id, SESSION_MS / 1000),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&headers, LOGIN_COOKIE, "", 0),
    );
    Ok(r)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        s.app.session_end(&token_sha256(id)).await?;
    }
    let mut r = Redirect::to("/ui/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; fg_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "fg"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_behind_tls() {
        let mut h = HeaderMap::new();
        let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
        let c = c.to_str().unwrap();
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(!c.contains("Secure"), "{c}");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let c = set_cookie(&h, SESSION_COOKIE, "x", 60);
        assert!(c.to_str().unwrap().ends_with("; Secure"));
    }
}
