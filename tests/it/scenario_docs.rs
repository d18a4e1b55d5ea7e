//! `docs/scenario.md` documents every key the scenario parser accepts.
//! The keys come from the parser itself, not a copy: each table of the
//! file is given a key it does not take, and the refusal lists the ones it
//! does (`unknown key `zz`; the keys here are `a`, `b``).

use std::path::Path;

use autoscale_sim::scenario::Scenario;

const REFERENCE: &str = include_str!("../../docs/scenario.md");

/// The start of a valid scenario, ending inside `[pool]`.
const BASE: &str = "duration = \"1d\"\n[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\n";

/// (the reference's heading for a table, a scenario with `zz = 1` in that table)
fn probes() -> Vec<(String, String)> {
    let job = |body: &str| format!("{BASE}[[jobs]]\n{body}\n");
    let mut probes = vec![
        ("top level".to_owned(), format!("zz = 1\n{BASE}")),
        ("`[account]`".to_owned(), format!("{BASE}[account]\nzz = 1\n")),
        ("`[pool]`".to_owned(), "duration = \"1d\"\n[pool]\nzz = 1\n".to_owned()),
        ("`pool.vm`".to_owned(), "duration = \"1d\"\n[pool]\nvm = { cores = 2, zz = 1 }\n".to_owned()),
        ("`pool.resizes`".to_owned(), format!("{BASE}resizes = [{{ at = \"1h\", zz = 1 }}]\n")),
        ("`[pool.autoscale]`".to_owned(), format!("{BASE}[pool.autoscale]\nzz = 1\n")),
        ("`pool.preemption`".to_owned(), format!("{BASE}preemption = {{ zz = 1 }}\n")),
        ("`pool.start_task`".to_owned(), format!("{BASE}start_task = {{ duration = \"1m\", zz = 1 }}\n")),
        (
            "`pool.node_actions`".to_owned(),
            format!("{BASE}node_actions = [{{ at = \"1h\", node = 0, action = \"reboot\", zz = 1 }}]\n"),
        ),
        ("`[metrics]`".to_owned(), format!("{BASE}[metrics]\nzz = 1\n")),
        ("`[[jobs]]`".to_owned(), job("zz = 1")),
        ("`jobs.tasks`".to_owned(), job("tasks = [{ duration = \"1m\", zz = 1 }]")),
        ("`[[schedules]]`".to_owned(), format!("{BASE}[[schedules]]\nzz = 1\n")),
        ("`pool.container`".to_owned(), format!("{BASE}container = {{ image_size_mib = 1, zz = 1 }}\n")),
        (
            "Packages and resource files".to_owned(),
            format!("{BASE}application_packages = [{{ name = \"a\", size_mib = 1, zz = 1 }}]\n"),
        ),
    ];
    for task in ["manager", "preparation", "release"] {
        probes.push(("Job tasks".to_owned(), job(&format!("{task} = {{ duration = \"1m\", zz = 1 }}"))));
    }
    for kind in ["poisson", "periodic", "bursty"] {
        probes.push((format!("`kind = \"{kind}\"`"), job(&format!("[[jobs.generate]]\nkind = \"{kind}\"\nzz = 1"))));
    }
    for dist in ["fixed", "uniform", "exponential", "normal", "lognormal"] {
        probes.push((format!("`dist = \"{dist}\"`"), format!("{BASE}boot_time = {{ dist = \"{dist}\", zz = 1 }}\n")));
    }
    probes
}

/// The keys the parser takes where `scenario` puts `zz`.
fn keys_taken(scenario: &str) -> Vec<String> {
    let error = match Scenario::from_toml(scenario, "s.toml", "s", Path::new(".")) {
        Ok(_) => panic!("`zz` accepted in:\n{scenario}"),
        Err(e) => e.to_string(),
    };
    let Some((_, list)) = error.split_once("unknown key `zz`; the keys here are ") else {
        panic!("no key list in: {error}")
    };
    let list = list.lines().next().unwrap_or_default();
    list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The text of the reference under the heading that contains `title`,
/// up to the next heading.
fn section(title: &str) -> &'static str {
    let start = REFERENCE
        .match_indices("\n#")
        .map(|(i, _)| i + 1)
        .find(|&i| REFERENCE[i..].lines().next().is_some_and(|h| h.contains(title)))
        .unwrap_or_else(|| panic!("docs/scenario.md has a heading with {title}"));
    let body = &REFERENCE[start..];
    let end = body[1..].find("\n#").map_or(body.len(), |i| i + 1);
    &body[..end]
}

#[test]
fn every_key_the_parser_takes_is_in_the_reference() {
    let mut checked = 0;
    for (title, scenario) in probes() {
        let keys = keys_taken(&scenario);
        assert!(!keys.is_empty(), "{title}");
        let text = section(&title);
        for key in keys {
            assert!(text.contains(&format!("| `{key}` |")), "docs/scenario.md, under {title}: no row for `{key}`");
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} keys checked");
}

#[test]
fn the_readme_links_the_reference() {
    assert!(include_str!("../../README.md").contains("(docs/scenario.md)"));
}
