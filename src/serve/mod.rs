//! `autoscale-sim serve`: the playground, a page to tune a formula by
//! trying it. Each edit re-runs the scenario here and the page redraws.
//!
//! A small synchronous HTTP server (`tiny_http`) on loopback: one request
//! at a time, which is all one person at one page needs, and a bundled
//! day simulates in tens of milliseconds. The page (`assets/serve/`) is
//! embedded in the binary and loads nothing else, so it works offline.
//!
//! Only the page itself may call the API: a request whose `Host` is not
//! this server's address (DNS rebinding: another name resolving to
//! 127.0.0.1) or whose `Origin`, when sent, is not this server (another
//! site's script POSTing here) is refused with 403. Bodies are bounded,
//! and so is each request's simulated time (see [`api::RUN_TIME_LIMIT`]).
#![forbid(unsafe_code)]

pub mod api;
pub mod catalog;

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

pub use catalog::{Catalog, CatalogError};

use crate::input::MAX_CLI_FORMULA_BYTES;
use crate::scenario::MAX_SCENARIO_BYTES;

/// The largest request body: a scenario and up to four formulas, each at
/// the CLI's limit, with room for the JSON around them.
pub const MAX_BODY_BYTES: u64 = MAX_SCENARIO_BYTES + 4 * MAX_CLI_FORMULA_BYTES + (64 << 10);

/// The page and what it loads, by path: the content and its type.
const ASSETS: [(&str, &str, &str); 3] = [
    ("/", include_str!("../../assets/serve/index.html"), "text/html; charset=utf-8"),
    ("/app.js", include_str!("../../assets/serve/app.js"), "text/javascript; charset=utf-8"),
    ("/style.css", include_str!("../../assets/serve/style.css"), "text/css; charset=utf-8"),
];

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The reason.
        message: String,
    },
}

/// The playground's server, bound and ready to serve.
pub struct Server {
    http: tiny_http::Server,
    addr: SocketAddr,
    catalog: Catalog,
}

impl Server {
    /// Binds `addr` (port 0: any free port) to serve `catalog`.
    pub fn bind(addr: SocketAddr, catalog: Catalog) -> Result<Server, ServeError> {
        let http = tiny_http::Server::http(addr).map_err(|e| ServeError::Bind { addr, message: e.to_string() })?;
        let addr = http.server_addr().to_ip().unwrap_or(addr);
        Ok(Server { http, addr, catalog })
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Answers requests, one at a time, until the process ends.
    pub fn run(&self) {
        for request in self.http.incoming_requests() {
            let (method, url) = (request.method().clone(), request.url().to_owned());
            // A bug answering one request fails that request, not the server.
            let outcome = catch_unwind(AssertUnwindSafe(|| self.handle(request)));
            if outcome.is_err() {
                log::error!("internal error answering {method} {url}");
            }
        }
    }

    /// Answers one request; a client gone away is no concern of the server.
    fn handle(&self, mut request: Request) {
        let answer = match self.refusal(&request) {
            Some(refusal) => refusal,
            None => self.route(&mut request),
        };
        let _ = request.respond(answer.into_response());
    }

    /// The 403 for a request from anywhere but the page itself.
    fn refusal(&self, request: &Request) -> Option<Answer> {
        let header =
            |name: &'static str| request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str());
        let own = [format!("127.0.0.1:{}", self.addr.port()), format!("localhost:{}", self.addr.port())];
        let host_ok = header("Host").is_some_and(|host| own.iter().any(|o| o == host));
        if !host_ok {
            return Some(Answer::error(403, "this server answers requests for its own address only (Host)"));
        }
        let origin_ok = header("Origin").is_none_or(|o| own.iter().any(|own| o == format!("http://{own}")));
        if !origin_ok {
            return Some(Answer::error(403, "this server answers its own page only (Origin)"));
        }
        None
    }

    fn route(&self, request: &mut Request) -> Answer {
        let path = request.url().split('?').next().unwrap_or("").to_owned();
        match (request.method(), path.as_str()) {
            (Method::Get, "/api/scenarios") => Answer::json(200, &self.scenarios()),
            (Method::Post, "/api/run") => self.call(request, |body| api::run(&self.catalog, body)),
            (Method::Post, "/api/evaluation") => self.call(request, |body| api::evaluation(&self.catalog, body)),
            (Method::Post, "/api/compare") => self.call(request, |body| api::compare(&self.catalog, body)),
            (Method::Post, "/api/assist") => self.call(request, api::assist),
            (method, "/api/scenarios" | "/api/run" | "/api/evaluation" | "/api/compare" | "/api/assist") => {
                Answer::error(405, &format!("{path} does not take {method}"))
            }
            (Method::Get, _) => match ASSETS.iter().find(|(p, _, _)| *p == path) {
                Some((_, content, kind)) => Answer { status: 200, body: content.as_bytes().to_vec(), kind },
                None => Answer::error(404, &format!("nothing at {path}")),
            },
            _ => Answer::error(405, "only GET and POST"),
        }
    }

    /// Reads the body as JSON of type `B` and answers with what `f` makes of it.
    fn call<B, R>(&self, request: &mut Request, f: impl FnOnce(B) -> Result<R, api::BadRequest>) -> Answer
    where
        B: serde::de::DeserializeOwned,
        R: Serialize,
    {
        if request.body_length().is_some_and(|n| n as u64 > MAX_BODY_BYTES) {
            return too_large();
        }
        let mut body = Vec::new();
        if let Err(e) = request.as_reader().take(MAX_BODY_BYTES + 1).read_to_end(&mut body) {
            return Answer::error(400, &format!("cannot read the request: {e}"));
        }
        if body.len() as u64 > MAX_BODY_BYTES {
            return too_large();
        }
        let parsed = serde_json::from_slice(&body).map_err(|e| format!("the request is not what the API takes: {e}"));
        match parsed.and_then(|body| f(body).map_err(|e| e.0)) {
            Ok(answer) => Answer::json(200, &answer),
            Err(message) => Answer::error(400, &message),
        }
    }

    /// `GET /api/scenarios`: each scenario's name, text and formula.
    fn scenarios(&self) -> Vec<Listed<'_>> {
        self.catalog.entries().iter().map(|e| Listed { name: &e.name, toml: &e.text }).collect()
    }
}

/// One scenario as listed.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    toml: &'a str,
}

fn too_large() -> Answer {
    Answer::error(
        413,
        &format!("the request is over {MAX_BODY_BYTES} bytes, the most a scenario and its formulas take"),
    )
}

/// A response before it is sent.
struct Answer {
    status: u16,
    body: Vec<u8>,
    kind: &'static str,
}

impl Answer {
    fn json(status: u16, value: &impl Serialize) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer { status, body, kind: "application/json" },
            Err(e) => Answer::error(500, &format!("cannot write the answer: {e}")),
        }
    }

    /// `{"error": message}`.
    fn error(status: u16, message: &str) -> Answer {
        let body = serde_json::json!({ "error": message }).to_string().into_bytes();
        Answer { status, body, kind: "application/json" }
    }

    fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        let headers = [
            ("Content-Type", self.kind),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            // The page runs its own script and style only, and nothing may frame it.
            ("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'"),
        ];
        let mut response = Response::from_data(self.body).with_status_code(self.status);
        for (field, value) in headers {
            if let Ok(header) = Header::from_bytes(field.as_bytes(), value.as_bytes()) {
                response.add_header(header);
            }
        }
        response
    }
}
