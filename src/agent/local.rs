//! Agents on this machine: processes of the current executable, for
//! `run --agents real --spawn-local N`, tests and benchmarks.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Spawns `n` agents (`agent --controller ADDR --token-file F --root DIR/agent-i --name agent-i --slots S`)
/// of the current executable; see [`spawn_local_with`].
pub fn spawn_local(
    n: u32,
    controller: SocketAddr,
    token_file: &Path,
    root: &Path,
    slots: u32,
) -> std::io::Result<Vec<Child>> {
    spawn_local_with(&std::env::current_exe()?, n, controller, token_file, root, slots, &[])
}

/// Like [`spawn_local`], with another `autoscale-sim` executable (tests
/// and benchmarks are not one) and more `agent` options (`["--usage-interval", "1s"]`).
///
/// Agent `i` (from 0, like nodes and tasks) keeps its node root in
/// `DIR/agent-i`, writes its log to `DIR/agent-i.log` rather than to the
/// caller's terminal, and is called `agent-i` in the controller's log. The caller owns
/// the processes: release them through the controller ([`Controller::release`](crate::agent::controller::Controller::release):
/// they kill their tasks and exit), then wait for them. An agent killed
/// instead leaves its tasks to its [`keeper`](crate::agent::keeper), which kills them.
pub fn spawn_local_with(
    exe: &Path,
    n: u32,
    controller: SocketAddr,
    token_file: &Path,
    root: &Path,
    slots: u32,
    extra_args: &[OsString],
) -> std::io::Result<Vec<Child>> {
    std::fs::create_dir_all(root)?;
    let mut children = Vec::new();
    for i in 0..n {
        let log = std::fs::File::create(root.join(format!("agent-{i}.log")))?;
        let spawned = Command::new(exe)
            .arg("agent")
            .arg("--controller")
            .arg(controller.to_string())
            .arg("--token-file")
            .arg(token_file)
            .arg("--root")
            .arg(root.join(format!("agent-{i}")))
            .arg("--name")
            .arg(format!("agent-{i}"))
            .arg("--slots")
            .arg(slots.to_string())
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        match spawned {
            Ok(child) => children.push(child),
            Err(e) => {
                // Leave no half-started fleet behind.
                for mut child in children {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(e);
            }
        }
    }
    Ok(children)
}
