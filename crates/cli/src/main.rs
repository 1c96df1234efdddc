//! `carevault`: the one binary. This crate is wiring only: it reads the configuration,
//! sets up logging, opens the store, builds the services and the router, and runs the
//! operator's commands. Errors end the process with one line on stderr and exit code 1.

mod commands;
mod config;
mod logging;

use std::process::ExitCode;

use clap::Parser;

use crate::config::Cli;

fn main() -> ExitCode {
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
