//! TLS between controller and agents, the controller's certificate pinned
//! by fingerprint. The certificate and keys in `tests/tls/` were made once
//! with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256
//! -nodes -days 36500` (and `openssl genpkey` for `other.key`); a pin
//! ignores dates, so they cannot expire under the tests.

use autoscale_sim::agent::{AgentError, Fingerprint, ServerTls};

use super::*;

/// `openssl x509 -noout -fingerprint -sha256 -in tests/tls/controller.crt`.
const PINNED: &str = "F2:CC:E5:09:16:94:7C:6E:54:24:6C:BD:7C:C1:1F:12:2C:2E:AB:D0:4B:F9:C5:B5:F3:57:8F:6A:24:6F:7C:2F";

fn file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls").join(name)
}

/// A controller that speaks TLS only, with the test certificate.
fn tls_fixture(name: &str) -> Fixture {
    let tls = ServerTls::from_pem_files(&file("controller.crt"), &file("controller.key")).unwrap();
    assert_eq!(tls.fingerprint(), PINNED.parse::<Fingerprint>().unwrap());
    Fixture::with_options(name, ControllerOptions { tls: Some(tls), ..quick(Duration::from_secs(10)) })
}

#[test]
fn an_agent_that_pins_the_certificate_joins_over_tls_and_runs_tasks() {
    let mut fixture = tls_fixture("tls");
    let root = fixture.spawn_with("agents", 1, 1, &["--tls-fingerprint", PINNED]).join("agent-0");
    let agent = fixture.wait_for("a join", |e| match e {
        ControllerEvent::Joined { agent, .. } => Some(agent),
        _ => None,
    });
    fixture.controller.assign(agent, identity("n")).unwrap();
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "t"), "sh -c 'echo over tls; exit 4'"), 4);
    let stdout = std::fs::read_to_string(root.join("workitems/j/tasks/t/stdout.txt")).unwrap();
    assert_eq!(stdout, "over tls\n");

    // Plain WebSocket gets nowhere: the controller expects a TLS hello.
    let plain = TcpStream::connect(fixture.addr()).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    let upgrade = tungstenite::client::client(format!("ws://{}/agent", fixture.addr()).as_str(), plain);
    assert!(upgrade.is_err(), "a plain WebSocket upgrade was accepted by a TLS controller");
    assert_logged("TLS handshake failed");
}

#[test]
fn an_agent_refuses_a_controller_with_another_certificate_at_once() {
    let fixture = tls_fixture("tls-wrong-pin");
    let other = Fingerprint::of(b"another certificate").to_string();
    let addr = fixture.addr().to_string();
    let token = fixture.token_file.to_str().unwrap();
    let root = fixture.dir.join("root");
    let args = ["agent", "--controller", &addr, "--token-file", token, "--root", root.to_str().unwrap()];
    let agent = cli(&[&args[..], &["--tls-fingerprint", &other, "--connect-attempts", "5"]].concat(), None);
    let stderr = String::from_utf8_lossy(&agent.stderr);
    assert_eq!(agent.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: the controller at {addr} is not trusted: its TLS certificate has fingerprint {PINNED}, not the pinned {other}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("retrying"), "a wrong certificate was retried: {stderr}");

    // Without --tls-fingerprint the agent speaks plain WebSocket, which a TLS controller cannot read.
    let plain = cli(&[&args[..], &["--connect-attempts", "1"]].concat(), None);
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(plain.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("WebSocket handshake failed"), "{stderr}");
}

#[test]
fn certificate_and_key_files_that_cannot_serve_are_named_in_the_error() {
    let (cert, key, other) = (file("controller.crt"), file("controller.key"), file("other.key"));
    let error = |cert: &Path, key: &Path| ServerTls::from_pem_files(cert, key).unwrap_err();
    let missing = file("missing.crt");
    assert!(matches!(error(&missing, &key), AgentError::Tls { path, .. } if path == missing));
    // A key file where the certificate should be holds no certificate.
    assert_eq!(error(&key, &key).to_string(), format!("cannot use `{}` for TLS: no certificate in it", key.display()));
    let mismatch = error(&cert, &other).to_string();
    assert!(
        mismatch.starts_with(&format!("cannot use `{}` for TLS: it does not go with the certificate", other.display())),
        "{mismatch}"
    );
}

#[test]
fn the_run_command_wants_both_tls_files_and_real_agents() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/bursty-day.toml");
    let (s, cert, key) = (scenario.to_str().unwrap(), file("controller.crt"), file("controller.key"));
    let only_cert = cli(&["run", s, "--tls-cert", cert.to_str().unwrap()], None);
    assert_eq!(only_cert.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&only_cert.stderr).contains("--tls-key <FILE>"));
    let simulated = cli(&["run", s, "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()], None);
    assert_eq!(simulated.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&simulated.stderr), "error: --tls-cert is for real agents: add --agents real\n");
}
