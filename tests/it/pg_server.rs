//! A throwaway PostgreSQL server per test, and the helper that runs one scenario on both engines.
//!
//! [`PgServer::start`] runs `initdb` into a fresh temporary folder and `pg_ctl start` listening
//! only on 127.0.0.1 on a free port (password authentication, `fsync` off); dropping the guard
//! stops the server (`pg_ctl stop -m immediate`) and deletes the folder, also when the test
//! panics. The server binaries refuse to run as root, so as root they run as the `postgres` user
//! through `runuser`, on a folder that user owns.
//!
//! When the binaries are missing the tests print a loud `SKIPPED` line and return, unless
//! `SLUICE_REQUIRE_POSTGRES=1` (set by `.ci/run`), which turns the skip into a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser's password on every test server.
pub const PASSWORD: &str = "sluice-test-pw-7f3a";

pub struct PgServer {
    bindir: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
    /// Extra `-c` settings (TLS).
    extra: String,
}

/// Where `initdb` and `pg_ctl` live: `pg_config --bindir`, else the newest Debian install.
fn bindir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_pg_config.into_iter().collect();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.reverse();
        candidates.extend(versions);
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A CA, a server certificate it issues (for the name `localhost` only, so that connecting to
/// `127.0.0.1` tells `verify-ca` from `verify-full`) and a client certificate for role
/// `certuser`, as PEM files in `dir`.
fn write_certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sluice test CA");
    let ca = ca.self_signed(&ca_key).expect("ca cert");
    let issue = |names: Vec<String>, cn: &str| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(names).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &ca, &ca_key).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    let (server_crt, server_key) = issue(vec!["localhost".into()], "localhost");
    let (client_crt, client_key) = issue(vec![], "certuser");
    for (name, text) in [
        ("ca.crt", ca.pem()),
        ("server.crt", server_crt),
        ("server.key", server_key),
        ("client.crt", client_crt),
        ("client.key", client_key),
    ] {
        std::fs::write(dir.join(name), text).expect("write certificate");
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod server.key");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PgServer {
    /// A running server, or `None` (after a loud message) when PostgreSQL is not installed.
    pub fn start(test: &str) -> Option<PgServer> {
        Self::start_with(test, false)
    }

    /// A server that also accepts TLS, with a certificate for `localhost` (not `127.0.0.1`)
    /// issued by a throwaway CA; role `certuser` (a superuser) logs in with a client certificate
    /// only. Returns it and the folder holding `ca.crt`, `client.crt` and `client.key`.
    pub fn start_tls(test: &str) -> Option<(PgServer, PathBuf)> {
        let s = Self::start_with(test, true)?;
        s.client("postgres")
            .batch_execute("create role certuser login superuser")
            .expect("create certuser");
        let certs = s.dir.path().to_path_buf();
        Some((s, certs))
    }

    fn start_with(test: &str, tls: bool) -> Option<PgServer> {
        let Some(bindir) = bindir() else {
            if std::env::var("SLUICE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("{test}: PostgreSQL server binaries (initdb, pg_ctl) not found, and SLUICE_REQUIRE_POSTGRES=1");
            }
            eprintln!(
                "\n*** SKIPPED {test}: PostgreSQL server binaries not found (install `postgresql`; set SLUICE_REQUIRE_POSTGRES=1 to fail instead) ***\n"
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("sluice-pg-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("pw"), PASSWORD).expect("pwfile");
        let mut extra = String::new();
        if tls {
            write_certificates(dir.path());
            let p = |f: &str| dir.path().join(f).display().to_string();
            extra = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c ssl_ca_file={}",
                p("server.crt"),
                p("server.key"),
                p("ca.crt")
            );
        }
        if as_postgres {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown of the server folder failed");
        }
        let mut server = PgServer {
            bindir,
            dir,
            port: 0,
            as_postgres,
            extra,
        };
        let data = server.data_dir();
        let pw = server.dir.path().join("pw");
        server.run_ok(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                &pw.to_string_lossy(),
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        if tls {
            // Certificate login for `certuser`, before the password rules initdb wrote.
            let hba = data.join("pg_hba.conf");
            let rules = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            std::fs::write(
                &hba,
                format!("hostssl all certuser 127.0.0.1/32 cert\n{rules}"),
            )
            .expect("write pg_hba.conf");
        }
        // A port taken between our probe and the server's bind: try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.pg_ctl_start() {
                return Some(server);
            }
        }
        panic!(
            "could not start PostgreSQL; log:\n{}",
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, bin: &str) -> Command {
        let exe = self.bindir.join(bin);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run_ok(&self, bin: &str, args: &[&str]) {
        let out = self.command(bin).args(args).output().expect(bin);
        assert!(
            out.status.success(),
            "{bin} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl_start(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60{}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        self.command("pg_ctl")
            .args(["-D"])
            .arg(self.data_dir())
            .args(["-l"])
            .arg(self.dir.path().join("log"))
            .args(["-o", &opts, "-w", "-t", "60", "start"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Restarts the server (`-m fast`: open sessions are cut), waiting until it accepts again.
    pub fn restart(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        self.command("pg_ctl")
            .args(["-D"])
            .arg(self.data_dir())
            .args(["-l"])
            .arg(self.dir.path().join("log"))
            .args(["-o", &opts, "-m", "fast", "-w", "-t", "60", "restart"])
            .output()
            .map(|o| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)))
            .expect("pg_ctl restart");
    }

    /// Stops the server (`-m fast`: open sessions are cut) and leaves it down.
    pub fn stop(&self) {
        let out = self
            .command("pg_ctl")
            .args(["-D"])
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .expect("pg_ctl stop");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A client to database `db` as the superuser.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(PASSWORD)
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("connect to the test server")
    }

    /// Creates database `name` (fresh per test).
    pub fn create_db(&self, name: &str) {
        self.client("postgres")
            .batch_execute(&format!("create database \"{name}\""))
            .expect("create database");
    }

    /// A `type: postgres` output for profiles.yml (indented for `outputs:`).
    pub fn output_yaml(&self, target: &str, db: &str, schema: &str, threads: usize) -> String {
        format!(
            "    {target}:\n      type: postgres\n      host: 127.0.0.1\n      port: {}\n      user: postgres\n      password: \"{PASSWORD}\"\n      dbname: {db}\n      schema: {schema}\n      threads: {threads}\n      connect_timeout: 5\n",
            self.port
        )
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D"])
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Which engine a scenario runs on.
pub enum Engine {
    DuckDb,
    Postgres(PgServer),
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::DuckDb => "duckdb",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Writes `profiles.yml` into `dir` for `profile` on this engine (DuckDB: `<profile>.duckdb`
    /// in the project; Postgres: a fresh database named after the profile), schema `schema`.
    pub fn write_profile(&self, dir: &Path, profile: &str, schema: &str, threads: usize) {
        let output = match self {
            Engine::DuckDb => format!(
                "    dev:\n      type: duckdb\n      path: \"{profile}.duckdb\"\n      schema: {schema}\n      threads: {threads}\n"
            ),
            Engine::Postgres(pg) => {
                pg.create_db(profile);
                pg.output_yaml("dev", profile, schema, threads)
            }
        };
        std::fs::write(
            dir.join("profiles.yml"),
            format!("{profile}:\n  target: dev\n  outputs:\n{output}"),
        )
        .expect("write profiles.yml");
    }

    /// Runs `sql` (one value) in the scenario's database and returns it as JSON.
    pub fn scalar(&self, dir: &Path, profile: &str, sql: &str) -> serde_json::Value {
        match self {
            Engine::DuckDb => {
                let conn = duckdb::Connection::open(dir.join(format!("{profile}.duckdb")))
                    .expect("open duckdb");
                let v: Option<String> = conn
                    .query_row(&format!("select ({sql})::varchar"), [], |r| r.get(0))
                    .expect("query");
                v.map_or(serde_json::Value::Null, serde_json::Value::String)
            }
            Engine::Postgres(pg) => {
                let mut c = pg.client(profile);
                let row = c
                    .query_one(&format!("select ({sql})::text"), &[])
                    .expect("query");
                row.get::<_, Option<String>>(0)
                    .map_or(serde_json::Value::Null, serde_json::Value::String)
            }
        }
    }
}

/// Runs `scenario` on DuckDB, then on a fresh Postgres server (unless skipped, see module docs).
pub fn on_both_engines(test: &str, scenario: impl Fn(&Engine)) {
    scenario(&Engine::DuckDb);
    if let Some(pg) = PgServer::start(test) {
        scenario(&Engine::Postgres(pg));
    }
}
