//! `carevault`: the one binary. This crate is wiring only: it reads the configuration,
//! sets up logging, opens the store, builds the services and the router, and runs the
//! operator's commands. Errors end the process with one line on stderr and exit code 1.

mod commands;
mod config;
mod logging;

use std::process::ExitCode;

use clap::Parser;

use crate::config::Cli;

/// Reports where a panic happened but not its message, which could carry data.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".into());
        tracing::error!(%location, "panic (message withheld: it could contain data)");
        eprintln!("carevault: internal error at {location}");
    }));
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("carevault: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("carevault: {err:#}");
            ExitCode::FAILURE
        }
    }
}
