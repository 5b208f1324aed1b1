//! Starting `routeflow serve` on the fixtures for a test, and a Flight SQL client to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::support::routeflow;

pub const USER: &str = "ana";
pub const PASSWORD: &str = "correct horse: battery staple";

/// The fixtures run once, with a snapshot: its directory, output and run id.
pub struct Fixture {
    pub dir: PathBuf,
    pub snapshots: PathBuf,
    pub run_id: String,
    /// `--config` file holding the user's hash under [serve].
    pub config: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let snapshots = dir.join("snapshots");
        let status = routeflow()
            .args(["-q", "run", "--output"])
            .arg(dir.join("out"))
            .arg("--snapshot-dir")
            .arg(&snapshots)
            .status()
            .unwrap();
        assert!(status.success());
        let run_id = std::fs::read_dir(&snapshots)
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("run_id=")
                    .map(str::to_string)
            })
            .next()
            .unwrap();
        let config = dir.join("routeflow.toml");
        std::fs::write(
            &config,
            format!("[serve]\nuser = [\"{USER}:{}\"]\n", hash(PASSWORD)),
        )
        .unwrap();
        let (cert, key) = self_signed(&dir);
        Fixture {
            dir,
            snapshots,
            run_id,
            config,
            cert,
            key,
        }
    })
}

/// `routeflow hash-password`, fed the password on standard input.
pub fn hash(password: &str) -> String {
    let mut child = routeflow()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A self-signed certificate for localhost and 127.0.0.1, made with the openssl command.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command makes the test certificate");
    assert!(status.success());
    (cert, key)
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// `grpc://127.0.0.1:PORT` or `grpc+tls://…`.
    pub url: String,
    pub log: PathBuf,
    pub pid: u32,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's JSON log lines so far.
    pub fn log_events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits (up to 30 s) for a log event matching `pred`; async, so the client's connection keeps
    /// running meanwhile (a cancelled stream's reset must reach the server).
    pub async fn wait_for_event(&self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Some(e) = self.log_events().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no such log event: {:?}",
                self.log_events()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Peak resident memory of the server process (kB).
    pub fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// A client, logged in as the test user unless the server runs without auth.
    pub async fn client(&self, login: bool) -> FlightSqlServiceClient<Channel> {
        let mut client = FlightSqlServiceClient::new(self.channel().await);
        if login {
            client.handshake(USER, PASSWORD).await.unwrap();
        }
        client
    }

    pub async fn channel(&self) -> Channel {
        let url = self
            .url
            .replace("grpc+tls://", "https://")
            .replace("grpc://", "http://");
        let mut endpoint = Channel::from_shared(url).unwrap();
        if self.url.starts_with("grpc+tls") {
            let ca = std::fs::read(&fixture().cert).unwrap();
            let tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .domain_name("localhost");
            endpoint = endpoint.tls_config(tls).unwrap();
        }
        endpoint.connect().await.unwrap()
    }
}

/// Starts `routeflow serve` on the fixtures, any free port, JSON logs to a file, with `extra` options.
pub fn start(extra: &[&str]) -> Server {
    let f = fixture();
    let log = tempfile::NamedTempFile::new_in(&f.dir)
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let mut child = routeflow()
        .arg("--config")
        .arg(&f.config)
        .args(["--log-format", "json", "--log-file"])
        .arg(&log)
        .args(["serve", "--port", "0", "--snapshot", "latest", "--snapshot-dir"])
        .arg(&f.snapshots)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
        .to_string();
    let pid = child.id();
    Server { child, url, log, pid }
}

/// Runs `sql` and collects every batch of every endpoint.
pub async fn query(
    client: &mut FlightSqlServiceClient<Channel>,
    sql: &str,
) -> Result<Vec<RecordBatch>, FlightError> {
    let info = client.execute(sql.to_string(), None).await?;
    let mut batches = vec![];
    for endpoint in info.endpoint {
        let stream = client.do_get(endpoint.ticket.unwrap()).await?;
        batches.extend(stream.try_collect::<Vec<_>>().await?);
    }
    Ok(batches)
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
