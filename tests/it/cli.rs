//! The command line as a user drives it: exit codes, what goes to stdout
//! and stderr, and the README's examples.

use crate::support::{cli, scratch_dir};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_valid_formula_prints_nothing() {
    let out = cli(&["check", "simulations/formulas/pending-tasks.formula"], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn check_invalid_formula_shows_every_error_with_position() {
    let out = cli(&["check", "-e", "$a = 1;\n$b = $a + time();\n$c = $nope;"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0200]: Operator + cannot be applied to double and timestamp"), "{err}");
    assert!(err.contains("--> <expr>:2:6"), "{err}");
    assert!(err.contains("error[E0100]: Undefined symbol: $nope"), "{err}");
    assert!(err.contains("--> <expr>:3:6"), "{err}");
    assert!(err.contains("error: 2 errors in <expr>"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reads_stdin_and_reports_missing_files() {
    let out = cli(&["check", "-"], Some("$TargetDedicatedNodes = 2;"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = cli(&["check", "no/such.formula"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read formula file `no/such.formula`"), "{}", text(&out.stderr));
}

#[test]
fn eval_readme_example() {
    let out = cli(
        &["eval", "simulations/formulas/pending-tasks.formula", "--context", "simulations/contexts/busy.toml"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // avg of the six PendingTasks samples 14, 12, 11, 9, 8, 6 = 10.
    assert_eq!(
        text(&out.stdout),
        "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;\
         maxNumberofVMs=25;pendingTaskSamplePercent=100;pendingTaskSamples=10;startingNumberOfVMs=1\n"
    );
}

#[test]
fn eval_failure_prints_results_and_error_and_exits_2() {
    let out = cli(&["eval", "-e", "$TargetDedicatedNodes = 3; $x = $missing"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue\n"
    );
    let err = text(&out.stderr);
    assert!(err.contains("AutoScalingFormulaEvaluationError: The specified auto-scaling formula has evaluation error"));
    assert!(err.contains("Message: Line 1, Col 33: Undefined symbol: $missing"), "{err}");
    assert!(err.contains("^^^^^^^^"), "a caret excerpt: {err}");
}

#[test]
fn eval_json_has_the_autoscale_run_shape() {
    let dir = scratch_dir("cli-json");
    let ctx = dir.join("ctx.toml");
    std::fs::write(&ctx, "now = \"2020-01-02T03:04:05.678Z\"\n[pool]\ntarget_dedicated = 5\n").unwrap();
    let out = cli(&["eval", "-e", "$x = 1", "--context", ctx.to_str().unwrap(), "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "timestamp": "2020-01-02T03:04:05.678Z",
            "results": "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$x=1"
        })
    );

    let out = cli(&["eval", "-e", "a = (", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["code"], "AutoScalingFormulaSyntaxError");
    assert_eq!(json["error"]["message"], "The specified auto-scaling formula has a syntax error.");
    assert_eq!(json["error"]["values"][0]["name"], "Message");
    assert_eq!(json["error"]["values"][0]["value"], "Line 1, Col 6: unexpected end of formula, expected an expression");
}

#[test]
fn bad_context_files_are_named_and_nothing_is_printed() {
    let dir = scratch_dir("cli-bad-context");
    let cases = [
        ("unknown-key.toml", "[pool]\ntarget = 3\n", "unknown field `target`"),
        ("bad-metric.json", r#"{"metrics": {"Pending": {"samples": []}}}"#, "`metrics.Pending`: no such metric"),
        ("bad-age.toml", "[metrics.PendingTasks]\nsamples = [[-5, 1]]\n", "metrics.PendingTasks.samples[0]"),
        ("bad-now.json", r#"{"now": "tomorrow"}"#, "`now`: cannot parse time"),
        ("ctx.yaml", "now: 1", "name it *.toml or *.json"),
    ];
    for (file, content, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, content).unwrap();
        let out = cli(&["eval", "-e", "$x = 1", "--context", path.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(out.stdout.is_empty(), "{file}: nothing on stdout");
        let err = text(&out.stderr);
        assert!(err.contains(expected) && err.contains(file), "{file}: {err}");
    }
    let out = cli(&["eval", "-e", "$x = 1", "--context", "no/such/ctx.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read context file no/such/ctx.toml"));
}

#[test]
fn usage_errors_exit_64_and_help_teaches() {
    for args in
        [&["eval"][..], &["check", "a.formula", "-e", "x=1"], &["frobnicate"], &["eval", "-e", "x", "--format", "xml"]]
    {
        let out = cli(args, None);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", text(&out.stderr));
    }
    let out = cli(&["eval", "--help"], None);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("Examples:") && help.contains("--context"), "{help}");
}

#[test]
fn both_engines_print_the_same_for_every_bundled_formula() {
    let formulas = std::fs::read_dir("simulations/formulas").unwrap();
    let mut seen = 0;
    for entry in formulas {
        let path = entry.unwrap().path();
        // The folder also holds each formula's test suite (`*.autoscale-test.toml`).
        if path.extension().is_none_or(|e| e != "formula") {
            continue;
        }
        let path = path.to_str().unwrap();
        for format in ["text", "json"] {
            let run = |engine| {
                cli(
                    &[
                        "eval",
                        path,
                        "--context",
                        "simulations/contexts/busy.toml",
                        "--format",
                        format,
                        "--engine",
                        engine,
                    ],
                    None,
                )
            };
            let (jit, interp) = (run("jit"), run("interp"));
            assert_eq!(jit.status.code(), interp.status.code(), "{path}");
            assert_eq!(text(&jit.stdout), text(&interp.stdout), "{path} ({format})");
            assert!(!jit.stdout.is_empty(), "{path}");
        }
        seen += 1;
    }
    assert!(seen >= 3);
}

/// Runs the binary with stdout or stderr (or both) a pipe whose reading
/// end was closed before it started, as `2>&1 | head -c1` leaves it.
fn with_closed_pipes(args: &[&str], close_stdout: bool, close_stderr: bool) -> std::process::ExitStatus {
    use std::process::{Command, Stdio};
    let pipe = |closed: bool| -> Stdio {
        if !closed {
            return Stdio::null();
        }
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        writer.into()
    };
    Command::new(env!("CARGO_BIN_EXE_autoscale-sim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(pipe(close_stdout))
        .stderr(pipe(close_stderr))
        .status()
        .expect("the binary runs")
}

#[test]
fn closed_stdout_and_stderr_exit_quietly() {
    let dir = scratch_dir("cli-closed-pipes");
    let bad = dir.join("bad.formula");
    std::fs::write(&bad, "$a = 1;\n$b = $a + time();\n$c = $nope;").unwrap();
    let bad = bad.to_str().unwrap();
    // Each with its usual exit code, never a panic's 101.
    let cases: [(&[&str], i32); 6] = [
        (&["check", bad], 1),
        (&["check", "no/such.formula"], 1),
        (&["eval", "-e", "$TargetDedicatedNodes = 3; $x = $missing"], 2),
        (&["explain", "no-such-lint"], 64),
        (&["explain"], 0),
        (&["frobnicate"], 64),
    ];
    for (args, code) in cases {
        for (out, err) in [(false, true), (true, true), (true, false)] {
            let status = with_closed_pipes(args, out, err);
            assert_eq!(status.code(), Some(code), "{args:?} stdout closed {out}, stderr closed {err}");
        }
    }
}

#[test]
fn check_and_eval_accept_a_byte_order_mark() {
    let dir = scratch_dir("cli-bom");
    let path = dir.join("bom.formula");
    std::fs::write(&path, "\u{feff}$TargetDedicatedNodes = 2;\n").unwrap();
    let path = path.to_str().unwrap();
    let out = cli(&["check", path], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = cli(&["eval", path], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("$TargetDedicatedNodes=2;"), "{}", text(&out.stdout));
    let out = cli(&["check", "-"], Some("\u{feff}$TargetDedicatedNodes = 2;"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An error's position is counted without the mark.
    std::fs::write(dir.join("bad.formula"), "\u{feff}$x = $nope;").unwrap();
    let out = cli(&["check", dir.join("bad.formula").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("bad.formula:1:6"), "{}", text(&out.stderr));
}

#[cfg(unix)]
#[test]
fn endless_formula_and_context_files_are_refused_unread() {
    for args in [&["check", "/dev/zero"][..], &["eval", "/dev/zero"], &["fmt", "/dev/zero"]] {
        let out = cli(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("cannot read formula file `/dev/zero`: the file is more than 1048576 bytes long"),
            "{err}"
        );
    }
    let out = cli(&["eval", "-e", "$x = 1", "--context", "/dev/zero"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("cannot read context file /dev/zero: the context file is more than 16777216 bytes"), "{err}");
}

/// A build without the `parquet` feature refuses `--out-format parquet`
/// before running, saying how to get it; `--out-format` needs `--out`.
#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_output_needs_the_feature_and_an_out_folder() {
    let dir = crate::support::scratch_dir("cli-parquet");
    let out_dir = dir.join("out");
    let args = ["run", "simulations/bursty-day.toml", "--out", out_dir.to_str().unwrap(), "--out-format", "parquet"];
    let out = cli(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("build with `cargo build --release --features parquet`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out_dir.exists(), "nothing written");
    let out = cli(&["run", "simulations/bursty-day.toml", "--out-format", "parquet"], None);
    assert_eq!(out.status.code(), Some(64), "a usage error: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--out <DIR>"), "{}", text(&out.stderr));
}
