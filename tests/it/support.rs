//! Helpers shared by the integration tests.

use autoscale_runtime::Timestamp;
use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::results::{EvalError, Outcome};

/// The instant the tests evaluate at unless they say otherwise (a Thursday).
pub const NOW: &str = "2016-10-13T19:18:47.805Z";

/// A context at [`NOW`] with an empty pool and no samples.
pub fn empty_context() -> EvalContext {
    EvalContext::new(Timestamp::parse(NOW).expect("NOW parses"))
}

/// A context from the oracle's JSON schema; `now` defaults to [`NOW`].
pub fn context(json: &str) -> EvalContext {
    let mut value: serde_json::Value = serde_json::from_str(json).expect("test context is JSON");
    if value.get("now").is_none() {
        value["now"] = NOW.into();
    }
    EvalContext::from_json(&value.to_string()).expect("test context is valid")
}

/// Compiles and evaluates `source` against `ctx`.
pub fn evaluate(source: &str, ctx: &EvalContext) -> Result<Outcome, EvalError> {
    autoscale_sim::formula::evaluate(source, ctx)
}

/// The results string of a successful evaluation in an empty context.
pub fn results(source: &str) -> String {
    match evaluate(source, &empty_context()) {
        Ok(outcome) => outcome.results.to_string(),
        Err(e) => panic!("{source:?} failed: {e}"),
    }
}

/// The value of user variable `name` after evaluating `source` in `ctx`,
/// in the results-string format.
pub fn value_in(source: &str, ctx: &EvalContext, name: &str) -> String {
    let outcome = evaluate(source, ctx).unwrap_or_else(|e| panic!("{source:?} failed: {e}"));
    let (_, value) = outcome
        .results
        .variables
        .iter()
        .find(|(n, _)| &**n == name)
        .unwrap_or_else(|| panic!("{source:?} did not assign {name}"));
    value.to_string()
}

/// The value of `$r` after evaluating `source` in an empty context.
pub fn value(source: &str) -> String {
    value_in(source, &empty_context(), "$r")
}

/// The error of an evaluation that must fail: (code, `Message` value).
pub fn failure(source: &str, ctx: &EvalContext) -> (String, String) {
    match evaluate(source, ctx) {
        Ok(o) => panic!("{source:?} succeeded with {}", o.results),
        Err(e) => (e.code.as_str().to_owned(), e.values()[0].1.clone()),
    }
}

/// Runs the built binary with `args` and optional standard input.
pub fn cli(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_autoscale-sim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("stdin accepts the input");
    drop(input);
    child.wait_with_output().expect("the binary runs")
}

/// A fresh scratch directory under the target directory.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
