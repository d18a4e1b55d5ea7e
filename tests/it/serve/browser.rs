//! The playground in a real browser: headless Chromium (Debian's
//! `chromium` and `chromium-driver`), started here and driven over
//! WebDriver with plain HTTP. It loads the page, types formulas, checks
//! that the summary and the charts follow and that a broken formula shows
//! its error and keeps the last good charts, and measures the round trip
//! from an edit to the redrawn page. On failure, the page's screenshot is
//! saved under the target folder (`serve-browser/failure.png`).
//!
//! Ignored by default: `.ci/run` installs the packages and runs it with
//! `cargo test --test it serve -- --ignored`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::{bundled, client, playground};
use crate::support::scratch_dir;
use autoscale_sim::report::Summary;
use autoscale_sim::sim::Simulation;

/// The longest any awaited change may take.
const WAIT: Duration = Duration::from_secs(20);
/// The edits whose round trip is measured.
const ROUNDS: usize = 10;

/// chromedriver, stopped by PID when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed");
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while client().get(format!("{}/status", driver.url)).call().is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A headless Chromium session.
    fn session(&self) -> Session {
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800"],
        }}}});
        let answer = value(client().post(format!("{}/session", self.url)).send(capabilities.to_string()));
        let id = answer["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_owned();
        Session { url: format!("{}/session/{id}", self.url) }
    }
}

/// One browser session, closed when dropped.
struct Session {
    url: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = client().delete(&self.url).call();
    }
}

impl Session {
    fn post(&self, path: &str, body: Value) -> Value {
        let response = client().post(format!("{}/{path}", self.url)).send(body.to_string());
        value(response)
    }

    fn get(&self, path: &str) -> Value {
        value(client().get(format!("{}/{path}", self.url)).call())
    }

    fn open(&self, url: &str) {
        self.post("url", json!({ "url": url }));
    }

    /// Runs `script` in the page and returns what it returns.
    fn js(&self, script: &str) -> Value {
        self.post("execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Types `text` into the element `css` as a person would: every key
    /// an input event. Ctrl+A first selects what was there, so it is replaced.
    fn type_into(&self, css: &str, text: &str) {
        let found = self.post("element", json!({ "using": "css selector", "value": css }));
        let element = found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_owned();
        self.post(&format!("element/{element}/value"), json!({ "text": format!("\u{E009}a\u{E009}{text}") }));
    }

    /// Polls `script` until it returns true.
    fn wait_for(&self, what: &str, script: &str) -> Duration {
        let started = Instant::now();
        while self.js(script) != Value::Bool(true) {
            assert!(started.elapsed() < WAIT, "waited {WAIT:?} for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
        started.elapsed()
    }

    fn screenshot(&self, path: &std::path::Path) {
        let png = self.get("screenshot");
        if let Some(data) = png.as_str().and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()) {
            let _ = std::fs::write(path, data);
        }
    }
}

/// The `value` of a WebDriver answer; an error answer fails the test.
fn value(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Value {
    let mut response = response.expect("chromedriver answers");
    let text = response.body_mut().read_to_string().unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert!(response.status().is_success(), "WebDriver error: {answer}");
    answer["value"].clone()
}

/// The cost the library gives bursty-day with `formula`, as the page shows it.
fn expected_cost(formula: &str) -> String {
    let mut scenario = bundled("bursty-day");
    scenario.replace_formula(formula, "test").unwrap();
    let summary = Summary::of(&Simulation::new(scenario, None).run(&mut |_| {}));
    let c = summary.cost;
    format!("{:.2} (dedicated {:.2}, low-priority {:.2})", c.total, c.dedicated, c.low_priority)
}

/// The script that is true once the page's cost reads `cost`.
fn shows_cost(cost: &str) -> String {
    format!("return document.querySelector('dd[data-figure=\"cost\"]')?.textContent === {cost:?}")
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run installs them and runs it"]
fn the_page_follows_edits_and_keeps_the_last_good_charts() {
    let url = playground();
    let driver = Driver::start();
    let session = driver.session();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drive(&session, &url)));
    if let Err(panic) = outcome {
        let dir = scratch_dir("serve-browser");
        session.screenshot(&dir.join("failure.png"));
        eprintln!("screenshot of the page: {}", dir.join("failure.png").display());
        std::panic::resume_unwind(panic);
    }
}

fn drive(session: &Session, url: &str) {
    session.open(url);
    let formulas = ["$TargetDedicatedNodes = 5;", "$TargetDedicatedNodes = 6;"];
    let costs = formulas.map(expected_cost);
    // The page loads and runs the scenario's own formula.
    session.wait_for("the first run", "return document.body.dataset.runs !== undefined");
    session.type_into("#formula", formulas[0]);
    session.wait_for("the summary of the typed formula", &shows_cost(&costs[0]));
    // The target line: 5 all day, from the first sample on (the row at
    // t = 0 shows the first evaluation's target): one height.
    let ys = session
        .js("return [...new Set(document.querySelector('#chart-nodes polyline[data-name=\"target dedicated\"]')\
         .getAttribute('points').split(' ').map(p => p.split(',')[1]))].length");
    assert_eq!(ys, json!(1));
    // Hovering a chart shows the values at the cursor.
    session.js(
        "const svg = document.getElementById('chart-tasks'); const r = svg.getBoundingClientRect();\
         svg.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + 60, clientY: r.top + 50, bubbles: true }));",
    );
    let hover = session.js("return document.getElementById('chart-tasks').dataset.hover");
    assert!(hover.as_str().is_some_and(|h| h.contains("waiting: ") && h.contains("running: ")), "{hover}");

    // The round trip, edit after edit: from the last key typed to the
    // redrawn summary, as the test sees it, and from the request to the
    // redrawn charts, as the page measures it.
    let mut seen = Vec::with_capacity(ROUNDS);
    let mut page = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let k = (round + 1) % 2;
        let started = Instant::now();
        session.type_into("#formula", formulas[k]);
        let typed = started.elapsed();
        session.wait_for("the redrawn summary", &shows_cost(&costs[k]));
        seen.push(started.elapsed() - typed);
        page.push(session.js("return Number(document.body.dataset.roundTripMs)").as_f64().unwrap());
    }
    seen.sort();
    page.sort_by(f64::total_cmp);
    eprintln!(
        "round trip over {ROUNDS} edits of bursty-day: last key to redrawn page, median {:?} (max {:?}; includes the \
         {} ms debounce); request to redrawn charts, median {:.1} ms (max {:.1} ms)",
        seen[ROUNDS / 2],
        seen[ROUNDS - 1],
        150,
        page[ROUNDS / 2],
        page[ROUNDS - 1]
    );

    // A broken formula: its error shows, and the last good charts stay.
    let last_good = costs[ROUNDS % 2].clone();
    session.type_into("#formula", "$TargetDedicatedNodes = max(;");
    session.wait_for("the error", "return document.body.dataset.formulaOk === 'false'");
    let error = session.js("return document.querySelector('#diagnostics li.error').textContent");
    assert_eq!(error, json!("E0001 at 1:29: unexpected `;`, expected an expression or `)`\nsyntax error"));
    assert_eq!(session.js("return document.getElementById('stale').hidden"), json!(false));
    assert_eq!(session.js("return document.querySelectorAll('#highlight .diag-error').length"), json!(1));
    session.wait_for("the last good summary", &shows_cost(&last_good));
    assert_eq!(session.js("return document.querySelectorAll('#chart-nodes polyline').length > 0"), json!(true));

    // The language server's completions at the cursor: a click writes the name in.
    session.type_into("#formula", "$TargetDedicatedNodes = $Pend");
    let offered =
        "return [...document.querySelectorAll('#completions button')].some(b => b.textContent === '$PendingTasks')";
    session.wait_for("the completion of $Pend", offered);
    session.js(
        "[...document.querySelectorAll('#completions button')].find(b => b.textContent === '$PendingTasks').click()",
    );
    assert_eq!(
        session.js("return document.getElementById('formula').value"),
        json!("$TargetDedicatedNodes = $PendingTasks")
    );
    // And its hover: the metric's type, once the cursor rests on it.
    session.wait_for(
        "the hover of $PendingTasks",
        "return document.getElementById('hover').textContent.includes('(metric) $PendingTasks')",
    );
}
