//! The commands: `serve`, `migrate` and `user …`.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use carevault_service::demo::{DEMO_ACCOUNTS, DemoSeed};
use carevault_service::users::NewAccount;
use carevault_service::{ServiceSettings, Services, SystemClock, ThrottleSettings};
use carevault_store::{ConnectSettings, Store};
use carevault_web::{AppState, WebSettings};
use secrecy::SecretString;

use crate::config::{Cli, Command, Config, ServeArgs, UserCommand};
use crate::logging;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => ServeArgs::default(),
    };
    let config = Config::load(&cli.global, &serve_args)?;
    logging::init(config.log_format, &config.log_level)?;
    match cli.command {
        Command::Serve(_) => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = store.applied_migrations().await?;
            println!(
                "{} migrations applied to {}:",
                applied.len(),
                store.redacted_url()
            );
            for name in applied {
                println!("  {name}");
            }
            Ok(())
        }
        Command::User(command) => user(config, command).await,
    }
}

/// Creates `dir` (and parents) readable by the owner only.
fn ensure_private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the {what} {}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the {what} {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("the {what} {} is not a directory", dir.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %dir.display(), "the {what} is readable by other users; chmod 700 it");
    }
    Ok(())
}

/// Opens the database (creating the data directory for SQLite) and applies migrations.
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        ensure_private_dir(&config.data_dir, "data directory")?;
    }
    let store = Store::connect(
        &config.database_url,
        &ConnectSettings {
            max_connections: config.db_max_connections,
            ..Default::default()
        },
    )
    .await?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot apply migrations to {}", store.redacted_url()))?;
    Ok(store)
}

fn services(store: Store, config: &Config) -> Services {
    Services::new(
        store,
        Arc::new(SystemClock),
        ServiceSettings {
            session_idle_timeout: config.session_idle_timeout,
            session_absolute_timeout: config.session_absolute_timeout,
            throttle: ThrottleSettings::default(),
        },
    )
}

async fn serve(config: Config) -> anyhow::Result<()> {
    ensure_private_dir(&config.data_dir, "data directory")?;
    ensure_private_dir(&config.key_dir, "key directory")?;
    let store = open_store(&config).await?;
    let backend = store.backend();
    let services = services(store, &config);

    if config.demo {
        match services.seed_demo().await? {
            DemoSeed::Created | DemoSeed::AlreadyDemo => {}
            DemoSeed::RefusedRealData => bail!(
                "--demo: this database already holds real accounts; demo mode only starts on an \
                 empty data directory (choose another --data-dir)"
            ),
        }
    } else if services.holds_demo_data().await? {
        bail!(
            "this database was created by `serve --demo` and its accounts have published \
             passwords; start it with --demo, or use a fresh --data-dir for real patients"
        );
    }

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    println!(
        "Carevault {} is serving at http://{address}/ ({backend})",
        env!("CARGO_PKG_VERSION")
    );
    if config.public_url.as_str().trim_end_matches('/') != format!("http://{address}") {
        println!("Public URL: {}", config.public_url);
    }
    if config.demo {
        println!("\nDEMO DATA — not for real patients. Sign in with:");
        println!("  {:<11} {:<12} role", "username", "password");
        for (username, password, role, _) in DEMO_ACCOUNTS {
            println!("  {username:<11} {password:<12} {role}");
        }
        println!();
    } else if services.account_count().await? == 0 {
        println!(
            "\nNo accounts yet. Create the first administrator with:\n  carevault user create --username admin --role admin{}\n",
            data_dir_hint(&config)
        );
    }

    let state = AppState::new(
        services.clone(),
        WebSettings {
            public_url: config.public_url.clone(),
            insecure_cookies: config.insecure_cookies,
            demo: config.demo,
            max_body_bytes: config.max_body_bytes,
            trust_forwarded_for: config.trust_forwarded_for,
        },
    );
    let housekeeping = tokio::spawn(housekeeping(services.clone()));
    let app = carevault_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    housekeeping.abort();
    services.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn data_dir_hint(config: &Config) -> String {
    if config.data_dir == Path::new("data") {
        String::new()
    } else {
        format!(" --data-dir {}", config.data_dir.display())
    }
}

/// Periodic clean-up while serving.
async fn housekeeping(services: Services) {
    let mut interval = tokio::time::interval(Duration::from_secs(600));
    loop {
        interval.tick().await;
        if let Err(err) = services.prune_expired_state().await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Reads a password: the first line of stdin with `--password-stdin`, otherwise prompted
/// twice on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<SecretString> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(SecretString::from(password));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to prompt for the password: pass --password-stdin and pipe it in");
    }
    let first = rpassword::prompt_password("New password: ")?;
    let second = rpassword::prompt_password("Repeat it: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(SecretString::from(first))
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let services = services(store, &config);
    let operator = services.console_operator();
    let explain = |err: carevault_service::ServiceError| -> anyhow::Error {
        match err {
            carevault_service::ServiceError::Validation(errors) => {
                anyhow::anyhow!(
                    errors
                        .0
                        .iter()
                        .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
            carevault_service::ServiceError::Conflict { field, message } => {
                anyhow::anyhow!("--{}: {message}", field.unwrap_or("username"))
            }
            other => anyhow::anyhow!(other),
        }
    };
    match command {
        UserCommand::Create {
            username,
            role,
            display_name,
            password_stdin,
        } => {
            if services.holds_demo_data().await? {
                bail!("this database holds demo data; create real accounts in a fresh --data-dir");
            }
            let password = read_password(password_stdin)?;
            let account = services
                .create_account(
                    &operator,
                    NewAccount {
                        display_name: display_name.unwrap_or_else(|| username.clone()),
                        username,
                        role,
                        password,
                    },
                )
                .await
                .map_err(explain)?;
            println!(
                "Created {} ({}), id {}",
                account.username, account.role, account.id
            );
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            services
                .reset_password(&operator, &username, password)
                .await
                .map_err(explain)?;
            println!("Password set for {username}; its sessions were ended.");
        }
        UserCommand::Disable { username } => {
            services
                .disable_account(&operator, &username)
                .await
                .map_err(explain)?;
            println!("Disabled {username}; its sessions were ended.");
        }
        UserCommand::List => {
            for account in services.list_accounts(&operator).await.map_err(explain)? {
                println!(
                    "{:<24} {:<13} {:<9} {}",
                    account.username.as_str(),
                    account.role.as_str(),
                    account.status.as_str(),
                    account.display_name
                );
            }
        }
    }
    Ok(())
}
