//! The serverless HTTP SQL API: `POST /psdb.v1alpha1.Database/{Execute,CreateSession,
//! CloseSession}` as PlanetScale serves them to `@planetscale/database` (and so to
//! `kysely-planetscale` and Prisma's PlanetScale adapter), authenticated with a branch
//! password in `Authorization: Basic`.
//!
//! It has a listener of its own, whose address is the passwords' `access_host_url`:
//! HTTPS with the edge's certificate, or HTTP in clear where the edge allows insecure
//! transport (see `crate::detect`). Each statement runs through an in-process edge session
//! ([`sessions`]), so routing, pooling, roles, limits, safe migrations, cutover holds and
//! statistics are the MySQL listener's own.

mod memory;
mod result;
mod sessions;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::Shared;
use crate::auth::{NativeHash, NativeKey};
use crate::error::EdgeError;
use crate::packet::Io;
use crate::routes::CredentialRoute;
pub(crate) use sessions::Sessions;
use sessions::{Link, Slot, Token};
use wire::{CloseSessionResponse, CreateSessionResponse, ExecuteResponse, User};

/// The largest request body: a statement up to MariaDB's largest packet, hex-encoded
/// binary values included.
const MAX_BODY: usize = 64 << 20;
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

const EXECUTE: &str = "/psdb.v1alpha1.Database/Execute";
const CREATE_SESSION: &str = "/psdb.v1alpha1.Database/CreateSession";
const CLOSE_SESSION: &str = "/psdb.v1alpha1.Database/CloseSession";

/// What the HTTP API refuses a request for (SQL errors are answers, not these).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("invalid auth credentials")]
    Unauthenticated,
    #[error("this server requires TLS: use https://")]
    InsecureTransport,
    #[error("the password has expired")]
    PasswordExpired,
    #[error("{0}")]
    BadRequest(String),
    #[error("no such procedure: {0}")]
    NotFound(String),
    #[error("the session was not issued to this user by this server")]
    SessionInvalid,
    #[error("session {0} is serving another request; a session runs one statement at a time")]
    SessionBusy(String),
    #[error("too many open HTTP sessions; retry later")]
    TooManySessions,
    #[error("the session ended unexpectedly; retry")]
    SessionLost,
    #[error("{0}")]
    Edge(EdgeError),
}

impl HttpError {
    /// The HTTP status and the Connect-style code, in one place.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            HttpError::Unauthenticated | HttpError::PasswordExpired => {
                (StatusCode::UNAUTHORIZED, "unauthenticated")
            }
            HttpError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_argument"),
            HttpError::NotFound(_) => (StatusCode::NOT_FOUND, "unimplemented"),
            HttpError::SessionInvalid | HttpError::InsecureTransport => {
                (StatusCode::FORBIDDEN, "permission_denied")
            }
            HttpError::SessionBusy(_) => (StatusCode::CONFLICT, "aborted"),
            HttpError::TooManySessions => (StatusCode::TOO_MANY_REQUESTS, "resource_exhausted"),
            HttpError::SessionLost => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            HttpError::Edge(EdgeError::TooManyConnections | EdgeError::PoolExhausted) => {
                (StatusCode::TOO_MANY_REQUESTS, "resource_exhausted")
            }
            HttpError::Edge(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    /// The body: Connect's `code`/`message`, and the same under `error`, which is where
    /// `@planetscale/database` reads it.
    fn response(&self) -> Response<Full<Bytes>> {
        let (status, code) = self.status_and_code();
        let message = match self {
            // The edge's own message is safe to show; I/O details are not.
            HttpError::Edge(error) => error.to_mysql().2,
            other => other.to_string(),
        };
        let error = json!({"code": code, "message": message});
        json_response(
            status,
            &json!({"code": code, "message": message, "error": error}),
        )
    }
}

/// Serves HTTP/1.1 on an accepted connection (TLS already accepted when `tls`).
pub(crate) async fn serve_connection(
    shared: Arc<Shared>,
    io: Box<dyn Io>,
    peer: SocketAddr,
    tls: bool,
) {
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move {
            let response = handle(&shared, request, peer, tls)
                .await
                .unwrap_or_else(|error| {
                    crate::metrics::http_request("refused");
                    error.response()
                });
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "edge HTTP connection ended");
    }
}

async fn handle(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    peer: SocketAddr,
    tls: bool,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let path = request.uri().path().to_string();
    if ![EXECUTE, CREATE_SESSION, CLOSE_SESSION].contains(&path.as_str()) {
        return Err(HttpError::NotFound(path));
    }
    if !tls && shared.config.require_secure_transport {
        return Err(HttpError::InsecureTransport);
    }
    if request.method() != Method::POST {
        return Err(HttpError::BadRequest(format!("{path} takes POST")));
    }
    let (credential, key) = authenticate(shared, request.headers().get(AUTHORIZATION))?;
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|error| HttpError::BadRequest(format!("reading the request body: {error}")))?
        .to_bytes();
    let context = Context {
        shared,
        credential,
        key,
        peer,
        tls,
    };
    let response = match path.as_str() {
        EXECUTE => context.execute(parse(&body)?).await?,
        CREATE_SESSION => context.create_session(),
        _ => context.close_session(parse(&body)?)?,
    };
    crate::metrics::http_request("ok");
    Ok(response)
}

/// A request body; an empty one is `{}`.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|error| HttpError::BadRequest(format!("the request body is not valid: {error}")))
}

/// `Basic base64(username:password)` checked against the route table, in constant time.
fn authenticate(
    shared: &Shared,
    header: Option<&HeaderValue>,
) -> Result<(Arc<CredentialRoute>, NativeKey), HttpError> {
    let encoded = header
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .ok_or(HttpError::Unauthenticated)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| HttpError::Unauthenticated)?;
    let text = String::from_utf8(decoded).map_err(|_| HttpError::Unauthenticated)?;
    let (username, password) = text.split_once(':').ok_or(HttpError::Unauthenticated)?;
    let routes = shared.routes.load();
    let credential = routes
        .credential(username)
        .cloned()
        .ok_or(HttpError::Unauthenticated)?;
    let key = NativeKey::of_password(password.as_bytes());
    let NativeHash(expected) = credential.hash;
    if !bool::from(key.hash().0.ct_eq(&expected)) {
        return Err(HttpError::Unauthenticated);
    }
    if credential
        .expires_at
        .is_some_and(|expires| expires <= std::time::SystemTime::now())
    {
        return Err(HttpError::PasswordExpired);
    }
    Ok((credential, key))
}

/// One authenticated request.
struct Context<'a> {
    shared: &'a Arc<Shared>,
    credential: Arc<CredentialRoute>,
    key: NativeKey,
    peer: SocketAddr,
    tls: bool,
}

impl Context<'_> {
    fn username(&self) -> &str {
        &self.credential.username
    }

    fn sign(&self, token: &Token) -> Value {
        self.shared
            .http_sessions
            .sign(token, self.username(), &self.credential.branch.logical_name)
    }

    async fn execute(
        &self,
        request: wire::ExecuteRequest,
    ) -> Result<Response<Full<Bytes>>, HttpError> {
        let sessions = &self.shared.http_sessions;
        let token = match request.session.as_ref().filter(|value| !value.is_null()) {
            Some(value) => Some(sessions.verify(value, self.username())?),
            None => None,
        };
        let id = token
            .as_ref()
            .map_or_else(Sessions::new_id, |token| token.id.clone());
        let slot = match sessions.get(&id) {
            Some(slot) if slot.username == self.username() => slot,
            Some(_) => return Err(HttpError::SessionInvalid),
            None if token.as_ref().is_some_and(|token| token.in_transaction) => {
                return Ok(self.transaction_gone(id));
            }
            None => {
                sessions.make_room()?;
                let link = match sessions.spare(&self.credential) {
                    Some(link) => link,
                    None => Link::open(
                        self.shared,
                        self.credential.clone(),
                        self.key,
                        self.peer,
                        self.tls,
                    )?,
                };
                Slot::new(self.username(), link)
            }
        };
        let mut link = slot
            .link
            .try_lock()
            .map_err(|_| HttpError::SessionBusy(id.clone()))?;
        let started = Instant::now();
        let outcome = link.execute(request.query.as_bytes()).await;
        let timing = started.elapsed().as_secs_f64();
        drop(link);
        let (answer, holds) = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                sessions.remove(&id);
                return Err(HttpError::SessionLost);
            }
        };
        sessions.settle(&id, slot, holds.state);
        let token = Token {
            id,
            in_transaction: holds.transaction,
        };
        let (result, error) = match answer {
            Ok(result) => (Some(result), None),
            Err(error) => (None, Some(result::rpc_error(&error))),
        };
        Ok(json_response(
            StatusCode::OK,
            &ExecuteResponse {
                session: self.sign(&token),
                result,
                error,
                timing,
            },
        ))
    }

    /// A token from a transaction whose session idled out: the client learns it was
    /// rolled back, with a fresh token to go on with.
    fn transaction_gone(&self, id: String) -> Response<Full<Bytes>> {
        let idle = self.shared.http_sessions.idle.as_secs();
        let token = Token {
            id,
            in_transaction: false,
        };
        json_response(
            StatusCode::OK,
            &ExecuteResponse {
                session: self.sign(&token),
                result: None,
                error: Some(wire::RpcError {
                    code: "ABORTED",
                    message: format!(
                        "Connection was killed: the session's transaction was rolled back after {idle} s idle (errno 1927) (sqlstate 70100)"
                    ),
                }),
                timing: 0.0,
            },
        )
    }

    fn create_session(&self) -> Response<Full<Bytes>> {
        let token = Token {
            id: Sessions::new_id(),
            in_transaction: false,
        };
        json_response(
            StatusCode::OK,
            &CreateSessionResponse {
                branch: self.credential.branch.branch_id.clone(),
                user: User {
                    username: self.username().to_string(),
                    role: self.credential.role.as_str().to_string(),
                },
                session: self.sign(&token),
            },
        )
    }

    fn close_session(
        &self,
        request: wire::SessionRequest,
    ) -> Result<Response<Full<Bytes>>, HttpError> {
        let sessions = &self.shared.http_sessions;
        let id = match request.session.as_ref().filter(|value| !value.is_null()) {
            Some(value) => sessions.verify(value, self.username())?.id,
            None => Sessions::new_id(),
        };
        sessions.remove(&id);
        let token = Token {
            id: Sessions::new_id(),
            in_transaction: false,
        };
        Ok(json_response(
            StatusCode::OK,
            &CloseSessionResponse {
                session: self.sign(&token),
            },
        ))
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
