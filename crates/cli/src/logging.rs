//! Logging setup: tracing to stderr, human-readable or JSON. What must never be logged is
//! listed in docs/LOGGING.md; the code logs ids, roles and outcomes, never personal data,
//! tokens or passwords.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    // Third-party crates speak at warn unless asked; their debug output can include SQL.
    let directives = format!(
        "warn,carevault={filter},carevault_web={filter},carevault_service={filter},carevault_store={filter}"
    );
    let filter = if filter.contains('=') || filter.contains(',') {
        EnvFilter::try_new(filter)?
    } else {
        EnvFilter::try_new(directives)?
    };
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
