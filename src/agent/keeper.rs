//! The keeper: a small process that outlives its agent to kill the agent's tasks.
//!
//! An agent kills its tasks when it is released, loses its controller or
//! is stopped by SIGINT or SIGTERM. Killed with SIGKILL (or crashing), it
//! can do nothing: its tasks would run on, reparented to init, while the
//! controller runs them again elsewhere — the work done twice. So the
//! `agent` command first starts a keeper (`autoscale-sim agent-keeper`, a
//! second process of the same executable) and tells it, on a pipe, the
//! process group of every task it starts (`+PID`) and of every task whose
//! process it has reaped (`-PID`). The kernel closes the pipe when the agent
//! dies, however it dies; the keeper then kills every group it was told
//! about and exits. An agent that ends normally has killed its tasks
//! already and closes the pipe itself.
//!
//! Why a process and not a parent-death signal on each task: the signal
//! reaches only the task's first process (not what it starts), it fires
//! when the *thread* that started the task ends, and setting it needs code
//! run between fork and exec (`unsafe`). The keeper kills whole groups and
//! needs none of that.
//!
//! The keeper sits in its own process group, so a Ctrl-C at the agent's
//! terminal, which signals the agent's group, reaches the agent (which
//! kills its tasks and exits) but not the keeper. A task group is forgotten
//! as soon as its first process is reaped; the one window in which the
//! keeper could kill a stranger is an agent killed between reaping a task
//! and writing `-PID`, with the PID reused in between.

use std::collections::BTreeSet;
use std::io::{BufRead, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The agent's end of a running keeper.
#[derive(Debug)]
pub struct Keeper {
    pipe: Mutex<Option<ChildStdin>>,
    process: Mutex<Child>,
}

impl Keeper {
    /// Starts `exe agent-keeper` (`exe` is an `autoscale-sim` executable).
    pub fn spawn(exe: &Path) -> std::io::Result<Keeper> {
        let mut command = Command::new(exe);
        command.arg("agent-keeper").stdin(Stdio::piped()).stdout(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut process = command.spawn()?;
        let pipe = process.stdin.take();
        Ok(Keeper { pipe: Mutex::new(pipe), process: Mutex::new(process) })
    }

    /// Tells the keeper that the task process group `pid` was started.
    pub fn watch(&self, pid: u32) {
        self.tell(&format!("+{pid}\n"));
    }

    /// Tells the keeper that the task whose group is `pid` was reaped.
    pub fn forget(&self, pid: u32) {
        self.tell(&format!("-{pid}\n"));
    }

    fn tell(&self, line: &str) {
        let mut pipe = self.pipe.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(writer) = pipe.as_mut()
            && let Err(e) = writer.write_all(line.as_bytes())
        {
            // Said once: the tasks still run and are killed by the agent as
            // usual; only a SIGKILLed agent would leave them behind now.
            log::warn!("the keeper process is gone ({e}): tasks would outlive a killed agent");
            *pipe = None;
        }
    }
}

impl Drop for Keeper {
    /// Closes the pipe (the keeper kills what is left, then exits) and reaps it.
    fn drop(&mut self) {
        self.pipe.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let _ = self.process.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).wait();
    }
}

/// The keeper process's work: reads `+PID` / `-PID` lines from `input`
/// until it ends, then kills every group still watched with `kill`.
/// A line that is neither is an error: the agent never writes one.
pub fn serve(input: impl BufRead, mut kill: impl FnMut(u32)) -> std::io::Result<()> {
    let mut watched = BTreeSet::new();
    let mut result = Ok(());
    for line in input.lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        match parse(&line) {
            Some(Change::Watch(pid)) => watched.insert(pid),
            Some(Change::Forget(pid)) => watched.remove(&pid),
            None => {
                result =
                    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not +PID or -PID: {line:?}")));
                break;
            }
        };
    }
    // Whatever ended the input, the agent can no longer be trusted to kill its tasks.
    watched.into_iter().for_each(&mut kill);
    result
}

enum Change {
    Watch(u32),
    Forget(u32),
}

fn parse(line: &str) -> Option<Change> {
    let pid = |digits: &str| digits.parse().ok().filter(|&pid| pid > 0);
    match line.split_at_checked(1)? {
        ("+", digits) => pid(digits).map(Change::Watch),
        ("-", digits) => pid(digits).map(Change::Forget),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn killed(input: &str) -> (Vec<u32>, bool) {
        let mut killed = Vec::new();
        let ok = serve(input.as_bytes(), |pid| killed.push(pid)).is_ok();
        (killed, ok)
    }

    #[test]
    fn the_groups_still_watched_when_the_pipe_closes_are_killed() {
        assert_eq!(killed("+10\n+20\n-10\n+30\n"), (vec![20, 30], true));
        assert_eq!(killed(""), (vec![], true));
        assert_eq!(killed("+5\n-5\n"), (vec![], true));
    }

    #[test]
    fn a_garbled_line_ends_the_watch_and_kills_what_was_watched() {
        assert_eq!(killed("+10\nhello\n+20\n"), (vec![10], false));
        for bad in ["+0\n", "+-3\n", "+\n", "10\n", "+99999999999\n"] {
            assert_eq!(killed(bad), (vec![], false), "{bad:?}");
        }
    }
}
