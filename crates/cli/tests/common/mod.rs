//! Running the built `carevault` binary from tests: a command with a clean environment, and
//! its stderr kept in the test log that CI greps for secrets.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `carevault --data-dir <data_dir>`, with a clean environment, run from the data dir's parent.
pub fn carevault(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carevault"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(data_dir.parent().unwrap_or(Path::new("/")));
    command
}

/// `$CAREVAULT_TEST_LOG_DIR/cli-<pid>.log` when that is set.
fn test_log() -> Option<std::fs::File> {
    let dir = std::env::var_os("CAREVAULT_TEST_LOG_DIR")?;
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&dir).join(format!("cli-{}.log", std::process::id())))
        .ok()
}

/// Keeps a finished command's stderr in the test log, and hands the output back.
pub fn logged(output: Output) -> Output {
    if let Some(mut file) = test_log() {
        use std::io::Write as _;
        let _ = file.write_all(&output.stderr);
    }
    output
}

/// The stderr of a long-running child: the test log, or nowhere.
pub fn child_stderr() -> Stdio {
    test_log().map_or_else(Stdio::null, Stdio::from)
}
