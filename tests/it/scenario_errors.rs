//! The first mistakes a newcomer makes, each with the exact message it
//! gets (insta snapshots, reviewed): a scenario's misspelt key, a number
//! or a duration out of range or in another grammar, a formula where a
//! scenario goes, and the flags and commands that need something else.

use crate::support::{cli, scratch_dir};

/// A small valid scenario; each case changes one thing in it.
const BASE: &str = r#"duration = "1d"
seed = 1

[pool]
vm = { name = "Standard_D2s_v3", cores = 2, dedicated_price = 0.096 }

[pool.autoscale]
formula = "$TargetDedicatedNodes = 2;"

[[jobs]]
id = "batches"

[[jobs.generate]]
kind = "bursty"
mean_gap = "3h"
size = 120
duration = { dist = "uniform", min = "1m", max = "8m" }
"#;

/// (name, what `BASE` has, what the case writes instead)
const SCENARIO_MISTAKES: &[(&str, &str, &str)] = &[
    ("misspelt_key_in_a_generator", "size = 120", "sise = 120"),
    ("misspelt_table_key", "vm = {", "target = 3\nvm = {"),
    ("negative_size", "size = 120", "size = -5"),
    ("negative_seed", "seed = 1", "seed = -1"),
    ("text_for_a_number", "seed = 1", "seed = \"one\""),
    ("fraction_for_a_whole_number", "cores = 2", "cores = 2.5"),
    ("duration_too_long", "duration = \"1d\"", "duration = \"100000d\""),
    ("duration_in_words", "duration = \"1d\"", "duration = \"5 minutes\""),
    ("duration_with_a_fraction", "mean_gap = \"3h\"", "mean_gap = \"1.5h\""),
    ("duration_not_one", "min = \"1m\"", "min = \"soon\""),
    ("misspelt_distribution", "\"uniform\"", "\"unifrom\""),
    ("misspelt_key_in_a_distribution", "max = \"8m\"", "maxi = \"8m\""),
    ("unknown_generator_kind", "kind = \"bursty\"", "kind = \"burst\""),
    ("missing_key", "size = 120\n", ""),
    ("toml_syntax", "seed = 1", "seed = "),
];

#[test]
fn scenario_mistakes_get_the_key_its_line_and_the_fix() {
    let dir = scratch_dir("scenario-errors");
    for (name, from, to) in SCENARIO_MISTAKES {
        assert!(BASE.contains(from), "{name}: the base scenario has `{from}`");
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, BASE.replacen(from, to, 1)).unwrap();
        let out = cli(&["run", path.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        let err = String::from_utf8_lossy(&out.stderr).replace(dir.to_str().unwrap(), "[DIR]");
        insta::assert_snapshot!(format!("scenario_{name}"), err);
    }
}

/// (name, arguments, standard input, exit code)
const COMMAND_MISTAKES: &[(&str, &[&str], &str, i32)] = &[
    ("run_a_formula", &["run", "simulations/formulas/cpu.formula"], "", 1),
    ("explain_an_error_code", &["explain", "E0100"], "", 0),
    ("explain_an_unknown_name", &["explain", "E9999"], "", 64),
    ("fmt_a_syntax_error", &["fmt", "-"], "$TargetDedicatedNodes = 1;\n$x = (2 +;\n", 1),
    ("fmt_standard_input", &["fmt", "-"], "a=1;b=a+\n 2", 0),
    ("spawn_local_without_real_agents", &["run", "simulations/bursty-day.toml", "--spawn-local", "2"], "", 64),
    ("clock_speed_without_real_agents", &["run", "simulations/bursty-day.toml", "--clock-speed", "10"], "", 64),
    (
        "missing_token_file",
        &["run", "simulations/real-agents.toml", "--agents", "real", "--token-file", "no-such.token"],
        "",
        1,
    ),
];

#[test]
fn command_mistakes_get_a_clear_answer() {
    for (name, args, stdin, code) in COMMAND_MISTAKES {
        let out = cli(args, Some(stdin));
        assert_eq!(out.status.code(), Some(*code), "{name}");
        let shown = format!(
            "exit {code}\n--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        insta::assert_snapshot!(format!("command_{name}"), shown);
    }
}
