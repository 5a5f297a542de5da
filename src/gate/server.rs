//! The model gate on the wire: an HTTP/1.1 server Codex's forced provider points at, judging each
//! request with `wire::judge` and relaying what passes to the upstream over rustls, responses
//! streamed as they arrive. Operational logs go through `tracing`; forced and rejected models go
//! to the audit trail (`audit`), off the request's path.
//!
//! Steps of one request (`handle`):
//! 1. `GET /healthz`: answered by the gate.
//! 2. An upgrade (WebSocket) or a path outside `/v1/`: refused, nothing forwarded.
//! 3. The body read whole (up to `max_body`), its content encoding (zstd, gzip) undone.
//! 4. `wire::judge`: forward (model pinned), reject (reject mode) or refuse (deny by default).
//! 5. The upstream chosen by the login kind: a ChatGPT login's account header → the ChatGPT
//!    upstream, else the API upstream. Headers go on untouched but hop-by-hop ones and those the new
//!    body changes; `Authorization` is never logged.
//! 6. The upstream's answer relayed frame by frame; unreachable upstream → 502.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::{API_PREFIX, AUDIT_SOURCE, HEALTH_PATH, PREFIX};
use crate::audit::{self, Action, Event};
use crate::pin::attempt::{self, Attempt};
use crate::pin::policy::Policy;
use crate::pin::wire::{self, Verdict};

/// The header a ChatGPT login adds to every request (codex-rs `ChatGPT-Account-ID`).
pub const CHATGPT_ACCOUNT_HEADER: &str = "chatgpt-account-id";
pub const DEFAULT_API_UPSTREAM: &str = "https://api.openai.com/v1";
pub const DEFAULT_CHATGPT_UPSTREAM: &str = "https://chatgpt.com/backend-api/codex";
/// Long conversations send bodies of tens of MB.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024 * 1024;

/// What `serve` needs, validated by the bin.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub api_upstream: Upstream,
    pub chatgpt_upstream: Upstream,
    pub ca_file: Option<PathBuf>,
    pub max_body: usize,
}

/// An upstream base URL, e.g. `https://api.openai.com/v1`: `/v1/<rest>` goes to `<base>/<rest>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    base: String,
}

impl Upstream {
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let base = text.trim().trim_end_matches('/');
        let uri: Uri = base.parse().map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!("{text:?} is not an http:// or https:// URL"));
        }
        if uri.query().is_some() {
            return Err(format!("{text:?} has a query; give the base URL only"));
        }
        Ok(Upstream { base: base.to_owned() })
    }

    fn uri(&self, rest: &str, query: Option<&str>) -> Result<Uri, hyper::http::Error> {
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        Ok(format!("{}/{rest}{query}", self.base).parse::<Uri>()?)
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }
}

/// Why the gate could not start: see the bin's exit code table.
#[derive(Debug)]
pub enum ServeError {
    Listen { addr: SocketAddr, error: std::io::Error },
    CaFile { path: PathBuf, detail: String },
    Runtime(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Listen { addr, error } => {
                write!(f, "{PREFIX}: cannot listen on {addr}: {error}; choose a free address with --listen")
            }
            ServeError::CaFile { path, detail } => {
                write!(f, "{PREFIX}: --ca-file {}: {detail}; give a PEM file of CA certificates", path.display())
            }
            ServeError::Runtime(error) => write!(f, "{PREFIX}: cannot start the async runtime: {error}"),
        }
    }
}

type Body = BoxBody<Bytes, hyper::Error>;
type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Gate {
    policy: Policy,
    settings: Settings,
    client: UpstreamClient,
}

/// Runs the gate until SIGTERM or SIGINT, then lets requests under way finish (up to 30 s).
pub fn serve(policy: Policy, settings: Settings) -> Result<(), ServeError> {
    let client = upstream_client(settings.ca_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener =
            TcpListener::bind(settings.listen).await.map_err(|error| ServeError::Listen { addr: settings.listen, error })?;
        let local = listener.local_addr().map_err(|error| ServeError::Listen { addr: settings.listen, error })?;
        // One line on stdout once the port is open: who starts the gate on port 0 learns its address.
        println!("{PREFIX}: listening on http://{local}");
        tracing::info!(
            listen = %local, model = %policy.model, mode = policy.mode.as_str(),
            api_upstream = settings.api_upstream.as_str(), chatgpt_upstream = settings.chatgpt_upstream.as_str(),
            "{PREFIX}: serving"
        );
        let gate = Arc::new(Gate { policy, settings, client });
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut stop = std::pin::pin!(shutdown_signal());
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let gate = gate.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let gate = gate.clone();
                        async move { Ok::<_, Infallible>(gate.handle(request, peer).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%peer, %error, "connection ended with an error");
                        }
                    });
                }
                _ = &mut stop => break,
            }
        }
        tracing::info!("{PREFIX}: stopping; letting requests under way finish");
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("requests still under way after 30 s: stopped"),
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// rustls with the public roots (webpki-roots), plus the CAs of `ca_file` (tests, private upstreams).
fn upstream_client(ca_file: Option<&std::path::Path>) -> Result<UpstreamClient, ServeError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let ca_error = |detail: String| ServeError::CaFile { path: path.to_owned(), detail };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| ca_error(format!("not PEM ({e})")))?;
            roots.add(cert).map_err(|e| ca_error(format!("not a usable CA certificate ({e})")))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_error("holds no certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::CaFile { path: PathBuf::new(), detail: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector))
}

impl Gate {
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let response = self.respond(request).await;
        tracing::info!(%peer, %method, %path, status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
        response
    }

    async fn respond(&self, request: Request<Incoming>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        if path == HEALTH_PATH && parts.method == hyper::Method::GET {
            return json_response(StatusCode::OK, health_body(&self.policy));
        }
        if parts.headers.contains_key(header::UPGRADE) {
            return self.refuse(403, "upgrade_refused", format!("{} {path} asks for a protocol upgrade (WebSocket); the gate judges each HTTP request and refuses upgrades", parts.method));
        }
        let Some(rest) = path.strip_prefix(API_PREFIX) else {
            return self.refuse(
                404,
                "unknown_path",
                format!("{} {path} is outside /v1/; Codex's provider base URL is <gate>/v1", parts.method),
            );
        };
        let rest = rest.to_owned();
        let body = match read_body(&parts.headers, body, self.settings.max_body).await {
            Ok(body) => body,
            Err((status, reason)) => return self.refuse(status, "bad_body", reason),
        };
        let query = parts.uri.query();
        let (headers, header_attempts) = pin_model_headers(&parts.headers, &self.policy.model);
        let verdict = wire::judge(&self.policy, parts.method.as_str(), &rest, query, &body, header_attempts);
        let (endpoint, query, body, forced) = match verdict {
            Verdict::Forward { endpoint, query, body, forced } => (endpoint, query, body, forced),
            Verdict::Reject { attempts } => {
                let message = reject_message(&self.policy, &attempts);
                self.report(Action::Rejected, &attempts, &path_of(&rest), &message);
                return text_response(StatusCode::BAD_REQUEST, message);
            }
            Verdict::Refuse { status, reason } => return self.refuse(status, "not_forwarded", reason),
        };
        if !forced.is_empty() {
            let message = format!(
                "{PREFIX}: warning: forced OPENCLAW_MODEL={:?} over {}",
                self.policy.model,
                attempt::list(&forced)
            );
            self.report(Action::Forced, &forced, &path_of(&rest), &message);
        }
        let chatgpt = headers.contains_key(CHATGPT_ACCOUNT_HEADER);
        let upstream = if chatgpt { &self.settings.chatgpt_upstream } else { &self.settings.api_upstream };
        let uri = match upstream.uri(endpoint.path, query.as_deref()) {
            Ok(uri) => uri,
            Err(error) => {
                return self.refuse(400, "bad_query", format!("the request's query does not make a URL ({error})"))
            }
        };
        let body = Bytes::from(body.unwrap_or_default());
        let mut outgoing = Request::builder().method(parts.method.clone()).uri(uri);
        if let Some(outgoing_headers) = outgoing.headers_mut() {
            copy_request_headers(&headers, outgoing_headers, body.len());
        }
        let outgoing = outgoing.body(Full::new(body)).expect("a request from valid parts");
        match self.client.request(outgoing).await {
            Ok(answer) => {
                let (mut answer_parts, answer_body) = answer.into_parts();
                strip_hop_by_hop(&mut answer_parts.headers);
                Response::from_parts(answer_parts, answer_body.boxed())
            }
            Err(error) => {
                let message = format!("{PREFIX}: upstream {} unreachable: {}", upstream.as_str(), error_chain(&error));
                tracing::error!(upstream = upstream.as_str(), error = %error_chain(&error), "upstream unreachable");
                json_response(StatusCode::BAD_GATEWAY, error_body("upstream_unreachable", &message))
            }
        }
    }

    fn refuse(&self, status: u16, code: &str, reason: String) -> Response<Body> {
        let message = format!("{PREFIX}: refused: {reason}");
        tracing::warn!(status, code, "{message}");
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        json_response(status, error_body(code, &message))
    }

    /// Audit records leave on a blocking thread: the request never waits for journald.
    fn report(&self, action: Action, attempts: &[Attempt], path: &str, message: &str) {
        let events: Vec<Event> = attempts
            .iter()
            .map(|attempt| {
                let mut event = Event::new(AUDIT_SOURCE, action, message);
                event.pinned_model = Some(self.policy.model.clone());
                event.lock_mode = Some(self.policy.mode.as_str());
                event.attempted = Some(attempt.attempted.clone());
                event.syntax = Some(attempt.syntax.to_owned());
                event.request_path = Some(path.to_owned());
                event
            })
            .collect();
        match action {
            Action::Rejected => tracing::warn!(path, "{message}"),
            _ => tracing::info!(path, "{message}"),
        }
        tokio::task::spawn_blocking(move || audit::report(&events));
    }
}

/// The one-line refusal codex shows for a rejected request.
pub fn reject_message(policy: &Policy, attempts: &[Attempt]) -> String {
    format!(
        "{PREFIX}: refused: OPENCLAW_MODEL_LOCK_MODE=reject and this request asks for {}; OpenClaw is pinned to {:?}: use that model",
        attempt::list(attempts),
        policy.model
    )
}

/// The body of every error the gate answers itself, in the Responses API's error shape. (A reject is
/// answered in plain text instead: codex 0.163.0 shows a 400's body verbatim and does not retry.)
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "error": {"message": message, "type": "invalid_request_error", "code": code, "param": "model"}
    }))
    .expect("a JSON value serialises")
}

fn path_of(rest: &str) -> String {
    format!("{API_PREFIX}{rest}")
}

fn health_body(policy: &Policy) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"status": "ok", "model": policy.model, "mode": policy.mode.as_str()}))
        .expect("a JSON value serialises")
}

/// The headers with the model pinned in each of `wire::MODEL_HEADERS`, and what they asked for.
fn pin_model_headers(headers: &HeaderMap, pin: &str) -> (HeaderMap, Vec<Attempt>) {
    let mut pinned = headers.clone();
    let mut attempts = Vec::new();
    for (name, kind) in wire::MODEL_HEADERS {
        let values: Vec<String> =
            pinned.get_all(*name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        pinned.remove(*name);
        for value in values {
            let value = wire::pin_header(*kind, &value, pin, &mut attempts);
            // The pin has no control characters (policy) and JSON escapes them: a valid header value.
            pinned.append(*name, HeaderValue::from_bytes(value.as_bytes()).expect("a pinned header value is valid"));
        }
    }
    (pinned, attempts)
}

/// A plain-text answer: codex 0.163.0 prints a 400's body verbatim and does not retry it.
fn text_response(status: StatusCode, message: String) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", message.into_bytes())
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    response(status, "application/json", body)
}

/// An answer the gate makes itself (never the upstream's).
fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The whole body, decoded: codex sends zstd for ChatGPT logins (gzip accepted too).
async fn read_body(headers: &HeaderMap, body: Incoming, max: usize) -> Result<Vec<u8>, (u16, String)> {
    let raw = Limited::new(body, max)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                (413, format!("the request body is larger than {max} bytes (--max-body-bytes)"))
            } else {
                (400, format!("the request body could not be read ({e})"))
            }
        })?
        .to_bytes();
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let mut decoded = Vec::new();
    let limit = max as u64 + 1;
    let result = match encoding.as_deref() {
        None | Some("" | "identity") => return Ok(raw.to_vec()),
        Some("zstd") => ruzstd::decoding::StreamingDecoder::new(raw.as_ref())
            .map_err(|e| e.to_string())
            .and_then(|d| d.take(limit).read_to_end(&mut decoded).map_err(|e| e.to_string())),
        Some("gzip") => {
            flate2::read::GzDecoder::new(raw.as_ref()).take(limit).read_to_end(&mut decoded).map_err(|e| e.to_string())
        }
        Some(other) => return Err((415, format!("content encoding {other:?} is not one codex sends (zstd, gzip)"))),
    };
    match result {
        Err(e) => Err((400, format!("the {} request body does not decode ({e})", encoding.unwrap_or_default()))),
        Ok(_) if decoded.len() > max => {
            Err((413, format!("the decoded request body is larger than {max} bytes (--max-body-bytes)")))
        }
        Ok(_) => Ok(decoded),
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) end at the gate.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|n| n.trim().to_ascii_lowercase()))
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The caller's headers for the upstream: untouched (Authorization included) but for hop-by-hop
/// ones, `Host` (the client sets the upstream's) and what the new body changes.
fn copy_request_headers(from: &HeaderMap, to: &mut HeaderMap, length: usize) {
    let mut headers = from.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    *to = headers;
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `GET <url>/healthz`: the pin and mode a gate at `url` serves, or why it cannot be reached.
pub fn probe(url: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let uri: Uri = format!("{}{HEALTH_PATH}", url.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = upstream_client(None).map_err(|e| e.to_string())?;
        let request = Request::get(uri).body(Full::new(Bytes::new())).map_err(|e| e.to_string())?;
        let answer = tokio::time::timeout(timeout, client.request(request))
            .await
            .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
            .map_err(|e| error_chain(&e))?;
        let status = answer.status();
        let body = tokio::time::timeout(timeout, answer.into_body().collect())
            .await
            .map_err(|_| "the health answer did not finish".to_owned())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("health answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("the health answer is not the gate's ({e})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_join_paths_and_queries() {
        let upstream = Upstream::parse("https://api.openai.com/v1/").unwrap();
        assert_eq!(upstream.uri("responses", None).unwrap(), "https://api.openai.com/v1/responses");
        assert_eq!(upstream.uri("models", Some("a=b")).unwrap(), "https://api.openai.com/v1/models?a=b");
        for bad in ["api.openai.com", "ftp://x/", "https://x/?q=1", ""] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_headers_keep_authorization_and_drop_hop_by_hop() {
        let mut from = HeaderMap::new();
        from.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sk-test"));
        from.insert(CHATGPT_ACCOUNT_HEADER, HeaderValue::from_static("acct"));
        from.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-private"));
        from.insert("x-private", HeaderValue::from_static("1"));
        from.insert(header::HOST, HeaderValue::from_static("gate:8080"));
        from.insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        from.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        let mut to = HeaderMap::new();
        copy_request_headers(&from, &mut to, 42);
        assert_eq!(to[header::AUTHORIZATION], "Bearer sk-test");
        assert_eq!(to[CHATGPT_ACCOUNT_HEADER], "acct");
        assert_eq!(to[header::CONTENT_LENGTH], "42");
        for gone in ["connection", "x-private", "host", "content-encoding"] {
            assert!(!to.contains_key(gone), "{gone}");
        }
    }
}
