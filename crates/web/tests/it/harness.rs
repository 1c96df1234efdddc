//! The test harness: [`TestApp`] builds the whole router in-process over a fresh database
//! (SQLite always; PostgreSQL and MariaDB when their URLs are set) with the demo accounts,
//! a clock the test controls, and typed clients that drive it with `oneshot`.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Once, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use carevault_service::{AuditSettings, ManualClock, ServiceSettings, Services};
use carevault_store::{ConnectSettings, StatementCounter, Store};
use carevault_web::{AppState, WebSettings};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database};
use tower::ServiceExt;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
    MySql(String),
}

fn required() -> bool {
    std::env::var("CAREVAULT_REQUIRE_ALL_BACKENDS").is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Backend {
    fn from_env(var: &str, make: fn(String) -> Backend) -> Option<Backend> {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(make(url)),
            _ if required() => panic!("{var} is not set but CAREVAULT_REQUIRE_ALL_BACKENDS=1"),
            _ => {
                eprintln!("skipped: {var} is not set");
                None
            }
        }
    }

    pub fn postgres() -> Option<Backend> {
        Self::from_env("CAREVAULT_TEST_POSTGRES_URL", Backend::Postgres)
    }

    pub fn mysql() -> Option<Backend> {
        Self::from_env("CAREVAULT_TEST_MYSQL_URL", Backend::MySql)
    }
}

/// Runs each named `async fn name(backend: Backend)` on SQLite, PostgreSQL and MariaDB.
#[macro_export]
macro_rules! on_all_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::harness::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    if let Some(backend) = $crate::harness::Backend::mysql() {
                        super::$name(backend).await
                    }
                }
            }
        )*
    };
}

/// `url` with its host and port replaced by `proxy`'s.
fn url_via(url: &str, proxy: std::net::SocketAddr) -> String {
    let mut parsed = url::Url::parse(url).expect("a database URL");
    parsed
        .set_host(Some(&proxy.ip().to_string()))
        .expect("a host");
    parsed.set_port(Some(proxy.port())).expect("a port");
    parsed.to_string()
}

/// A fresh database; dropped again when the test ends.
struct TestDatabase {
    url: String,
    cleanup: Option<(String, String)>,
    /// The test's data directory (the SQLite file, keys, the checkpoint file).
    dir: tempfile::TempDir,
}

fn unique_name() -> String {
    format!("cvt_{}", uuid::Uuid::new_v4().simple())
}

fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a database URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

impl TestDatabase {
    async fn create(backend: &Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temp dir");
                let url = format!("sqlite://{}/carevault.db", dir.path().display());
                TestDatabase {
                    url,
                    cleanup: None,
                    dir,
                }
            }
            Backend::Postgres(admin) | Backend::MySql(admin) => {
                let name = unique_name();
                let quoted = if matches!(backend, Backend::Postgres(_)) {
                    format!("\"{name}\"")
                } else {
                    format!("`{name}`")
                };
                let admin_db = Database::connect(admin.as_str())
                    .await
                    .expect("the test database server answers");
                admin_db
                    .execute_unprepared(&format!("CREATE DATABASE {quoted}"))
                    .await
                    .expect("CREATE DATABASE");
                let _ = admin_db.close().await;
                let drop = if matches!(backend, Backend::Postgres(_)) {
                    format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
                } else {
                    format!("DROP DATABASE IF EXISTS {quoted}")
                };
                TestDatabase {
                    url: with_database(admin, &name),
                    cleanup: Some((admin.clone(), drop)),
                    dir: tempfile::tempdir().expect("a temp dir"),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, sql)) = self.cleanup.take() {
            // Drop runs outside async; a short-lived runtime on its own thread does the work.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let db = Database::connect(admin.as_str()).await.ok()?;
                    let _ = db.execute_unprepared(&sql).await;
                    let _ = db.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// Every log line of the test run goes to `$CAREVAULT_TEST_LOG_DIR/<pid>.log` (CI greps it
/// for secrets) and to an in-memory buffer that tests can inspect.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(
        &LOG_BUFFER
            .get_or_init(Default::default)
            .lock()
            .expect("log buffer"),
    )
    .into_owned()
}

static LOG_BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
static LOG_INIT: Once = Once::new();

#[derive(Clone)]
struct TeeWriter {
    file: Option<Arc<Mutex<std::fs::File>>>,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Write for TeeWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = &self.file {
            file.lock().expect("log file").write_all(bytes)?;
        }
        self.buffer
            .lock()
            .expect("log buffer")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logging() {
    LOG_INIT.call_once(|| {
        let buffer = LOG_BUFFER.get_or_init(Default::default).clone();
        let file = std::env::var_os("CAREVAULT_TEST_LOG_DIR").and_then(|dir| {
            std::fs::create_dir_all(&dir).ok()?;
            let path = std::path::Path::new(&dir).join(format!("it-{}.log", std::process::id()));
            std::fs::File::create(path)
                .ok()
                .map(|f| Arc::new(Mutex::new(f)))
        });
        let writer = TeeWriter { file, buffer };
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=info,sea_orm=info,hyper=info,h2=info,tower=info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
    });
}

/// The application under test.
pub struct TestApp {
    pub router: Router,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    /// The test database, for tests that edit it behind the server's back.
    pub database_url: String,
    /// The audit checkpoint file.
    pub checkpoint_file: std::path::PathBuf,
    /// The key ring's master key (so a restart can open the same keys).
    pub master_key: [u8; 32],
    /// Every statement the application's store runs (`take()` returns and forgets them).
    pub statements: StatementCounter,
    _database: TestDatabase,
}

/// The demo password of a demo account.
pub fn demo_password(username: &str) -> &'static str {
    carevault_service::demo::DEMO_ACCOUNTS
        .iter()
        .find(|(u, ..)| *u == username)
        .map(|(_, p, ..)| *p)
        .expect("a demo account")
}

/// Work done on a database migrated only part of the way (rows written as older code wrote
/// them), given the store and the key ring's master key.
pub type Preparation = Box<
    dyn FnOnce(Store, [u8; 32]) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send,
>;

/// Options for building a [`TestApp`].
pub struct TestAppBuilder {
    backend: Backend,
    service: ServiceSettings,
    public_url: String,
    synthetic_patients: u64,
    /// Connect the application through this address instead of the database server's
    /// own (a test's TCP proxy); the test database itself is still created directly.
    connect_via: Option<std::net::SocketAddr>,
    /// Migrate only this many migrations first and run the preparation, then the rest.
    prepared_at: Option<(u32, Preparation)>,
}

impl TestAppBuilder {
    pub fn service_settings(mut self, f: impl FnOnce(&mut ServiceSettings)) -> Self {
        f(&mut self.service);
        self
    }

    /// How many synthetic patients the demo seeding adds (none by default: tests register
    /// their own).
    pub fn synthetic_patients(mut self, count: u64) -> Self {
        self.synthetic_patients = count;
        self
    }

    /// Makes the application reach its (PostgreSQL or MariaDB) database through `proxy`:
    /// the URL's host and port are replaced, everything else is kept. Creating and
    /// dropping the test database still go to the server directly.
    pub fn connect_via(mut self, proxy: std::net::SocketAddr) -> Self {
        self.connect_via = Some(proxy);
        self
    }

    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = url.to_owned();
        self
    }

    /// Applies only the first `migrations` migrations, runs `prepare` (which writes rows as
    /// the code of that time did, with the key ring's master key), then the remaining
    /// migrations, before the application starts.
    pub fn prepared_at_migration(mut self, migrations: u32, prepare: Preparation) -> Self {
        self.prepared_at = Some((migrations, prepare));
        self
    }

    pub async fn build(self) -> TestApp {
        init_logging();
        let database = TestDatabase::create(&self.backend).await;
        let app_url = match self.connect_via {
            Some(proxy) => url_via(&database.url, proxy),
            None => database.url.clone(),
        };
        let statements = StatementCounter::default();
        let store = Store::connect(
            &app_url,
            &ConnectSettings {
                max_connections: 5,
                statement_counter: Some(statements.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("connect to the test database");
        let master_key: [u8; 32] = carevault_crypto::random_bytes();
        if let Some((migrations, prepare)) = self.prepared_at {
            carevault_store::backup::migrate_by(&store, migrations)
                .await
                .expect("the first migrations apply");
            prepare(store.clone(), master_key).await;
        }
        store.migrate().await.expect("migrations apply");
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
                .single()
                .expect("a date"),
        ));
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let checkpoint_file = database
            .dir
            .path()
            .join("checkpoints")
            .join("checkpoints.log");
        let audit = AuditSettings::new(key, Some(checkpoint_file.clone())).expect("audit settings");
        let mut service = self.service;
        service.patients.demo_synthetic_patients = self.synthetic_patients;
        let keys =
            carevault_crypto::keyring::KeyRing::from_master_key(&master_key).expect("a key ring");
        let services = Services::new(store, clock.clone(), service, audit, keys);
        services.seed_demo().await.expect("demo accounts");
        let mut settings = WebSettings::new(url::Url::parse(&self.public_url).expect("a URL"));
        settings.max_body_bytes = 64 * 1024;
        let state = AppState::new(services.clone(), settings);
        TestApp {
            router: carevault_web::router(state.clone()),
            services,
            clock,
            state,
            database_url: app_url,
            checkpoint_file,
            master_key,
            statements,
            _database: database,
        }
    }
}

impl TestApp {
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            service: ServiceSettings::default(),
            public_url: "https://carevault.test".into(),
            synthetic_patients: 0,
            connect_via: None,
            prepared_at: None,
        }
    }

    pub async fn new(backend: Backend) -> TestApp {
        Self::builder(backend).build().await
    }

    /// Signs `username` (a demo account) in through the service and returns the actor, for
    /// tests that call use cases directly.
    pub async fn actor(&self, username: &str) -> carevault_service::Actor {
        self.actor_with_password(username, demo_password(username))
            .await
    }

    /// Signs in an account a test created (with its password) and returns the actor.
    pub async fn actor_with_password(
        &self,
        username: &str,
        password: &str,
    ) -> carevault_service::Actor {
        let signed_in = self
            .services
            .sign_in(carevault_service::auth::SignInRequest {
                username: username.into(),
                password: secrecy::SecretString::from(password.to_owned()),
                client_addr: None,
                previous_token: None,
                request_id: None,
            })
            .await
            .expect("sign in");
        self.services
            .authenticate(&signed_in.token, None)
            .await
            .expect("authenticate")
    }

    /// Registers a patient as `actor` (possible duplicates notwithstanding).
    pub async fn register_patient(
        &self,
        actor: &carevault_service::Actor,
        input: carevault_service::patients::PatientInput,
    ) -> carevault_service::patients::PatientDetails {
        match self
            .services
            .register_patient(actor, input, true)
            .await
            .expect("registered")
        {
            carevault_service::patients::Registration::Registered(details) => *details,
            carevault_service::patients::Registration::PossibleDuplicates(_) => {
                panic!("registered anyway")
            }
        }
    }

    /// A second, independent set of services over the same database, keys and clock, as a
    /// second `carevault serve` process would have: its own pool, caches and audit writer,
    /// sharing nothing with this one but the database.
    pub async fn other_process(&self, settings: ServiceSettings) -> Services {
        let store = Store::connect(
            &self.database_url,
            &ConnectSettings {
                max_connections: 5,
                ..Default::default()
            },
        )
        .await
        .expect("a second pool on the test database");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let audit = AuditSettings::new(key, None).expect("audit settings");
        let keys = carevault_crypto::keyring::KeyRing::from_master_key(&self.master_key)
            .expect("a key ring");
        Services::new(store, self.clock.clone(), settings, audit, keys)
    }

    /// Stops the services and starts new ones over the same database, keys and clock, as
    /// a server restart would.
    pub async fn restart(&mut self) {
        self.services.shutdown().await;
        let store = Store::connect(
            &self.database_url,
            &ConnectSettings {
                max_connections: 5,
                statement_counter: Some(self.statements.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("reconnect to the test database");
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let audit =
            AuditSettings::new(key, Some(self.checkpoint_file.clone())).expect("audit settings");
        let keys = carevault_crypto::keyring::KeyRing::from_master_key(&self.master_key)
            .expect("a key ring");
        let services = Services::new(
            store,
            self.clock.clone(),
            self.services.settings().clone(),
            audit,
            keys,
        );
        let mut settings =
            WebSettings::new(url::Url::parse("https://carevault.test").expect("a URL"));
        settings.max_body_bytes = 64 * 1024;
        let state = AppState::new(services.clone(), settings);
        self.router = carevault_web::router(state.clone());
        self.services = services;
        self.state = state;
    }

    /// Sends one request through the whole router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// A client without a session.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            app: self,
            cookies: HashMap::new(),
            bearer: None,
            form_token: None,
            addr: None,
        }
    }

    /// A client holding a bearer token from `POST /api/v1/auth/login`.
    pub async fn api_client(&self, username: &str) -> Client<'_> {
        let mut client = self.anonymous();
        let response = client
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": demo_password(username)}),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "API sign-in of {username}: {}",
            response.text()
        );
        client.bearer = Some(
            response.json()["token"]
                .as_str()
                .expect("a token")
                .to_owned(),
        );
        client
    }

    /// A client signed in through the sign-in form, with its cookie and form token.
    pub async fn browser(&self, username: &str) -> Client<'_> {
        let mut client = self.anonymous();
        let response = client
            .sign_in_through_form(username, demo_password(username))
            .await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "page sign-in of {username}: {}",
            response.text()
        );
        client.refresh_form_token().await;
        client
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Asserts an RFC 9457 problem document with `status`, and returns it.
    pub fn problem(&self, status: StatusCode) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        let problem = self.json();
        assert_eq!(problem["status"], status.as_u16());
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:carevault:problem:"))
        );
        assert!(problem["title"].is_string());
        assert!(problem["request_id"].is_string());
        problem
    }
}

/// A client: cookies, optional bearer token, optional form token, optional peer address.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    pub bearer: Option<String>,
    pub form_token: Option<String>,
    pub addr: Option<IpAddr>,
}

impl Client<'_> {
    pub fn with_addr(mut self, addr: IpAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    pub fn session_cookie(&self) -> Option<&String> {
        self.cookies
            .get(self.app.state.settings.session_cookie_name())
    }

    /// A request builder with this client's credentials.
    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "carevault.test");
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(token) = &self.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        builder
    }

    /// Sends a request and keeps the cookies the server sets.
    pub async fn send(&mut self, request: Request<Body>) -> TestResponse {
        let mut request = request;
        if let Some(addr) = self.addr {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(addr, 40000)));
        }
        let response = self.app.send(request).await;
        for value in response.headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        response
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let request = self
            .request(Method::GET, path)
            .body(Body::empty())
            .expect("a request");
        self.send(request).await
    }

    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> TestResponse {
        let request = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("a request");
        self.send(request).await
    }

    /// A same-origin form post carrying the form token (as a browser would send it).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let token = self.form_token.clone();
        if let Some(token) = &token {
            all.push(("csrf_token", token));
        }
        self.post_form_raw(
            path,
            &all,
            &[
                ("origin", "https://carevault.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await
    }

    /// A form post with exactly these fields and headers.
    pub async fn post_form_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        let mut builder = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Body::from(body)).expect("a request");
        self.send(request).await
    }

    /// Opens the sign-in page and submits the form.
    pub async fn sign_in_through_form(&mut self, username: &str, password: &str) -> TestResponse {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let nonce = hidden_field(&page.text(), "nonce").expect("the sign-in form has a nonce");
        self.post_form_raw(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("nonce", &nonce),
                ("next", "/dashboard"),
            ],
            &[
                ("origin", "https://carevault.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await
    }

    /// Reads the form token from a signed-in page.
    pub async fn refresh_form_token(&mut self) {
        let page = self.get("/dashboard").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        self.form_token = hidden_field(&page.text(), "csrf_token");
    }
}

/// The value of `<input type="hidden" name="{name}" value="…">` in `html`.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}
