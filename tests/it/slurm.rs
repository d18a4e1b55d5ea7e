//! The Slurm recipe of `docs/cluster.md`, run for real on a one-node
//! Slurm cluster started here: munged, slurmctld and slurmd as child
//! processes with a configuration of their own (this host as controller
//! and only node), the documented array script and merge submitted with
//! the documented commands, and the merged folder compared byte for byte
//! with an unsharded sweep. Ignored by default: it needs Debian's `slurm-wlm`
//! and `munge` and root; `.ci/run` installs them and runs it with
//! `cargo test --test it slurm -- --ignored`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::scratch_dir;

/// The longest the whole recipe may take once submitted.
const WAIT: Duration = Duration::from_secs(90);

/// The Slurm recipe of `docs/cluster.md`, as written there: the batch
/// script and the commands that submit it and the merge.
fn documented_recipe() -> (String, String) {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cluster.md")).unwrap();
    let section = &doc[doc.find("## Slurm").expect("docs/cluster.md has a Slurm section")..];
    let mut blocks = section.split("```sh\n").skip(1).map(|b| b[..b.find("```").expect("the block ends")].to_owned());
    (blocks.next().expect("the batch script"), blocks.next().expect("the submit commands"))
}

/// A free TCP port on loopback (free when asked; the daemons bind it soon after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The daemons this test started, stopped by PID when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for daemon in self.daemons.iter_mut().rev() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

impl Cluster {
    /// munged, slurmctld and slurmd in the foreground, every file under `dir`.
    fn start(dir: &Path) -> Cluster {
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout).unwrap();
        let host = host.trim();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let socket = dir.join("munge.sock");
        let key = dir.join("munge.key");
        std::fs::write(&key, (0..1024).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap();
        set_mode(&key, 0o400);
        for sub in ["state", "spool"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let path = |name: &str| dir.join(name).display().to_string();
        let conf = dir.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=autoscale-sim-test\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmUser=root\nSlurmdUser=root\n\
                 SlurmctldPort={}\nSlurmdPort={}\n\
                 AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={}\n\
                 StateSaveLocation={}\nSlurmdSpoolDir={}\n\
                 SlurmctldPidFile={}\nSlurmdPidFile={}\n\
                 SlurmctldLogFile={}\nSlurmdLogFile={}\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
                 SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
                 ReturnToService=2\nMpiDefault=none\nJobAcctGatherType=jobacct_gather/none\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                free_port(),
                free_port(),
                socket.display(),
                path("state"),
                path("spool"),
                path("slurmctld.pid"),
                path("slurmd.pid"),
                path("slurmctld.log"),
                path("slurmd.log"),
            ),
        )
        .unwrap();
        let mut cluster = Cluster { dir: dir.to_owned(), conf, daemons: Vec::new() };
        cluster.daemon(Command::new("munged").args([
            "--foreground",
            "--force",
            &format!("--key-file={}", key.display()),
            &format!("--socket={}", socket.display()),
            &format!("--pid-file={}", path("munged.pid")),
            &format!("--log-file={}", path("munged.log")),
            &format!("--seed-file={}", path("munged.seed")),
        ]));
        cluster.wait_until("munged's socket", || socket.exists());
        cluster.daemon(Command::new("slurmctld").args(["-D", "-i"]));
        cluster.daemon(Command::new("slurmd").args(["-D"]));
        cluster.wait_until("the node to be idle", || {
            cluster.slurm("sinfo", &["-h", "-o", "%t"]).is_ok_and(|state| state.trim() == "idle")
        });
        cluster
    }

    fn daemon(&mut self, command: &mut Command) {
        let log = std::fs::File::create(self.dir.join("daemons.out")).unwrap();
        let child = command
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        self.daemons.push(child);
    }

    /// Runs a Slurm client command in the work folder; its stdout, or its stderr as the error.
    fn slurm(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .env("PATH", path_with_binary())
            .current_dir(self.dir.join("work"))
            .output()
            .map_err(|e| e.to_string())?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if out.status.success() { Ok(text(&out.stdout)) } else { Err(text(&out.stderr)) }
    }

    fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done() {
            assert!(Instant::now() < deadline, "no {what} within {WAIT:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A job's state as `scontrol` shows it (`PENDING`, `COMPLETED`, `FAILED`, …);
    /// a job whose dependency failed is `DependencyNeverSatisfied`.
    fn job_state(&self, id: &str) -> String {
        let shown = self.slurm("scontrol", &["show", "job", id]).unwrap_or_default();
        let field = |name: &str| shown.split_whitespace().find_map(|f| f.strip_prefix(name)).unwrap_or("UNKNOWN");
        match (field("JobState="), field("Reason=")) {
            ("PENDING", reason @ "DependencyNeverSatisfied") => reason.to_owned(),
            (state, _) => state.to_owned(),
        }
    }

    fn logs(&self) -> String {
        let mut logs = String::new();
        for name in ["daemons.out", "munged.log", "slurmctld.log", "slurmd.log"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            logs += &format!("--- {name}\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        logs
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `PATH` with the tested binary's folder first, so that the README's
/// `autoscale-sim` is the one under test.
fn path_with_binary() -> String {
    let binary = Path::new(env!("CARGO_BIN_EXE_autoscale-sim")).parent().unwrap().display().to_string();
    format!("{binary}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path).into_iter().map(|(p, b)| (path.strip_prefix(dir).unwrap().join(p), b)));
        } else {
            found.push((path.strip_prefix(dir).unwrap().to_owned(), std::fs::read(&path).unwrap()));
        }
    }
    found.sort();
    found
}

#[test]
#[ignore = "starts a one-node Slurm cluster: needs slurm-wlm, munge and root; .ci/run runs it"]
fn the_documented_slurm_recipe_merges_to_the_unsharded_sweep() {
    let dir = scratch_dir("slurm");
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("shared")).unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/bursty-day.toml");
    std::fs::copy(&scenario, work.join("bursty-day.toml")).unwrap();
    // Its formula, where the scenario looks for it.
    std::fs::create_dir_all(work.join("formulas")).unwrap();
    let formulas = scenario.parent().unwrap().join("formulas");
    for entry in std::fs::read_dir(&formulas).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, work.join("formulas").join(path.file_name().unwrap())).unwrap();
    }
    let (script, submit) = documented_recipe();
    std::fs::write(work.join("sweep.sh"), &script).unwrap();
    let cluster = Cluster::start(&dir);

    // The submit commands, run by bash; then the ids of the array and the merge job.
    let submitted = cluster
        .slurm("bash", &["-euo", "pipefail", "-c", &format!("{submit}echo \"array $array\"")])
        .unwrap_or_else(|e| panic!("{e}"));
    let id = |prefix: &str| {
        let line = submitted.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{submitted}"));
        line.rsplit(' ').next().unwrap().to_owned()
    };
    let (array, merged) = (id("array "), id("Submitted batch job "));
    cluster.wait_until("merge job's end", || {
        !matches!(cluster.job_state(&merged).as_str(), "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING")
    });
    for shard in 0..4 {
        let output = std::fs::read_to_string(work.join(format!("slurm-{array}_{shard}.out"))).unwrap_or_default();
        assert_eq!(cluster.job_state(&format!("{array}_{shard}")), "COMPLETED", "shard {shard}: {output}");
    }
    assert_eq!(cluster.job_state(&merged), "COMPLETED", "{}", cluster.logs());

    // The same sweep, unsharded, with the script's options.
    let options = script.split("autoscale-sim sweep").nth(1).unwrap().split("--shard").next().unwrap();
    let mut args: Vec<&str> = options.split_whitespace().filter(|w| *w != "\\").collect();
    args.extend(["--out", "whole"]);
    let whole = Command::new(env!("CARGO_BIN_EXE_autoscale-sim")).arg("sweep").args(&args).current_dir(&work).output();
    assert!(whole.unwrap().status.success());
    let (merged, whole) = (files(&work.join("shared/sweep")), files(&work.join("whole")));
    assert!(!whole.is_empty());
    assert_eq!(
        merged.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        whole.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        "the merged folder holds other files"
    );
    for ((path, a), (_, b)) in merged.iter().zip(&whole) {
        assert!(a == b, "{} differs between the merged and the unsharded sweep", path.display());
    }
}
