//! The `autoscale-sim` command line: parses arguments (clap derive), calls
//! the library, renders what it returns.
//!
//! Exit codes: 0 success; 1 the formula has errors (`check`) or an input
//! could not be read (`test`: a suite is malformed); 2 the evaluation
//! failed (`eval`), a case failed (`test`) or no point meets the objectives
//! (`tune`); 64 bad command-line usage.
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

mod formula_commands;

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
    /// Explain a lint or an error code: what it means and what to write instead.
    ///
    /// Without a name, lists every lint and error code.
    #[command(
        after_help = "Examples:\n  autoscale-sim explain percent-compared-with-fraction\n  autoscale-sim explain E0100\n  autoscale-sim explain"
    )]
    Explain {
        /// The lint's name, as `check` prints it in `warning[NAME]`, or an
        /// error's code, as in `error[E0100]`.
        #[arg(value_name = "LINT_OR_CODE")]
        lint: Option<String>,
    },
    /// Format formula files in place: each statement on its own lines (its
    /// line breaks kept), spaces around operators, comments kept.
    ///
    /// `-` formats standard input to standard output.
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
        /// The formula files; `-` for standard input.
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
        /// A formula file; repeat for each formula (the first is the
        /// baseline). POOL=FILE for a pool of a several-pool scenario.
        #[arg(long = "formula", value_name = "[POOL=]FILE", required = true)]
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
    /// (a TOML value, or else a string); `formula.NAME` sets the number the
    /// formula assigns to its variable NAME. Prints the table of `compare`, one
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
    /// Find the cheapest parameters that meet service-level objectives.
    ///
    /// Each --param is a formula constant (formula.NAME) or a scenario key,
    /// with an integer range LO..HI, a real range (100 steps) or a list
    /// A,B,C. Each point runs on the same --seeds; the objective and every
    /// --slo apply to seed means. A Bayesian optimiser picks --budget
    /// points, --batch at a time, run in parallel. Prints the best feasible
    /// point with 95 % intervals, the runner-ups and the saving against the
    /// scenario as written; with --out writes trials.csv, tuned.formula, the
    /// cost-vs-wait chart and report.html.
    /// Exits 2 when no point meets the objectives, naming the closest one.
    /// With --shard I/N runs search I (0-based) of N independent ones (its
    /// search seed --search-seed + I, the same seeds), writes tune.json too
    /// and exits 0; `merge` joins the shards' points.
    #[command(
        after_help = "Examples:\n  autoscale-sim tune simulations/tune-cap.toml --param formula.maxNumberofVMs=1..40 --slo 'p95_wait<=45m' --seeds 4 --budget 15 --out out/tune\n  autoscale-sim tune simulations/tune-cap.toml --param formula.maxNumberofVMs=1..40 --slo 'p95_wait<=45m' --seeds 4 --budget 15 --shard 0/2 --out out/tune-0"
    )]
    Tune(TuneArgs),
    /// Make a scenario from the service's exports of a pool and its tasks.
    ///
    /// Reads the pool as `az batch pool show` prints it and task lists as
    /// `az batch task list` (or the REST API) prints them, and writes into
    /// --out a scenario.toml that `run` runs unchanged: the pool's VM size,
    /// slots, formula (formula.formula) or targets, and each job's completed
    /// tasks at their creation times with their real run times (a CSV trace
    /// per job, or a task list when tasks have dependencies or instances).
    /// Prints what it mapped and what it could not.
    #[command(after_help = "Examples:
  az batch pool show --pool-id render > pool.json
  az batch task list --job-id frames > tasks.json
  autoscale-sim import --pool pool.json --tasks tasks.json --dedicated-price 0.096 --out imported
  autoscale-sim run imported/scenario.toml")]
    Import {
        /// The pool's JSON export.
        #[arg(long, value_name = "POOL.json")]
        pool: PathBuf,
        /// A task list (a JSON array or a REST page); repeat for more pages or jobs.
        #[arg(long = "tasks", value_name = "TASKS.json", required = true)]
        tasks: Vec<PathBuf>,
        /// The job of tasks whose `url` names none (default: `imported`).
        #[arg(long, value_name = "ID")]
        job: Option<String>,
        /// The VM's cores, for a size the bundled catalog does not know.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        cores: Option<u32>,
        /// Price per hour of a dedicated node (default 0: no costs).
        #[arg(long, value_name = "PRICE", value_parser = parse_price, allow_negative_numbers = true)]
        dedicated_price: Option<f64>,
        /// Price per hour of a low-priority node (default 0).
        #[arg(long, value_name = "PRICE", value_parser = parse_price, allow_negative_numbers = true)]
        low_priority_price: Option<f64>,
        /// Folder for scenario.toml and the files it names (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Join the folders of a sharded sweep or tune into the outputs of an unsharded one.
    ///
    /// Sweep shards (sweep.json) give the sweep's table and files; tune
    /// shards (tune.json) give the report and files of a tune run with all
    /// their points, and exit 2 when none meets the objectives.
    #[command(
        after_help = "Examples:\n  autoscale-sim merge out/shard-0 out/shard-1 out/shard-2 out/shard-3 --out out/sweep\n  autoscale-sim merge out/tune-0 out/tune-1 --out out/tune"
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
    /// Serve the playground: a page to edit a formula and see the run redrawn.
    ///
    /// Listens on 127.0.0.1 only and prints the page's address. The page
    /// re-runs the scenario on every edit of the formula or of the main
    /// settings (interval, VM, load) and draws the nodes, the queue and the
    /// cost; it offers the bundled scenarios, and SCENARIO first when given.
    /// Stop it with Ctrl-C.
    #[command(
        after_help = "Examples:\n  autoscale-sim serve\n  autoscale-sim serve simulations/bursty-day.toml --port 8080 --open"
    )]
    Serve {
        /// A scenario to offer first, besides the bundled ones.
        #[arg(value_name = "SCENARIO")]
        scenario: Option<PathBuf>,
        /// The port; 0 picks a free one.
        #[arg(long, value_name = "P", default_value_t = 7878)]
        port: u16,
        /// Open the page in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Started by `agent` itself: kills the agent's tasks when the agent dies (see the agent's keeper).
    #[command(hide = true)]
    AgentKeeper,
}

/// The format of `run --out`'s tasks and timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    /// `tasks.csv` and `timeline.csv`.
    Csv,
    /// `tasks.parquet` and `timeline.parquet`.
    Parquet,
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
    /// With --out: the tasks and the timeline as CSV, or as parquet
    /// (`tasks.parquet`, `timeline.parquet`; builds with the `parquet` feature).
    #[arg(long, value_enum, default_value_t = OutFormat::Csv, requires = "out")]
    out_format: OutFormat,
    /// Seed of every random stream, instead of the scenario's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// An autoscale formula file to run instead of the scenario's, as
    /// `compare` swaps them; POOL=FILE for a pool of a several-pool
    /// scenario (repeat it for several).
    #[arg(long, value_name = "[POOL=]FILE")]
    formula: Vec<String>,
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
    /// With real agents: simulated seconds per wall-clock second. Hidden:
    /// tests use it to see several 30-s samples of a run within seconds.
    #[arg(long, value_name = "N", default_value = "1", hide = true)]
    clock_speed: std::num::NonZeroU32,
}

/// The `tune` subcommand's options.
#[derive(Debug, Args)]
struct TuneArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// A parameter and its values: KEY=LO..HI or KEY=A,B,C; repeat for more.
    #[arg(long = "param", value_name = "KEY=VALUES", required = true)]
    params: Vec<String>,
    /// A constraint on a seed mean: METRIC<=VALUE or METRIC>=VALUE, e.g. 'p95_wait<=30m'.
    #[arg(long = "slo", value_name = "CONSTRAINT")]
    slos: Vec<String>,
    /// What to minimise.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Cost)]
    objective: ObjectiveArg,
    /// Seeds per point: the scenario's seed and the ones after it.
    #[arg(long, value_name = "N", default_value_t = 5)]
    seeds: u64,
    /// Points to evaluate (a point is one set of values on every seed).
    #[arg(long, value_name = "K", default_value_t = 30)]
    budget: usize,
    /// Points chosen and run together; the result depends on it, not on the cores.
    #[arg(long, value_name = "B", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    batch: u16,
    /// The search: Bayesian optimisation, or random points (a baseline).
    #[arg(long, value_enum, default_value_t = SearchArg::Bayes)]
    search: SearchArg,
    /// Seed of the search itself (its first points).
    #[arg(long, value_name = "N", default_value_t = 0)]
    search_seed: u64,
    /// Folder for trials.csv, tuned.formula, the chart and report.html (created if missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run independent search I of N (0 <= I < N), for `merge`; needs --out.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ObjectiveArg {
    /// Total cost.
    Cost,
    /// Billed node-hours.
    NodeHours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SearchArg {
    /// Constrained Bayesian optimisation.
    Bayes,
    /// Uniformly random points.
    Random,
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
    /// What the controller's log calls this agent (default: the machine's host name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
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
                let text = formula_commands::read_stdin()?;
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
    let cli = match Cli::try_parse().and_then(Cli::refuse_ignored_flags) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(64) } else { ExitCode::SUCCESS };
        }
    };
    let result = match &cli.command {
        Command::Check { formula, deny } => check(formula, deny.is_some()),
        Command::Explain { lint } => formula_commands::explain(lint.as_deref()),
        Command::Fmt { check, files } => formula_commands::fmt(files, *check),
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
        Command::Tune(args) => tune(args),
        Command::Import { pool, tasks, job, cores, dedicated_price, low_priority_price, out } => {
            let options = autoscale_sim::import::Options {
                pool: pool.clone(),
                tasks: tasks.clone(),
                job: job.clone(),
                cores: *cores,
                dedicated_price: *dedicated_price,
                low_priority_price: *low_priority_price,
            };
            import(&options, out)
        }
        Command::Test { paths, filter, junit, bless } => test(paths, filter.as_deref(), junit.as_deref(), *bless),
        Command::Agent(args) => agent(args),
        Command::Serve { scenario, port, open } => serve(scenario.as_deref(), *port, *open),
        Command::AgentKeeper => agent_keeper(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            to_stderr!("error: {}", causes(&e));
            ExitCode::from(1)
        }
    }
}

/// `e` and its causes, each said once: an error that shows its source
/// (`cannot read token file `x`: No such file…`) is not followed by it again.
fn causes(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
    }
    text
}

impl Cli {
    /// Refuses, as clap refuses a usage error, a flag that the other flags
    /// would make do nothing: `run --spawn-local N` or `run --clock-speed N`
    /// without `--agents real`.
    fn refuse_ignored_flags(self) -> Result<Cli, clap::Error> {
        if let Command::Run(args) = &self.command
            && args.agents != AgentsArg::Real
        {
            let ignored = if args.spawn_local > 0 {
                Some("--spawn-local starts real agents")
            } else if args.clock_speed.get() != 1 {
                Some("--clock-speed paces real agents' wall clock")
            } else {
                None
            };
            if let Some(why) = ignored {
                let cli = <Cli as clap::CommandFactory>::command();
                let run = cli.find_subcommand("run").cloned().unwrap_or(cli);
                return Err(run.bin_name("autoscale-sim run").error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    format!("{why}: add `--agents real` (and `--token-file FILE`)"),
                ));
            }
        }
        Ok(self)
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
    use autoscale_sim::{
        report,
        scenario::Scenario,
        sim::{Recordings, Simulation},
    };
    let (out, seed) = (args.out.as_deref(), args.seed);
    if args.agents == AgentsArg::Simulated && args.tls_cert.is_some() {
        anyhow::bail!("--tls-cert is for real agents: add --agents real");
    }
    let mut scenario = Scenario::load(&args.scenario)?.with_engine(args.engine.into());
    for arg in &args.formula {
        let (pool, path) =
            scenario.formula_target(arg).map_err(|e| anyhow::anyhow!("{}: --formula {e}", args.scenario.display()))?;
        // At most the service's limit, a byte-order mark dropped, as `compare` reads it.
        let source = input::read_formula(Path::new(path), autoscale_sim::formula::MAX_BYTES)
            .map_err(|e| anyhow::anyhow!("cannot read formula file `{path}`: {e}"))?;
        scenario
            .replace_pool_formula(pool, &source, path)
            .with_context(|| format!("{}: --formula {arg}", args.scenario.display()))?;
    }
    for note in &scenario.notes {
        to_stderr!("note: {note}");
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
    let format = out_format(args.out_format)?;
    // Each pool's files are started before the run and written as it goes;
    // without --out nothing reads the records, only the summary's counts.
    let recordings = |dir: Option<&Path>, scenario: &Scenario| -> Result<Recordings> {
        Ok(match dir {
            Some(dir) => {
                let jobs = scenario.jobs.iter().map(|j| j.id.clone()).collect();
                report::RunFiles::create(dir, format, jobs, scenario.start)?.into_recordings()
            }
            None => Recordings::counted(),
        })
    };
    if scenario.only_pool().is_none() {
        if args.agents == AgentsArg::Real {
            anyhow::bail!(
                "{}: real agents run a one-pool scenario; this one has several pools ({})",
                args.scenario.display(),
                scenario.pool_ids()
            );
        }
        let pool_dir = |id: &str| out.map(|dir| report::account::pool_dir(dir, id));
        let scenario = std::sync::Arc::new(scenario);
        let account = autoscale_sim::sim::Account::new(std::sync::Arc::clone(&scenario), seed)
            .send_records_to(|id| recordings(pool_dir(id).as_deref(), &scenario))?;
        let runs = account.run_with_records(&mut progress);
        bar.finish_and_clear();
        // Nothing is written of a run that stopped early: its files, begun
        // under temporary names, are removed with their sinks.
        if let Some(stopped) = runs.iter().find_map(|(output, _)| output.stopped.as_ref()) {
            anyhow::bail!("{}: {stopped}", args.scenario.display());
        }
        let mut written = Vec::new();
        let mut outputs = Vec::new();
        for (output, records) in runs {
            if let Some(dir) = pool_dir(&output.pool) {
                written.extend(report::RunFiles::finish(Some(records), &dir, format, &output)?);
            }
            outputs.push(output);
        }
        let summary = report::account::AccountSummary::of(&outputs);
        if let Some(dir) = out {
            written.extend(report::account::write_others(&outputs, &summary, dir)?);
            to_stderr!("wrote {} files to {}", written.len(), dir.display());
        }
        print(&summary.to_text(duration))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (output, records) = match (args.agents, &args.token_file) {
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
                clock_speed: args.clock_speed,
            };
            // A run on the wall clock keeps its records, and writes them at the end.
            (driver::run(scenario, seed, &options, &mut progress)?, None)
        }
        _ => {
            let recordings = recordings(out, &scenario)?;
            let (output, records) =
                Simulation::new(scenario, seed).send_records_to(recordings).run_with_records(&mut progress);
            (output, Some(records))
        }
    };
    bar.finish_and_clear();
    // Nothing is written of a run that stopped early: its files, begun
    // under temporary names, are removed with their sinks.
    if let Some(stopped) = &output.stopped {
        anyhow::bail!("{}: {stopped}", args.scenario.display());
    }
    let summary = report::Summary::of(&output);
    if let Some(dir) = out {
        let mut written = report::RunFiles::finish(records, dir, format, &output)?;
        written.extend(report::write_others(&output, &summary, dir)?);
        written.extend(report::run_report::write(&output, &summary, dir)?);
        to_stderr!("wrote {} files to {}", written.len(), dir.display());
    }
    // The run's own length: a run on real agents stops when its work is done.
    print(&summary.to_text(output.duration))?;
    Ok(ExitCode::SUCCESS)
}

/// The library's format for `--out-format`, or why this build has none.
fn out_format(format: OutFormat) -> Result<autoscale_sim::report::OutFormat> {
    Ok(match format {
        OutFormat::Csv => autoscale_sim::report::OutFormat::Csv,
        #[cfg(feature = "parquet")]
        OutFormat::Parquet => autoscale_sim::report::OutFormat::Parquet,
        #[cfg(not(feature = "parquet"))]
        OutFormat::Parquet => anyhow::bail!(NO_PARQUET),
    })
}

/// Why a build without the `parquet` feature refuses `--out-format parquet`.
#[cfg(not(feature = "parquet"))]
const NO_PARQUET: &str =
    "--out-format parquet: this build has no parquet output; build with `cargo build --release --features parquet`";

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

/// `merge`: join shard folders and report as an unsharded sweep or tune
/// would; the first folder says which (`tune.json` or `sweep.json`).
fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<ExitCode> {
    use autoscale_sim::tune::shard;
    if dirs.first().is_some_and(|d| d.join(shard::MANIFEST).exists()) {
        return finish_tune(&shard::merge(dirs)?, out);
    }
    let whole = autoscale_sim::report::sweep::merge(dirs)?;
    finish_sweep(&whole, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `tune`: the search with a progress bar; exit 2 when no point is feasible.
fn tune(args: &TuneArgs) -> Result<ExitCode> {
    use autoscale_sim::tune::{TuneSpec, search::Method, slo::Metric};
    let spec = TuneSpec {
        scenario: args.scenario.clone(),
        params: args.params.clone(),
        slos: args.slos.clone(),
        objective: match args.objective {
            ObjectiveArg::Cost => Metric::Cost,
            ObjectiveArg::NodeHours => Metric::NodeHours,
        },
        seeds: args.seeds,
        budget: args.budget,
        batch: args.batch.into(),
        method: match args.search {
            SearchArg::Bayes => Method::Bayes,
            SearchArg::Random => Method::Random,
        },
        search_seed: args.search_seed,
    };
    let shard = args.shard.as_deref().map(autoscale_sim::report::sweep::parse_shard).transpose()?;
    let dir = args.out.as_deref();
    if shard.is_some() && dir.is_none() {
        anyhow::bail!("a shard needs --out DIR, for `merge`");
    }
    // Each shard searches on its own, from its own first points.
    let spec = TuneSpec { search_seed: spec.search_seed.wrapping_add(shard.map_or(0, |s| s.0)), ..spec };
    let bar = progress_bar(spec.planned_runs());
    let tuning = autoscale_sim::tune::tune(&spec, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let (Some((i, n)), Some(dir)) = (shard, dir) else {
        return finish_tune(&tuning, dir);
    };
    let mut written = tuning.write(dir)?;
    written.push(autoscale_sim::tune::shard::Manifest::of(&spec, (i, n), &tuning).write(dir)?);
    to_stderr!("shard {i}/{n}: {} points; wrote {} files to {}", tuning.trials.len(), written.len(), dir.display());
    // Whether any point is feasible is for the merge of every shard to say.
    print(&tuning.to_text())?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a tuning (of `tune` or `merge`), writes its files into `out`;
/// exit 2 when no point is feasible.
fn finish_tune(tuning: &autoscale_sim::tune::Tuning, out: Option<&Path>) -> Result<ExitCode> {
    if let Some(dir) = out {
        let written = tuning.write(dir)?;
        to_stderr!("wrote {} files to {}", written.len(), dir.display());
    }
    print(&tuning.to_text())?;
    if tuning.best().is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(closest) = tuning.closest() {
        let failing: Vec<String> = tuning.failing(closest).iter().map(ToString::to_string).collect();
        to_stderr!(
            "error: no point meets the constraints; the closest, {}, fails {}",
            closest.label,
            failing.join(", ")
        );
    }
    Ok(ExitCode::from(2))
}

/// `import`: write the scenario, then say what was written and what was not mapped.
fn import(options: &autoscale_sim::import::Options, out: &Path) -> Result<ExitCode> {
    let written = autoscale_sim::import::import(options, out)?;
    let mut text = String::new();
    for file in &written.files {
        text += &format!("wrote {}\n", file.display());
    }
    for note in &written.notes {
        text += &format!("note: {note}\n");
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A price per hour: a number, 0 or more.
fn parse_price(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(price) if price.is_finite() && price >= 0.0 => Ok(price),
        _ => Err(format!("`{s}` is not a price per hour (a number, 0 or more)")),
    }
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
    match autoscale_sim::time::parse_duration(s) {
        Ok(d) if d.as_millis() > 0 => Ok(d.to_std()),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(e) => Err(e),
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
        name: args.name.clone(),
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

/// `serve`: bind loopback, print the page's address, answer until stopped.
fn serve(scenario: Option<&Path>, port: u16, open: bool) -> Result<ExitCode> {
    use autoscale_sim::serve::{Catalog, Server};
    let catalog = Catalog::new(scenario)?;
    let server = Server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)), catalog)?;
    print(&format!("playground at {}\n", server.url()))?;
    if open && let Err(e) = open::that_detached(server.url()) {
        to_stderr!("warning: cannot open a browser ({e}); open {} yourself", server.url());
    }
    autoscale_sim::agent::logger::log_to_stderr(log::LevelFilter::Warn);
    server.run();
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
