//! `autoscale-sim serve`: the playground's API over HTTP (status codes,
//! the refusal of other hosts and origins, diagnostics as the language
//! server renders them, figures equal to a run of the library), and,
//! ignored by default, the page itself in headless Chromium driven over
//! WebDriver (`serve/browser.rs`).

mod browser;

use std::path::Path;

use autoscale_sim::report::Summary;
use autoscale_sim::scenario::Scenario;
use autoscale_sim::serve::{Catalog, MAX_BODY_BYTES, Server};
use autoscale_sim::sim::Simulation;
use serde_json::{Value, json};

/// A playground serving the bundled scenarios on a free loopback port,
/// answering on a thread of its own until the test binary ends.
fn playground() -> String {
    let server = Server::bind(([127, 0, 0, 1], 0).into(), Catalog::new(None).unwrap()).unwrap();
    let url = server.url();
    std::thread::spawn(move || server.run());
    url
}

/// An HTTP client that returns every status as a response.
fn client() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `POST path` with `body`: the status and the JSON answer.
fn post(url: &str, path: &str, body: &Value) -> (u16, Value) {
    let mut response = client().post(format!("{url}{path}")).send(body.to_string()).unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `value` as the API's JSON reads back (serde_json parses floats to
/// within an ulp, not always exactly).
fn as_json(value: &impl serde::Serialize) -> Value {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

/// The bundled scenario `name`, loaded from its file as `run` loads it.
fn bundled(name: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations").join(format!("{name}.toml"))).unwrap()
}

#[test]
fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let url = playground();
    for (path, kind, text) in [
        ("", "text/html; charset=utf-8", "<title>autoscale-sim playground</title>"),
        ("app.js", "text/javascript; charset=utf-8", "async function rerun()"),
        ("style.css", "text/css; charset=utf-8", "#editor"),
    ] {
        let mut response = client().get(format!("{url}{path}")).call().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("content-type").as_deref(), Some(kind));
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some("default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'")
        );
        assert!(response.body_mut().read_to_string().unwrap().contains(text), "{path}");
    }
    let response = client().get(format!("{url}nothing")).call().unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn scenarios_lists_the_bundled_ones_with_their_formula_inline() {
    let url = playground();
    let mut response = client().get(format!("{url}api/scenarios")).call().unwrap();
    let list: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "bursty-day",
            "low-priority-preemption",
            "quota-bound",
            "real-agents",
            "shrink-requeue",
            "shrink-taskcompletion",
            "working-week"
        ]
    );
    let toml = list[0]["toml"].as_str().unwrap();
    assert!(toml.contains("formula = '''\n// The docs' \"pending tasks\" formula"), "{toml}");
    assert!(!toml.contains("formula_file"));
}

#[test]
fn a_run_gives_the_figures_of_the_same_run_in_the_library() {
    let url = playground();
    let (status, answer) = post(&url, "api/run", &json!({ "scenario": "bursty-day", "seed": 3 }));
    assert_eq!(status, 200, "{answer}");
    let output = Simulation::new(bundled("bursty-day"), Some(3)).run(&mut |_| {});
    let summary = Summary::of(&output);
    let run = &answer["run"];
    assert_eq!(run["summary"], as_json(&summary));
    assert_eq!(run["summary_text"], summary.to_text(output.duration));
    assert_eq!(answer["diagnostics"], json!([]));
    // A day of 30-s samples (2881) is drawn with every second one.
    assert_eq!(output.timeline.len(), 2881);
    let series = &run["series"];
    assert_eq!(series["hours"].as_array().unwrap().len(), 1441);
    assert_eq!(series["hours"][1], 1.0 / 60.0);
    let waiting: Vec<u64> = output.timeline.iter().step_by(2).map(|r| u64::from(r.active_tasks)).collect();
    assert_eq!(series["waiting"], json!(waiting));
    let evaluations = run["evaluations"].as_array().unwrap();
    assert_eq!(evaluations.len(), output.evaluations.len());
    assert_eq!(evaluations[1]["results"], output.evaluations[1].results.as_str());
    assert_eq!(evaluations[1]["timestamp"], "2024-03-04T00:05:00.000Z");
}

#[test]
fn knobs_and_the_formula_change_the_scenario_that_runs() {
    let url = playground();
    let formula = "$TargetDedicatedNodes = 4;\n";
    let request = json!({
        "scenario": "bursty-day",
        "formula": formula,
        "knobs": { "interval": "15m", "cores": 4, "dedicated_price": 0.5, "load": 2.0 },
    });
    let (status, answer) = post(&url, "api/run", &request);
    assert_eq!(status, 200, "{answer}");
    let toml = answer["run"]["scenario_toml"].as_str().unwrap();
    // The text downloaded runs the same: the library gives the same figures.
    let scenario = Scenario::from_toml(toml, "downloaded.toml", "bursty-day", Path::new(".")).unwrap();
    let summary = Summary::of(&Simulation::new(scenario, None).run(&mut |_| {}));
    assert_eq!(answer["run"]["summary"], as_json(&summary));
    for line in [
        "vm = { name = \"Standard_D2s_v3\", cores = 4, dedicated_price = 0.5, low_priority_price = 0.0192 }",
        "interval = \"15m\"",
        "formula = '''\n$TargetDedicatedNodes = 4;\n'''",
        "rate_per_hour = 60.0",
        "size = 240",
    ] {
        assert!(toml.contains(line), "{line} in {toml}");
    }
    // A day every 15 minutes, both ends included.
    assert_eq!(summary.evaluations.ok, 97);
    // Four nodes all day at 0.5 an hour: 48, less the first allocation.
    let cost = answer["run"]["summary"]["cost"]["total"].as_f64().unwrap();
    assert!(cost > 45.0 && cost < 48.0, "{cost}");
}

#[test]
fn a_formula_that_does_not_check_gets_the_language_servers_diagnostics_and_no_run() {
    let url = playground();
    let (status, answer) =
        post(&url, "api/run", &json!({ "scenario": "bursty-day", "formula": "$TargetDedicatedNodes = max(;" }));
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({
            "diagnostics": [{
                "range": { "start": { "line": 0, "character": 28 }, "end": { "line": 0, "character": 29 } },
                "severity": 1,
                "code": "E0001",
                "source": "autoscale-sim",
                "message": "unexpected `;`, expected an expression or `)`\nsyntax error",
            }],
            "run": null,
        })
    );
    assert_eq!(
        answer["diagnostics"],
        serde_json::to_value(autoscale_sim::lsp::diagnostics("$TargetDedicatedNodes = max(;")).unwrap()
    );
    // Warnings alone do not stop the run.
    let (_, answer) = post(
        &url,
        "api/run",
        &json!({ "scenario": "bursty-day", "formula": "$TargetDedicatedNodes = avg($CPUPercent.GetSample(1)) > 0.7 ? 3 : 1;" }),
    );
    assert!(answer["run"].is_object(), "{answer}");
    let lints: Vec<(&Value, &Value)> =
        answer["diagnostics"].as_array().unwrap().iter().map(|d| (&d["code"], &d["severity"])).collect();
    assert_eq!(
        lints,
        [(&json!("single-sample-target"), &json!(2)), (&json!("percent-compared-with-fraction"), &json!(2))]
    );
}

#[test]
fn the_cursor_gets_the_language_servers_hover_and_completions() {
    let url = playground();
    let formula = "$TargetDedicatedNodes = $PendingTasks.GetSample(1);\nm";
    // On `$PendingTasks`: the language server's own hover text.
    let (status, on_metric) = post(&url, "api/assist", &json!({ "formula": formula, "line": 0, "character": 26 }));
    assert_eq!(status, 200);
    let (expected, _) = autoscale_sim::lsp::at_cursor(formula, lsp_types::Position { line: 0, character: 26 });
    assert!(expected.as_deref().is_some_and(|h| h.contains("(metric) $PendingTasks")), "{expected:?}");
    assert_eq!(on_metric["hover"], json!(expected));
    // After the `.`: the sample methods; at the `m` of the second line: functions such as `max`.
    let labels = |answer: &Value| -> Vec<String> {
        answer["completions"].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap().to_owned()).collect()
    };
    let (_, after_dot) = post(&url, "api/assist", &json!({ "formula": formula, "line": 0, "character": 38 }));
    assert!(labels(&after_dot).contains(&"GetSamplePercent".to_owned()), "{after_dot}");
    let (_, typing) = post(&url, "api/assist", &json!({ "formula": formula, "line": 1, "character": 1 }));
    assert!(labels(&typing).iter().any(|l| l == "max") && labels(&typing).iter().any(|l| l == "$PendingTasks"));
    assert_eq!(typing["hover"], Value::Null);
    // A formula over the service's limit gets no analysis.
    let long = "x".repeat(9000);
    let (status, refused) = post(&url, "api/assist", &json!({ "formula": long, "line": 0, "character": 0 }));
    assert_eq!((status, refused), (400, json!({ "error": "formula: more than 8192 bytes" })));
}

#[test]
fn an_evaluation_shows_the_samples_it_saw() {
    let url = playground();
    let (status, seen) = post(&url, "api/evaluation", &json!({ "run": { "scenario": "bursty-day" }, "index": 2 }));
    assert_eq!(status, 200, "{seen}");
    // At 10 min the samples of 0 to 9 min are visible (one minute's delay): 19.
    assert_eq!(seen["timestamp"], "2024-03-04T00:10:00.000Z");
    let pending = seen["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "$PendingTasks").unwrap();
    assert_eq!(pending["count"], 19);
    assert_eq!(pending["last"].as_array().unwrap().len(), 19);
    assert_eq!(seen["pool"]["task_slots_per_node"], 1.0);
    let (status, answer) = post(&url, "api/evaluation", &json!({ "run": { "scenario": "bursty-day" }, "index": 1000 }));
    assert_eq!((status, answer), (400, json!({ "error": "the run has 289 evaluations; there is no evaluation 1000" })));
}

#[test]
fn compare_runs_every_formula_on_the_same_seeds() {
    let url = playground();
    let formulas = ["$TargetDedicatedNodes = 2;", "$TargetDedicatedNodes = 8;", "$TargetDedicatedNodes = ;"];
    let (status, answer) =
        post(&url, "api/compare", &json!({ "run": { "scenario": "quota-bound" }, "formulas": formulas, "seeds": 3 }));
    assert_eq!(status, 200, "{answer}");
    let seeds = |k: usize| -> Vec<u64> {
        answer[k]["runs"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect()
    };
    assert_eq!((seeds(0), seeds(1), seeds(2)), (vec![11, 12, 13], vec![11, 12, 13], vec![]));
    assert_eq!(answer[2]["diagnostics"][0]["code"], "E0001");
    let mut scenario = bundled("quota-bound");
    scenario.replace_formula(formulas[1], "b").unwrap();
    let output = Simulation::new(scenario, Some(12)).run(&mut |_| {});
    assert_eq!(answer[1]["runs"][1]["cost"], as_json(&Summary::of(&output).cost.total));
}

#[test]
fn other_hosts_and_origins_are_refused() {
    let url = playground();
    let body = json!({ "scenario": "bursty-day" }).to_string();
    let send = |header: Option<(&str, &str)>| {
        let mut request = client().post(format!("{url}api/run"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let mut response = request.send(body.as_str()).unwrap();
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
    };
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    let own_origin = format!("http://localhost:{port}");
    assert_eq!(send(Some(("Origin", own_origin.as_str()))).0, 200);
    assert_eq!(send(None).0, 200, "no Origin: not a browser's cross-site request");
    assert_eq!(
        send(Some(("Origin", "http://evil.example"))),
        (403, r#"{"error":"this server answers its own page only (Origin)"}"#.to_owned())
    );
    assert_eq!(send(Some(("Origin", "null"))).0, 403);
    // DNS rebinding: another name that resolves to loopback.
    let rebound = format!("evil.example:{port}");
    assert_eq!(
        send(Some(("Host", rebound.as_str()))),
        (403, r#"{"error":"this server answers requests for its own address only (Host)"}"#.to_owned())
    );
    let mut response = client().get(&url).header("Host", rebound.as_str()).call().unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response.body_mut().read_to_string().unwrap().contains("<html"));
}

#[test]
fn bad_requests_get_400_with_the_reason() {
    let url = playground();
    let cases = [
        (json!({ "scenario": "nowhere" }), "scenario: no scenario named `nowhere`; GET /api/scenarios lists them"),
        (
            json!({ "scenario": "bursty-day", "knobs": { "interval": "1m" } }),
            "bursty-day.toml:23: pool.autoscale.interval: 1m is below the minimum 5m",
        ),
        (
            json!({ "scenario": "bursty-day", "knobs": { "load": 0 } }),
            "knobs.load: 0 is out of range; give more than 0, up to 100",
        ),
        (
            json!({ "scenario": "real-agents", "formula": "$TargetDedicatedNodes = 1;" }),
            "real-agents.toml: the pool has fixed targets, so there is no formula to replace; pick a scenario with \
             [pool.autoscale]",
        ),
        (
            json!({ "scenario": "bursty-day", "toml": "duration = \"1h\"\n[pool]\nvm = { cores = 1 }\n[[jobs]]\ntrace = \"/etc/passwd\"\n" }),
            "jobs[0].trace: a scenario sent from the page cannot name files; put the formula inline (`formula = \
             '''…'''`) and leave traces to `autoscale-sim serve SCENARIO`",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(post(&url, "api/run", &body), (400, json!({ "error": message })), "{body}");
    }
    let (status, answer) = post(&url, "api/run", &json!({ "scenario": "bursty-day", "knob": {} }));
    assert_eq!(status, 400);
    let message = answer["error"].as_str().unwrap();
    assert!(message.starts_with("the request is not what the API takes: unknown field `knob`"), "{message}");
    let mut response = client().get(format!("{url}api/run")).call().unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.body_mut().read_to_string().unwrap(), r#"{"error":"/api/run does not take GET"}"#);
    // A body over the bound is refused unread.
    let big = vec![b' '; MAX_BODY_BYTES as usize + 1];
    let response = client().post(format!("{url}api/run")).send(&big[..]);
    let mut response = response.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.body_mut().read_to_string().unwrap(),
        format!(
            r#"{{"error":"the request is over {MAX_BODY_BYTES} bytes, the most a scenario and its formulas take"}}"#
        )
    );
}
