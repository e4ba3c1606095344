//! A hostile peer: a reverse proxy on 127.0.0.1:0 in front of a simulator that answers the
//! requests it is told to spoil with a broken answer instead (wrong types, nulls, HTML with 200,
//! invalid UTF-8, a truncated or endless body, a page replayed for ever). Everything else goes
//! through untouched, so authentication and the simulator's checks stay real.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use url::Url;

/// What a spoiled request is answered with.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with this body and content type.
    Body {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// 200 streaming `total` bytes without a `Content-Length`.
    Endless { total: usize },
    /// 200 declaring (and sending) a body of `total` bytes.
    Huge { total: usize },
    /// The simulator's own answer, cut in half.
    Truncated,
    /// The simulator's first answer to a spoiled request, sent again for every later one.
    Replay,
}

impl Answer {
    pub fn json(body: &str) -> Answer {
        Answer::Body {
            content_type: "application/json",
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Which requests to spoil: given the path and the request body (as text).
pub type Matcher = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Spoils requests whose path contains `part`.
pub fn path(part: &'static str) -> Matcher {
    Arc::new(move |path, _| path.contains(part))
}

/// Spoils requests whose body contains every one of `parts` (a SuiteQL query, a GraphQL
/// operation name).
pub fn body(parts: &'static [&'static str]) -> Matcher {
    Arc::new(move |_, body| parts.iter().all(|p| body.contains(p)))
}

struct Shared {
    /// Set once the simulator behind is started (it may need the proxy's URL first).
    upstream: std::sync::OnceLock<Url>,
    matches: Matcher,
    answer: Answer,
    remaining: AtomicUsize,
    spoiled: AtomicUsize,
    replay: std::sync::Mutex<Option<(HeaderMap, Bytes)>>,
    http: reqwest::Client,
}

pub struct Proxy {
    pub url: Url,
    shared: Arc<Shared>,
    _server: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Spoils the next `times` requests that `matches`, once [`Proxy::forward_to`] names the
    /// simulator behind it.
    pub async fn start(matches: Matcher, answer: Answer, times: usize) -> Proxy {
        let shared = Arc::new(Shared {
            upstream: std::sync::OnceLock::new(),
            matches,
            answer,
            remaining: AtomicUsize::new(times),
            spoiled: AtomicUsize::new(0),
            replay: std::sync::Mutex::new(None),
            http: reqwest::Client::new(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url: Url::parse(&format!("http://{addr}/")).expect("url"),
            shared,
            _server: server,
        }
    }

    pub fn forward_to(&self, upstream: &Url) {
        let _ = self.shared.upstream.set(upstream.clone());
    }

    /// How many requests were answered with the broken answer.
    pub fn spoiled(&self) -> usize {
        self.shared.spoiled.load(Ordering::SeqCst)
    }

    /// From now on every request goes through untouched.
    pub fn heal(&self) {
        self.shared.remaining.store(0, Ordering::SeqCst);
    }
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let spoil = (s.matches)(parts.uri.path(), &String::from_utf8_lossy(&body))
        && s.remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if spoil {
        s.spoiled.fetch_add(1, Ordering::SeqCst);
    }
    let ok = |content_type: &str, body: Body| {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .expect("response")
    };
    match (&s.answer, spoil) {
        (Answer::Body { content_type, body }, true) => {
            return ok(content_type, Body::from(body.clone()));
        }
        (Answer::Huge { total }, true) => {
            return ok("application/json", Body::from(vec![b' '; *total]));
        }
        (Answer::Endless { total }, true) => {
            let chunk = Bytes::from(vec![b'['; 64 * 1024]);
            let n = total.div_ceil(chunk.len());
            let stream = futures_util::stream::iter(
                (0..n).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            return ok("application/json", Body::from_stream(stream));
        }
        (Answer::Replay, true) => {
            let recorded = s.replay.lock().expect("replay").clone();
            if let Some((headers, body)) = recorded {
                let mut r = Response::new(Body::from(body));
                *r.headers_mut() = headers;
                return r;
            }
        }
        _ => {}
    }
    let (headers, status, answer) = forward(&s, &parts, body).await;
    if spoil && matches!(s.answer, Answer::Replay) {
        *s.replay.lock().expect("replay") = Some((headers.clone(), answer.clone()));
    }
    let answer = if spoil && matches!(s.answer, Answer::Truncated) {
        answer.slice(..answer.len() / 2)
    } else {
        answer
    };
    let mut r = Response::new(Body::from(answer));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

async fn forward(
    s: &Shared,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> (HeaderMap, StatusCode, Bytes) {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().trim_start_matches('/').to_string())
        .unwrap_or_default();
    let url = s
        .upstream
        .get()
        .expect("forward_to was called")
        .join(&path)
        .expect("upstream url");
    let method = parts.method.clone();
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let res = s
        .http
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("simulator answers");
    let status = res.status();
    let mut back = HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            back.insert(name, v.clone());
        }
    }
    let body = res.bytes().await.expect("simulator body");
    (back, status, body)
}
