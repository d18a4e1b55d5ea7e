//! The binary's `explain` and `fmt` commands: what they read, print and
//! write around the library's lints, error codes and formatter.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use autoscale_sim::formula::diag::Code;
use autoscale_sim::formula::{fmt, lint};
use autoscale_sim::input;

use super::{print, read_formula_file};

/// `explain`: a lint's explanation or an error code's meaning, or the
/// list of both.
pub(super) fn explain(name: Option<&str>) -> Result<ExitCode> {
    let text = match name {
        Some(name) => match (lint::explain(name), Code::from_id(name)) {
            (Some(info), _) => format!("{}: {}\n\n{}", info.name, info.summary, info.explanation),
            (None, Some(code)) => explain_code(code),
            (None, None) => {
                to_stderr!("error: no lint or error code named `{name}`; `autoscale-sim explain` lists them");
                return Ok(ExitCode::from(64));
            }
        },
        None => {
            let lints = lint::LINTS.iter().map(|l| format!("{:32} {}\n", l.name, l.summary));
            let codes = Code::ALL.iter().map(|c| format!("{:32} {}\n", c.id(), c.explain().0));
            lints.chain(["\nerror codes:\n".to_owned()]).chain(codes).collect()
        }
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `E0100: variable read before any assignment`, and a formula that has it.
fn explain_code(code: Code) -> String {
    let (meaning, example) = code.explain();
    let example = example.map(|e| format!("\n\n    for example:  {e}")).unwrap_or_default();
    format!(
        "{}: {meaning}{example}\n\n`autoscale-sim check` reports it as error[{}] with the place and, where there is \
         one, the fix.\n",
        code.id(),
        code.id()
    )
}

/// `fmt`: rewrite each file (through its links: a symbolic link's target,
/// every name of a hard-linked file), or with `check` list the files that
/// would change; `-` formats standard input to standard output.
pub(super) fn fmt(files: &[PathBuf], check: bool) -> Result<ExitCode> {
    let mut failed = false;
    for path in files {
        let stdin = path == Path::new("-");
        // A byte-order mark stays: the formatter keeps it.
        let source = if stdin { read_stdin()? } else { read_formula_file(path)? };
        let shown = if stdin { "<stdin>".to_owned() } else { path.display().to_string() };
        let formatted = match fmt::format(&source) {
            Ok(text) => text,
            Err(e) => {
                to_stderr!("error: {shown}:{e}");
                failed = true;
                continue;
            }
        };
        if stdin && !check {
            print(&formatted)?;
        } else if formatted == source {
            continue;
        } else if check {
            print(&format!("{shown}\n"))?;
            failed = true;
        } else {
            autoscale_sim::atomic_write::write_through_links(path, formatted.as_bytes())
                .with_context(|| format!("cannot write formula file `{shown}`"))?;
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Standard input, bounded as formula files are.
pub(super) fn read_stdin() -> Result<String> {
    let context = "cannot read the formula from standard input";
    let bytes = input::read_bounded_from(std::io::stdin().lock(), input::MAX_CLI_FORMULA_BYTES, "the formula")
        .context(context)?;
    String::from_utf8(bytes).context(context)
}
