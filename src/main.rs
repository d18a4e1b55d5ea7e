//! The `autoscale-sim` command line: parses arguments (clap derive), calls
//! the library, renders what it returns.
//!
//! Exit codes: 0 success; 1 the formula has errors (`check`) or an input
//! could not be read (`test`: a suite is malformed); 2 the evaluation
//! failed (`eval`) or a case failed (`test`); 64 bad command-line usage.
//! `agent` exits 0 when released, 1 when rejected, unreachable or given an
//! unreadable token file.
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use autoscale_runtime::Timestamp;
use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::diag::{self, Diagnostic};
use autoscale_sim::formula::results::{EvalError, ServiceError};
use autoscale_sim::formula::{Engine, Formula, compile_error};
use autoscale_sim::input;
use clap::{Args, Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, ColorSpec, StandardStream, WriteColor};

/// `eprintln!` without its panic: a closed standard error (`2>&1 | head
/// -c1`) leaves nowhere to report anything, so the line is dropped and the
/// command goes on, to exit as it would have.
macro_rules! to_stderr {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// Compile, test and simulate batch-pool autoscale formulas offline.
///
/// `check` finds the errors in a formula before the service does; `eval`
/// computes exactly the results string the service's "evaluate autoscale"
/// would return for a given pool state and metric samples; `run` simulates
/// a pool, its workload and its formula over days; `compare` and `sweep`
/// weigh formulas and settings against each other in cost and queue time;
/// `test` runs the formula test suites kept next to the formulas.
/// `agent` joins a simulation as a real node and runs its tasks for real.
///
/// Start with `autoscale-sim run simulations/bursty-day.toml`.
#[derive(Debug, Parser)]
#[command(name = "autoscale-sim", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a formula for errors without evaluating it.
    ///
    /// Prints nothing and exits 0 when the formula is valid; otherwise prints
    /// every error with its code, line, column and the offending text, and
    /// exits 1.
    #[command(
        after_help = "Examples:\n  autoscale-sim check pool.formula\n  autoscale-sim check -e '$TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1))'"
    )]
    Check {
        #[command(flatten)]
        formula: FormulaArg,
        /// `--deny warnings` turns the linter's warnings into errors (exit 1).
        #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
        deny: Option<String>,
    },
    /// Explain a lint: why the pattern is a problem and what to write instead.
    ///
    /// Without a name, lists every lint.
    #[command(
        after_help = "Examples:\n  autoscale-sim explain percent-compared-with-fraction\n  autoscale-sim explain"
    )]
    Explain {
        /// The lint's name, as `check` prints it in `warning[NAME]`.
        lint: Option<String>,
    },
    /// Format formula files in place: one statement per line, spaces around
    /// operators, comments kept.
    ///
    /// With --check, changes nothing: names the files that would change and
    /// exits 1 if there are any. A file that does not parse is left alone
    /// and reported (exit 1). A symbolic link's target is formatted (the
    /// link stays), a hard-linked file is written in place, a leading
    /// byte-order mark is kept.
    #[command(
        after_help = "Examples:\n  autoscale-sim fmt pool.formula\n  autoscale-sim fmt --check simulations/formulas/*.formula"
    )]
    Fmt {
        /// Report the files that are not formatted instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// The formula files.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the language server on standard input and output (for editors).
    Lsp,
    /// Evaluate a formula once and print the service's results string.
    ///
    /// The formula sees the instant, pool state and metric samples of the
    /// context file (all optional: an empty pool, no samples, now). A failed
    /// evaluation still prints the results string (what was assigned before
    /// the failure), reports the service's error code, message and values on
    /// stderr, and exits 2.
    #[command(
        after_help = "Examples:\n  autoscale-sim eval simulations/formulas/pending-tasks.formula --context simulations/contexts/busy.toml\n  autoscale-sim eval -e '$TargetDedicatedNodes = 3' --format json"
    )]
    Eval {
        #[command(flatten)]
        formula: FormulaArg,
        /// Evaluation context, TOML or JSON by extension (schema in the README).
        #[arg(long, short, value_name = "FILE")]
        context: Option<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Evaluation engine; both give identical results.
        #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
        engine: EngineArg,
    },
    /// Simulate a scenario: a pool, its workload and its formula over days.
    ///
    /// Prints a summary (cost, node-hours, queue waits, tasks, evaluations)
    /// on stdout. With --out, also writes timeline.csv, evaluations.jsonl,
    /// operations.jsonl, tasks.csv, job_tasks.csv, summary.json and charts
    /// into DIR. A
    /// progress bar shows on stderr when it is a terminal.
    ///
    /// With --agents real the same scenario runs on real machines, on the
    /// wall clock: agents (`autoscale-sim agent`, or --spawn-local N of them
    /// on this machine) join the controller at --listen, each becomes a
    /// node when the pool grows, and runs the command lines of the
    /// scenario's start task, job preparation, release and manager tasks
    /// and tasks; their exit codes and measured usage drive the run. It
    /// stops at the scenario's end, or as soon as every task has finished.
    #[command(
        after_help = "Examples:\n  autoscale-sim run simulations/bursty-day.toml\n  autoscale-sim run simulations/bursty-day.toml --out out/bursty --seed 7\n  autoscale-sim run simulations/real-agents.toml --agents real --spawn-local 3 --token-file agent.token --out out/real"
    )]
    Run(RunArgs),
    /// Compare formulas on the same workload and seeds (common random numbers).
    ///
    /// Runs every formula on every seed in parallel and prints, per formula,
    /// the mean cost with its 95 % confidence interval, node-hours, queue
    /// waits, makespan, failed evaluations and requeued task-hours, then which cost
    /// differences from the first formula are significant (paired t-test).
    #[command(
        after_help = "Examples:\n  autoscale-sim compare simulations/bursty-day.toml --formula simulations/formulas/pending-tasks.formula --formula simulations/formulas/cpu.formula --seeds 20"
    )]
    Compare {
        /// The scenario file; its pool must use autoscale.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// A formula file; repeat for each formula (the first is the baseline).
        #[arg(long = "formula", value_name = "FILE", required = true)]
        formulas: Vec<PathBuf>,
        /// How many seeds: the scenario's seed and the ones after it.
        #[arg(long, value_name = "N", default_value_t = 10)]
        seeds: u64,
        /// Folder for charts and report.html (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Worker threads; default: one per core.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Formula engine; both give identical results.
        #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
        engine: EngineArg,
    },
    /// Run a grid of scenario parameters × seeds; optionally one shard of it.
    ///
    /// Each --param sets a dotted key of the scenario to each of its values
    /// (a TOML value, or else a string). Prints the table of `compare`, one
    /// row per grid point; with --out writes runs.csv, summary.csv,
    /// sweep.json, charts and report.html. With --shard I/N runs only shard
    /// I (0-based) of N and writes runs-I-of-N.csv and sweep.json, for `merge`.
    #[command(
        after_help = "Examples:\n  autoscale-sim sweep simulations/bursty-day.toml --param pool.autoscale.interval=5m,15m,30m --seeds 10 --out out/sweep\n  autoscale-sim sweep simulations/bursty-day.toml --param pool.autoscale.interval=5m,15m --seeds 10 --shard 0/4 --out out/shard-0"
    )]
    Sweep {
        /// The scenario file.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// A parameter and its values: PATH=VALUE[,VALUE…]; repeat for a grid.
        #[arg(long = "param", value_name = "PATH=VALUES")]
        params: Vec<String>,
        /// Seeds per grid point: the scenario's seed and the ones after it.
        #[arg(long, value_name = "N", default_value_t = 10)]
        seeds: u64,
        /// Run only shard I of N (0 <= I < N).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Folder for the result files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Join the folders of a sharded sweep into the table and files of an unsharded one.
    #[command(
        after_help = "Examples:\n  autoscale-sim merge out/shard-0 out/shard-1 out/shard-2 out/shard-3 --out out/sweep"
    )]
    Merge {
        /// The shards' output folders.
        #[arg(value_name = "DIR", required = true)]
        dirs: Vec<PathBuf>,
        /// Folder for the merged files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run the formula test suites (`*.autoscale-test.toml`) under PATHS.
    ///
    /// Prints a line per case and a final `N passed, M failed` line; shows
    /// expected against actual for each failure. Exits 0 when every case
    /// passes, 2 when one fails, 1 when a suite file is malformed.
    #[command(
        after_help = "Examples:\n  autoscale-sim test simulations/\n  autoscale-sim test --filter pending-tasks --junit junit.xml\n  autoscale-sim test simulations/formulas/cpu.autoscale-test.toml --bless"
    )]
    Test {
        /// Suite files, or folders searched for them; default: the current folder.
        #[arg(value_name = "PATHS", default_value = ".")]
        paths: Vec<PathBuf>,
        /// Run only the cases whose name (`file::case`) contains this text.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write what failing point cases gave into their `expect` tables.
        #[arg(long)]
        bless: bool,
    },
    /// Run a real agent: join a controller as one node and run its tasks.
    ///
    /// Connects to the controller of `run --agents real` and runs each task
    /// it is sent as a child process (the command line split into program
    /// and arguments, never through a shell) in the folder layout and with
    /// the AZ_BATCH_* variables of the service: under --root, `shared/`,
    /// `startup/` and `workitems/JOB/tasks/TASK/{wd,stdout.txt,stderr.txt}`.
    /// Reports exit codes, and the machine's CPU, memory, disk and network
    /// use every --usage-interval. If the connection drops, kills its tasks
    /// (the simulator requeues them) and joins again; retries an unreachable
    /// controller with backoff, logging each attempt on stderr. Exits 0 when
    /// the controller releases it, 1 when rejected (wrong token, other
    /// version) or when the controller stays unreachable.
    #[command(
        after_help = "Examples:\n  echo \"$SECRET\" > agent.token\n  autoscale-sim agent --controller 127.0.0.1:7070 --token-file agent.token --slots 4 --root /mnt/batch"
    )]
    Agent(AgentArgs),
    /// Started by `agent` itself: kills the agent's tasks when the agent dies (see the agent's keeper).
    #[command(hide = true)]
    AgentKeeper,
}

/// The `run` subcommand's options.
#[derive(Debug, Args)]
struct RunArgs {
    /// The scenario file (schema in the README).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Folder for the output files (created if missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed of every random stream, instead of the scenario's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// An autoscale formula file to run instead of the scenario's, as
    /// `compare` swaps them.
    #[arg(long, value_name = "FILE")]
    formula: Option<PathBuf>,
    /// Formula engine; both give identical results.
    #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
    engine: EngineArg,
    /// Who does the work: simulated agents (virtual time) or real ones (wall clock).
    #[arg(long, value_enum, default_value_t = AgentsArg::Simulated)]
    agents: AgentsArg,
    /// With real agents: where the controller listens for them.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// With real agents: file holding the secret agents must present.
    #[arg(long, value_name = "FILE", required_if_eq("agents", "real"))]
    token_file: Option<PathBuf>,
    /// With real agents: start N agents on this machine.
    #[arg(long, value_name = "N", default_value_t = 0)]
    spawn_local: u32,
    /// With --spawn-local: the agents' node folders and logs (default: DIR/agents with --out, else a temporary folder).
    #[arg(long, value_name = "DIR")]
    agent_root: Option<PathBuf>,
    /// With real agents: use TLS with this certificate chain (PEM, the controller's own first);
    /// agents pin its SHA-256 fingerprint, which is logged at start.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// With --tls-cert: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With --spawn-local: how often the agents report their machine's usage.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    agent_usage_interval: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AgentsArg {
    /// Durations from the scenario, on a virtual clock.
    Simulated,
    /// Agent processes run the command lines, on the wall clock.
    Real,
}

/// The `agent` subcommand's options.
#[derive(Debug, Args)]
struct AgentArgs {
    /// The controller's address, as given to `run --listen`.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    controller: String,
    /// File holding the shared secret (surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// How many tasks run at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    slots: u32,
    /// The node root: where the node's folders and the tasks' files go (created if missing).
    #[arg(long, value_name = "DIR", default_value = "agent-root")]
    root: PathBuf,
    /// How often to report the machine's usage.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    usage_interval: std::time::Duration,
    /// How often to ping the controller.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_interval)]
    ping_interval: std::time::Duration,
    /// Give the connection up after this long without hearing from the controller.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_interval)]
    timeout: std::time::Duration,
    /// Failed connection attempts in a row before giving up.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    connect_attempts: u32,
    /// Connect with TLS and trust only the controller certificate with this SHA-256
    /// fingerprint (as the controller logs it, or `openssl x509 -noout -fingerprint -sha256`).
    #[arg(long, value_name = "HEX", value_parser = parse_fingerprint)]
    tls_fingerprint: Option<autoscale_sim::agent::Fingerprint>,
}

fn parse_fingerprint(text: &str) -> std::result::Result<autoscale_sim::agent::Fingerprint, String> {
    text.parse()
}

/// Where the formula comes from: a file (`-` for stdin) or `-e TEXT`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct FormulaArg {
    /// Formula file; `-` reads standard input.
    #[arg(value_name = "FORMULA_FILE")]
    file: Option<PathBuf>,
    /// Formula text given on the command line instead of a file.
    #[arg(short = 'e', long = "expr", value_name = "FORMULA")]
    expr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    /// Native code compiled with cranelift.
    Jit,
    /// The reference tree-walking interpreter.
    Interp,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Jit => Engine::Jit,
            EngineArg::Interp => Engine::Interp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The results string on stdout; errors on stderr.
    Text,
    /// `{"timestamp","results","error"}` on stdout, the shape of the service's autoScaleRun.
    Json,
}

impl FormulaArg {
    /// The formula's display name and text.
    fn load(&self) -> Result<(String, String)> {
        match (&self.expr, &self.file) {
            (Some(text), _) => Ok(("<expr>".to_owned(), text.clone())),
            (None, Some(path)) if path == Path::new("-") => {
                let bytes =
                    input::read_bounded_from(std::io::stdin().lock(), input::MAX_CLI_FORMULA_BYTES, "the formula")
                        .context("cannot read the formula from standard input")?;
                let text = String::from_utf8(bytes).context("cannot read the formula from standard input")?;
                Ok(("<stdin>".to_owned(), input::strip_bom(&text).to_owned()))
            }
            (None, Some(path)) => {
                let text = read_formula_file(path)?;
                Ok((path.display().to_string(), input::strip_bom(&text).to_owned()))
            }
            (None, None) => anyhow::bail!("give a formula file or -e FORMULA"),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(64) } else { ExitCode::SUCCESS };
        }
    };
    let result = match &cli.command {
        Command::Check { formula, deny } => check(formula, deny.is_some()),
        Command::Explain { lint } => explain(lint.as_deref()),
        Command::Fmt { check, files } => fmt(files, *check),
        Command::Lsp => autoscale_sim::lsp::run().map(|()| ExitCode::SUCCESS),
        Command::Eval { formula, context, format, engine } => eval(formula, context.as_deref(), *format, *engine),
        Command::Run(args) => run(args),
        Command::Compare { scenario, formulas, seeds, out, threads, engine } => {
            compare(scenario, formulas, *seeds, out.as_deref(), *threads, *engine)
        }
        Command::Sweep { scenario, params, seeds, shard, out } => {
            sweep(scenario, params, *seeds, shard.as_deref(), out.as_deref())
        }
        Command::Merge { dirs, out } => merge(dirs, out.as_deref()),
        Command::Test { paths, filter, junit, bless } => test(paths, filter.as_deref(), junit.as_deref(), *bless),
        Command::Agent(args) => agent(args),
        Command::AgentKeeper => agent_keeper(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            to_stderr!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes `text` to stdout. A reader that went away (`| head`) is not an
/// error: the rest of the output is dropped and the command goes on, so
/// it exits as it would have.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Reads a formula file as the CLI does: at most
/// [`input::MAX_CLI_FORMULA_BYTES`] (the compiler then reports a formula
/// over the service's limit as such), byte-order mark kept.
fn read_formula_file(path: &Path) -> Result<String> {
    let context = || format!("cannot read formula file `{}`", path.display());
    let bytes = input::read_bounded(path, input::MAX_CLI_FORMULA_BYTES, "the file").with_context(context)?;
    String::from_utf8(bytes).with_context(context)
}

/// Standard error for diagnostics, in colour on a terminal. Writes never
/// fail: see [`QuietStderr`].
fn stderr() -> QuietStderr {
    let color = if std::io::stderr().is_terminal() { ColorChoice::Auto } else { ColorChoice::Never };
    QuietStderr(StandardStream::stderr(color))
}

/// Standard error that drops what it cannot write, as [`to_stderr!`] does:
/// a command whose stderr was closed still exits as it would have.
struct QuietStderr(StandardStream);

impl Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(self.0.write(buf).unwrap_or(buf.len()))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

impl WriteColor for QuietStderr {
    fn supports_color(&self) -> bool {
        self.0.supports_color()
    }

    fn set_color(&mut self, spec: &ColorSpec) -> std::io::Result<()> {
        let _ = self.0.set_color(spec);
        Ok(())
    }

    fn reset(&mut self) -> std::io::Result<()> {
        let _ = self.0.reset();
        Ok(())
    }
}

fn report(name: &str, source: &str, diagnostics: &[Diagnostic]) -> Result<()> {
    let mut err = stderr();
    diag::render(&mut err, name, source, diagnostics)?;
    let n = diagnostics.len();
    writeln!(err, "error: {n} error{} in {name}", if n == 1 { "" } else { "s" })?;
    Ok(())
}

/// `check`: errors first, then the linter's warnings. Warnings alone exit 0
/// unless `--deny warnings`.
fn check(arg: &FormulaArg, deny_warnings: bool) -> Result<ExitCode> {
    use autoscale_sim::formula::lint;
    let (name, source) = arg.load()?;
    let (diagnostics, lints) = match Formula::compile(&source) {
        Ok(formula) => (formula.diagnostics().to_vec(), lint::lint(&source)),
        Err(d) => (vec![d], Vec::new()),
    };
    if !diagnostics.is_empty() {
        report(&name, &source, &diagnostics)?;
    }
    if !lints.is_empty() {
        let mut err = stderr();
        lint::render(&mut err, &name, &source, &lints)?;
        let n = lints.len();
        writeln!(err, "warning: {n} warning{} in {name}", if n == 1 { "" } else { "s" })?;
    }
    let failed = !diagnostics.is_empty() || (deny_warnings && !lints.is_empty());
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `explain`: one lint's explanation, or the list of lints.
fn explain(name: Option<&str>) -> Result<ExitCode> {
    use autoscale_sim::formula::lint;
    let text = match name {
        Some(name) => match lint::explain(name) {
            Some(info) => format!("{}: {}\n\n{}", info.name, info.summary, info.explanation),
            None => {
                to_stderr!("error: no lint named `{name}`; `autoscale-sim explain` lists them");
                return Ok(ExitCode::from(64));
            }
        },
        None => lint::LINTS.iter().map(|l| format!("{:32} {}\n", l.name, l.summary)).collect(),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `fmt`: rewrite each file (through its links: a symbolic link's target,
/// every name of a hard-linked file), or with `check` list the files that
/// would change.
fn fmt(files: &[PathBuf], check: bool) -> Result<ExitCode> {
    use autoscale_sim::formula::fmt;
    let mut failed = false;
    for path in files {
        // A byte-order mark stays: the formatter keeps it.
        let source = read_formula_file(path)?;
        let formatted = match fmt::format(&source) {
            Ok(text) => text,
            Err(e) => {
                to_stderr!("error: {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        if formatted == source {
            continue;
        }
        if check {
            print(&format!("{}\n", path.display()))?;
            failed = true;
        } else {
            autoscale_sim::atomic_write::write_through_links(path, formatted.as_bytes())
                .with_context(|| format!("cannot write formula file `{}`", path.display()))?;
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn eval(arg: &FormulaArg, context: Option<&Path>, format: Format, engine: EngineArg) -> Result<ExitCode> {
    let (name, source) = arg.load()?;
    let ctx = match context {
        Some(path) => EvalContext::load(path)?,
        None => EvalContext::new(Timestamp::now()),
    };
    let outcome = match Formula::compile_with(&source, engine.into()) {
        Ok(formula) => formula.evaluate(&ctx),
        Err(d) => Err(compile_error(&source, &d, &ctx)),
    };
    let (results, error) = match &outcome {
        Ok(o) => (&o.results, None),
        Err(e) => (&e.results, Some(e)),
    };
    let text = match format {
        Format::Text => format!("{results}\n"),
        Format::Json => {
            let json = JsonRun {
                timestamp: ctx.now.to_string(),
                results: results.to_string(),
                error: error.map(EvalError::service_error),
            };
            format!("{}\n", serde_json::to_string_pretty(&json)?)
        }
    };
    print(&text)?;
    let Some(error) = error else {
        return Ok(ExitCode::SUCCESS);
    };
    if format == Format::Text {
        let mut err = stderr();
        diag::render_eval_error(&mut err, &name, &source, error)?;
        writeln!(err, "{error}")?;
    }
    Ok(ExitCode::from(2))
}

/// The service's autoScaleRun object.
#[derive(serde::Serialize)]
struct JsonRun {
    timestamp: String,
    results: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ServiceError>,
}

/// `run`: load the scenario, simulate it with a progress bar, print the
/// summary and write the output files.
fn run(args: &RunArgs) -> Result<ExitCode> {
    use autoscale_sim::agent::driver::{self, RealAgents};
    use autoscale_sim::{report, scenario::Scenario, sim::Simulation};
    let (out, seed) = (args.out.as_deref(), args.seed);
    if args.agents == AgentsArg::Simulated && args.tls_cert.is_some() {
        anyhow::bail!("--tls-cert is for real agents: add --agents real");
    }
    let mut scenario = Scenario::load(&args.scenario)?.with_engine(args.engine.into());
    if let Some(path) = &args.formula {
        // At most the service's limit, a byte-order mark dropped, as `compare` reads it.
        let source = input::read_formula(path, autoscale_sim::formula::MAX_BYTES)
            .map_err(|e| anyhow::anyhow!("cannot read formula file `{}`: {e}", path.display()))?;
        let name = path.display().to_string();
        scenario
            .replace_formula(&source, &name)
            .with_context(|| format!("{}: --formula {name}", args.scenario.display()))?;
    }
    let duration = scenario.duration;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(duration.as_millis() / 1000);
        let style = indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% simulated, {msg} events")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut progress = |p: autoscale_sim::sim::Progress| {
        bar.set_position(p.now.as_millis() / 1000);
        bar.set_message(p.events.to_string());
    };
    let output = match (args.agents, &args.token_file) {
        (AgentsArg::Real, Some(token_file)) => {
            autoscale_sim::agent::logger::log_to_stderr(log::LevelFilter::Info);
            let root = match (&args.agent_root, out) {
                (Some(root), _) => root.clone(),
                (None, Some(out)) => out.join("agents"),
                (None, None) => std::env::temp_dir().join(format!("autoscale-sim-agents-{}", std::process::id())),
            };
            let tls = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => Some(autoscale_sim::agent::ServerTls::from_pem_files(cert, key)?),
                _ => None,
            };
            let options = RealAgents {
                tls,
                listen: args.listen,
                token_file: token_file.clone(),
                spawn_local: args.spawn_local,
                root,
                usage_interval: args.agent_usage_interval,
            };
            driver::run(scenario, seed, &options, &mut progress)?
        }
        _ => Simulation::new(scenario, seed).run(&mut progress),
    };
    bar.finish_and_clear();
    let summary = report::Summary::of(&output);
    if let Some(dir) = out {
        let mut written = report::write_all(&output, &summary, dir)?;
        written.extend(report::run_report::write(&output, &summary, dir)?);
        to_stderr!("wrote {} files to {}", written.len(), dir.display());
    }
    print(&summary.to_text(duration))?;
    Ok(ExitCode::SUCCESS)
}

/// `compare`: run every formula on every seed with a progress bar, print
/// the table and write the charts and report when asked.
fn compare(
    scenario: &Path,
    formulas: &[PathBuf],
    seeds: u64,
    out: Option<&Path>,
    threads: Option<u16>,
    engine: EngineArg,
) -> Result<ExitCode> {
    use autoscale_sim::report::compare::{self, CompareSpec};
    let spec = CompareSpec {
        scenario: scenario.to_owned(),
        formulas: formulas.to_vec(),
        seeds,
        engine: engine.into(),
        threads: threads.map(usize::from),
    };
    let bar = progress_bar(seeds.saturating_mul(formulas.len() as u64));
    let comparison = compare::compare(&spec, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(dir) = out {
        let written = autoscale_sim::report::charts::write_comparison(&comparison, dir)?;
        to_stderr!("wrote {} files to {}", written.len(), dir.display());
    }
    print(&comparison.to_text())?;
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {eta} left")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Prints a whole sweep's table and writes its files.
fn finish_sweep(whole: &autoscale_sim::report::sweep::Sweep, out: Option<&Path>) -> Result<()> {
    let comparison = whole.comparison();
    if let Some(dir) = out {
        let mut written = whole.write(dir, (0, 1))?;
        written.extend(autoscale_sim::report::charts::write_comparison(&comparison, dir)?);
        to_stderr!("wrote {} files to {}", written.len(), dir.display());
    }
    print(&comparison.to_text())
}

/// `sweep`: the grid (or one shard of it) with a progress bar.
fn sweep(scenario: &Path, params: &[String], seeds: u64, shard: Option<&str>, out: Option<&Path>) -> Result<ExitCode> {
    use autoscale_sim::report::sweep;
    anyhow::ensure!(seeds > 0, "--seeds must be at least 1");
    let grid = sweep::Grid::new(scenario, params, seeds)?;
    let shard = shard.map(sweep::parse_shard).transpose()?.unwrap_or((0, 1));
    let bar = progress_bar((grid.points() as u64 * seeds).div_ceil(shard.1));
    let result = sweep::sweep(&grid, shard, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if shard.1 == 1 {
        finish_sweep(&result, out)?;
    } else {
        let dir = out.context("a shard needs --out DIR, for `merge`")?;
        let written = result.write(dir, shard)?;
        to_stderr!(
            "shard {}/{}: {} runs; wrote {} files to {}",
            shard.0,
            shard.1,
            result.rows.len(),
            written.len(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `merge`: join shard folders and report as an unsharded sweep would.
fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<ExitCode> {
    let whole = autoscale_sim::report::sweep::merge(dirs)?;
    finish_sweep(&whole, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `HOST:PORT` with a valid port, for `agent --controller`; the host is
/// resolved at each connection attempt.
fn parse_host_port(s: &str) -> Result<String, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(s.to_owned()),
        _ => Err(format!("expected HOST:PORT, such as 127.0.0.1:7070, not `{s}`")),
    }
}

/// A positive duration such as `30s` or `500ms`.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(e) => Err(format!("{e} (expected a duration such as 30s or 500ms)")),
    }
}

/// `agent`: read the token, log to stderr and serve the controller until
/// released or stopped by SIGINT or SIGTERM.
fn agent(args: &AgentArgs) -> Result<ExitCode> {
    use autoscale_sim::agent::{ClientTls, Keeper, Token, logger, node};
    let options = node::NodeOptions {
        slots: args.slots,
        usage_interval: args.usage_interval,
        ping_interval: args.ping_interval,
        timeout: args.timeout,
        connect_attempts: args.connect_attempts,
        tls: args.tls_fingerprint.map(ClientTls::pinned),
        ..node::NodeOptions::new(args.controller.clone(), Token::from_file(&args.token_file)?, args.root.clone())
    };
    logger::log_to_stderr(log::LevelFilter::Info);
    let keeper = match std::env::current_exe().and_then(|exe| Keeper::spawn(&exe)) {
        Ok(keeper) => Some(std::sync::Arc::new(keeper)),
        Err(e) => {
            log::warn!("cannot start the keeper process ({e}): tasks would outlive a killed agent");
            None
        }
    };
    let options = node::NodeOptions { keeper, ..options };
    let stop = node::StopHandle::default();
    #[cfg(unix)]
    node::stop_on_signals(&stop)?;
    node::run_until(&options, &stop)?;
    Ok(ExitCode::SUCCESS)
}

/// `agent-keeper`: watch the task groups the agent names on stdin; kill
/// those left when it closes (the agent ended or died).
fn agent_keeper() -> Result<ExitCode> {
    let kill = |pid| {
        if let Err(e) = autoscale_sim::agent::runner::kill(pid) {
            to_stderr!("autoscale-sim agent-keeper: cannot kill task group {pid}: {e}");
        }
    };
    autoscale_sim::agent::keeper::serve(std::io::stdin().lock(), kill)?;
    Ok(ExitCode::SUCCESS)
}

/// `test`: load every suite (all problems reported before anything runs),
/// run the cases, optionally bless and write JUnit, print the report.
fn test(paths: &[PathBuf], filter: Option<&str>, junit: Option<&Path>, bless: bool) -> Result<ExitCode> {
    use autoscale_sim::testsuite;
    let files = testsuite::discover(paths)?;
    let mut suites = Vec::new();
    let mut malformed = 0;
    for file in &files {
        match testsuite::Suite::load(file) {
            Ok(suite) => suites.push(suite),
            Err(e) => {
                to_stderr!("error: {e}");
                malformed += 1;
            }
        }
    }
    if malformed > 0 {
        to_stderr!("error: {malformed} malformed test suite{}; no case was run", if malformed == 1 { "" } else { "s" });
        return Ok(ExitCode::from(1));
    }
    let mut run = testsuite::run(&suites, filter);
    if bless {
        for (file, n) in testsuite::bless(&suites, &mut run)? {
            to_stderr!("blessed {n} case{} in {file}", if n == 1 { "" } else { "s" });
        }
    }
    if let Some(path) = junit {
        testsuite::junit::write(&suites, &run, path)?;
    }
    print(&run.to_text(&suites))?;
    let (_, failed) = run.counts();
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
