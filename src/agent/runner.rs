//! Child processes: a task's folder, environment, command line and exit code.
//!
//! Layout under the node root (`agent --root`), created by [`NodeDirs::create`]
//! when the controller assigns the identity, and per task by [`spawn`]:
//!
//! ```text
//! shared/                              AZ_BATCH_NODE_SHARED_DIR
//! startup/                             the start task's folder: AZ_BATCH_NODE_STARTUP_DIR
//!   wd/  stdout.txt  stderr.txt
//! workitems/<job>/jobpreparation/      AZ_BATCH_JOB_PREP_DIR (wd/ is AZ_BATCH_JOB_PREP_WORKING_DIR)
//! workitems/<job>/jobrelease/
//! workitems/<job>/tasks/<task>/        an ordinary task
//!   wd/  stdout.txt  stderr.txt        wd/ is the working directory: AZ_BATCH_TASK_WORKING_DIR
//! ```
//!
//! Every task's folder is AZ_BATCH_TASK_DIR; it is emptied before the task
//! runs (a requeued task starts afresh). Ordinary tasks sit under `tasks/`
//! so that no task id can collide with `jobpreparation` or `jobrelease`.
//! Job and task ids become folder names, so they must be non-empty, at
//! most 255 bytes, and hold no `/`, `\`, NUL or control character, and not
//! be `.` or `..`; a task with another id is not run ([`RunError::BadId`]).
//!
//! The command line is split into a program and its arguments with POSIX
//! shell quoting rules (`shell-words`) but never run through a shell:
//! `echo $HOME` prints `$HOME`. A relative program with a `/` is found from
//! the working directory, one without in `PATH`. The child inherits the
//! agent's environment, less any `AZ_BATCH_*` variable, plus the task's
//! `AZ_BATCH_*` variables and then the spec's extra ones; its standard
//! input is empty. A start task gets no job variables.
//!
//! On Unix each task runs in its own process group so that killing it
//! kills whatever it started too. Exit codes: the process's own; a process
//! killed by signal N reports 128 + N, like a shell; -1 when it could not
//! start (bad id or command line, program not found), with the reason in
//! its `stderr.txt` when its folder could be made.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use super::protocol::{NodeIdentity, TaskKey, TaskKind, TaskSpec};

/// Why a task could not start. Reported as exit code -1.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A job or task id that cannot be a folder name (`../etc`, `a/b`, empty).
    #[error("{what} id {id:?} {why}")]
    BadId {
        /// `job` or `task`.
        what: &'static str,
        /// The id.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The command line does not split (an unclosed quote: `echo 'hi`).
    #[error("cannot split the command line {line:?}: {why}")]
    BadCommandLine {
        /// The command line.
        line: String,
        /// What is wrong with it.
        why: String,
    },
    /// The command line is empty or only spaces.
    #[error("the command line is empty")]
    EmptyCommandLine,
    /// The task's folder or output files could not be made (disk full, permissions).
    #[error("cannot prepare {}: {source}", path.display())]
    Folder {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program could not be started (not found, not executable).
    #[error("cannot start {program:?}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Checks that `id` can be used as one folder name; `what` names it in the error.
pub fn check_id<'a>(what: &'static str, id: &'a str) -> Result<&'a str, RunError> {
    let why = if id.is_empty() {
        "is empty"
    } else if id == "." || id == ".." {
        "is a relative folder name"
    } else if id.len() > 255 {
        "is longer than 255 bytes"
    } else if id.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        "contains a slash, a backslash or a control character"
    } else {
        return Ok(id);
    };
    Err(RunError::BadId { what, id: id.to_owned(), why })
}

/// Splits a command line into program and arguments with POSIX shell
/// quoting rules, without expanding anything.
pub fn split_command_line(line: &str) -> Result<(String, Vec<String>), RunError> {
    let mut words = shell_words::split(line)
        .map_err(|e| RunError::BadCommandLine { line: line.to_owned(), why: e.to_string() })?
        .into_iter();
    let program = words.next().ok_or(RunError::EmptyCommandLine)?;
    Ok((program, words.collect()))
}

/// A node's identity and the absolute folders of its layout.
#[derive(Debug, Clone)]
pub struct NodeDirs {
    identity: NodeIdentity,
    root: PathBuf,
}

impl NodeDirs {
    /// Creates `root`, `shared/` and `startup/` (absolute paths, so that
    /// tasks see absolute `AZ_BATCH_*` folders whatever the agent's cwd).
    pub fn create(root: &Path, identity: NodeIdentity) -> std::io::Result<NodeDirs> {
        std::fs::create_dir_all(root)?;
        let dirs = NodeDirs { identity, root: root.canonicalize()? };
        std::fs::create_dir_all(dirs.shared())?;
        std::fs::create_dir_all(dirs.startup().join("wd"))?;
        Ok(dirs)
    }

    /// The node root: AZ_BATCH_NODE_ROOT_DIR.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn shared(&self) -> PathBuf {
        self.root.join("shared")
    }

    fn startup(&self) -> PathBuf {
        self.root.join("startup")
    }

    fn job(&self, job_id: &str) -> Result<PathBuf, RunError> {
        Ok(self.root.join("workitems").join(check_id("job", job_id)?))
    }

    /// A task's folder (AZ_BATCH_TASK_DIR); checks the ids it uses.
    pub fn task_dir(&self, key: &TaskKey, kind: TaskKind) -> Result<PathBuf, RunError> {
        Ok(match kind {
            TaskKind::StartTask => self.startup(),
            TaskKind::JobPreparation => self.job(&key.job_id)?.join("jobpreparation"),
            TaskKind::JobRelease => self.job(&key.job_id)?.join("jobrelease"),
            TaskKind::Task => self.job(&key.job_id)?.join("tasks").join(check_id("task", &key.task_id)?),
        })
    }

    /// The `AZ_BATCH_*` variables of a task.
    pub fn environment(&self, key: &TaskKey, kind: TaskKind) -> Result<Vec<(&'static str, String)>, RunError> {
        let task_dir = self.task_dir(key, kind)?;
        let path = |p: &Path| p.display().to_string();
        let mut env = vec![
            ("AZ_BATCH_ACCOUNT_NAME", self.identity.account.clone()),
            ("AZ_BATCH_POOL_ID", self.identity.pool_id.clone()),
            ("AZ_BATCH_NODE_ID", self.identity.node_id.clone()),
            ("AZ_BATCH_TASK_ID", key.task_id.clone()),
            ("AZ_BATCH_NODE_ROOT_DIR", path(&self.root)),
            ("AZ_BATCH_NODE_SHARED_DIR", path(&self.shared())),
            ("AZ_BATCH_NODE_STARTUP_DIR", path(&self.startup())),
            ("AZ_BATCH_TASK_DIR", path(&task_dir)),
            ("AZ_BATCH_TASK_WORKING_DIR", path(&task_dir.join("wd"))),
        ];
        if kind != TaskKind::StartTask {
            let prep = self.task_dir(key, TaskKind::JobPreparation)?;
            env.extend([
                ("AZ_BATCH_JOB_ID", key.job_id.clone()),
                ("AZ_BATCH_JOB_PREP_DIR", path(&prep)),
                ("AZ_BATCH_JOB_PREP_WORKING_DIR", path(&prep.join("wd"))),
            ]);
        }
        Ok(env)
    }
}

/// Prepares a task's folder and starts its process. On a spawn failure
/// the reason is also written to the task's `stderr.txt`.
pub fn spawn(dirs: &NodeDirs, spec: &TaskSpec) -> Result<Child, RunError> {
    let env = dirs.environment(&spec.key, spec.kind)?;
    let (program, args) = split_command_line(&spec.command_line)?;
    let task_dir = dirs.task_dir(&spec.key, spec.kind)?;
    let folder_error = |path: &Path| {
        let path = path.to_owned();
        move |source| RunError::Folder { path, source }
    };
    if let Err(e) = std::fs::remove_dir_all(&task_dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(folder_error(&task_dir)(e));
    }
    let wd = task_dir.join("wd");
    std::fs::create_dir_all(&wd).map_err(folder_error(&wd))?;
    let stdout_path = task_dir.join("stdout.txt");
    let stdout = File::create(&stdout_path).map_err(folder_error(&stdout_path))?;
    let stderr_path = task_dir.join("stderr.txt");
    let mut stderr = File::create(&stderr_path).map_err(folder_error(&stderr_path))?;

    let mut command = Command::new(&program);
    command.args(&args).current_dir(&wd).stdin(Stdio::null()).stdout(stdout);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AZ_BATCH_") {
            command.env_remove(name);
        }
    }
    command.envs(env).envs(spec.env.iter().map(|(k, v)| (k, v)));
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let stderr_for_child = stderr.try_clone().map_err(folder_error(&stderr_path))?;
    command.stderr(stderr_for_child);
    command.spawn().map_err(|source| {
        let error = RunError::Spawn { program, source };
        // The task's own error output is where a user looks first; the
        // agent logs it too, so a failure to write it here is not fatal.
        let _ = writeln!(stderr, "autoscale-sim agent: {error}");
        error
    })
}

/// A finished process's exit code: its own, or 128 + the signal that killed it (Unix), or -1.
pub fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128 + signal;
    }
    -1
}

/// Kills a task's whole process group (Unix): the process and everything it started.
/// A group that is already gone is not an error.
#[cfg(unix)]
pub fn kill(child_id: u32) -> std::io::Result<()> {
    use nix::sys::signal::{Signal, killpg};
    let pid = i32::try_from(child_id).map_err(|_| std::io::Error::other("process id out of range"))?;
    match killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL) {
        // Already gone: it ended between the request and now.
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Killing a task needs process groups, which only Unix has here.
#[cfg(not(unix))]
pub fn kill(_child_id: u32) -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "killing tasks is supported on Unix only"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> (String, Vec<String>) {
        split_command_line(line).unwrap()
    }

    #[test]
    fn command_lines_split_like_a_shell_without_expansion() {
        assert_eq!(split("echo $HOME"), ("echo".to_owned(), vec!["$HOME".to_owned()]));
        assert_eq!(
            split("  prog 'a b'  \"c $d\" e\\ f"),
            ("prog".to_owned(), vec!["a b".into(), "c $d".into(), "e f".into()])
        );
        assert_eq!(split("ls *.txt; rm -rf /").1, vec!["*.txt;", "rm", "-rf", "/"]);
        assert_eq!(split("sh -c 'exit 3'").1, vec!["-c", "exit 3"]);
        assert!(matches!(split_command_line("echo 'hi"), Err(RunError::BadCommandLine { .. })));
        assert!(matches!(split_command_line("   "), Err(RunError::EmptyCommandLine)));
    }

    #[test]
    fn ids_that_are_not_one_folder_name_are_refused() {
        for good in ["task-1", "job_2", "a.b", "...", "ünïcode"] {
            assert_eq!(check_id("task", good).unwrap(), good);
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b", "tab\there", &"x".repeat(256)] {
            let err = check_id("task", bad).unwrap_err();
            assert!(err.to_string().starts_with("task id"), "{err}");
        }
    }

    #[test]
    fn task_folders_follow_the_layout_and_check_ids() {
        let root = std::env::temp_dir().join(format!("autoscale-runner-{}", std::process::id()));
        let identity = NodeIdentity { account: "a".into(), pool_id: "p".into(), node_id: "n".into() };
        let dirs = NodeDirs::create(&root, identity).unwrap();
        let key = |job: &str, task: &str| TaskKey { job_id: job.into(), task_id: task.into(), run: 1 };
        let rel = |kind, k: &TaskKey| dirs.task_dir(k, kind).unwrap().strip_prefix(dirs.root()).unwrap().to_owned();
        assert_eq!(rel(TaskKind::Task, &key("j", "t")), Path::new("workitems/j/tasks/t"));
        assert_eq!(rel(TaskKind::JobPreparation, &key("j", "t")), Path::new("workitems/j/jobpreparation"));
        assert_eq!(rel(TaskKind::JobRelease, &key("j", "t")), Path::new("workitems/j/jobrelease"));
        assert_eq!(rel(TaskKind::StartTask, &key("", "start")), Path::new("startup"));
        assert!(dirs.task_dir(&key("..", "t"), TaskKind::Task).is_err());
        assert!(dirs.task_dir(&key("j", "../../x"), TaskKind::Task).is_err());
        let env = dirs.environment(&key("", "start"), TaskKind::StartTask).unwrap();
        assert!(env.iter().all(|(name, _)| !name.starts_with("AZ_BATCH_JOB")), "{env:?}");
        assert_eq!(dirs.environment(&key("j", "t"), TaskKind::Task).unwrap().len(), 12);
        assert!(dirs.root().join("shared").is_dir() && dirs.root().join("startup/wd").is_dir());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
