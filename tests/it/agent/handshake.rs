//! The handshake's defences: only a controller and agents that prove they
//! know the token get anywhere; a slow or flooding client is cut at the
//! deadline and the caps; only the agent path is upgraded.

use super::*;

/// A controller with the given handshake deadline and limits.
fn bind_limited(hello_timeout: Duration, max_pending: usize, max_agents: usize) -> Controller {
    capture_logs();
    let options = ControllerOptions { hello_timeout, max_pending, max_agents, ..ControllerOptions::default() };
    Controller::bind_with("127.0.0.1:0".parse().unwrap(), Token::new(TOKEN).unwrap(), options).unwrap()
}

/// Whether the server has closed `stream`, reading for `within` at most.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    use std::io::Read as _;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn a_fake_controller_without_the_token_learns_nothing_and_runs_nothing() {
    let dir = scratch_dir("agent-fake-controller");
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let marker = dir.join("marker");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let marker_line = format!("touch {}", marker.display());
    let controller = std::thread::spawn(move || {
        let mut ws = tungstenite::accept(listener.accept().unwrap().0).unwrap();
        let mut received = Vec::new();
        let hello = read_json(&mut ws);
        assert_eq!(hello["type"], "hello", "{hello}");
        received.push(hello.to_string());
        let nonce = agent_token::nonce();
        // Its best guess at a proof: one made with another token.
        let guess = Token::new("not-the-shared-secret").unwrap();
        let proof = guess.proof(Role::Controller, hello["nonce"].as_str().unwrap(), &nonce).unwrap();
        let challenge = serde_json::json!({"type": "challenge", "protocol": 3, "nonce": nonce, "proof": proof});
        ws.send(Message::text(challenge.to_string())).unwrap();
        // Then orders, as if the agent had joined.
        let assign = r#"{"type":"assign","node":{"account":"a","pool_id":"p","node_id":"n"}}"#;
        let spec = serde_json::json!({"key": {"job_id": "j", "task_id": "t", "run": 1}, "kind": "Task",
            "command_line": marker_line, "env": []});
        let _ = ws.send(Message::text(assign));
        let _ = ws.send(Message::text(serde_json::json!({"type": "run", "spec": spec}).to_string()));
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => received.push(text.to_string()),
                Ok(Message::Close(_)) | Err(_) => return received,
                Ok(_) => {}
            }
        }
    });
    let root = dir.join("root").display().to_string();
    let args = ["agent", "--controller", &addr, "--token-file", &token.display().to_string(), "--root", &root];
    let output = cli(&args, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("the controller at {addr} is not trusted: it did not prove")), "{stderr}");
    let received = controller.join().unwrap();
    assert_eq!(received.len(), 1, "only the hello: {received:?}");
    for message in &received {
        assert!(!message.contains(TOKEN), "the token leaked: {message}");
        assert!(!message.contains(&TOKEN.bytes().map(|b| format!("{b:02x}")).collect::<String>()), "{message}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(!marker.exists(), "the fake controller's command ran");
}

#[test]
fn an_agent_with_a_wrong_token_or_no_proof_is_refused() {
    let mut fixture = Fixture::new("wrong-proof");
    let (mut ws, answer) = raw_handshake(fixture.addr(), "not-the-shared-secret");
    assert_eq!(answer["type"], "reject", "{answer}");
    assert_eq!(answer["reason"], "invalid token");
    assert_closed(&mut ws);

    // Skipping the proof does not help either.
    let mut ws = raw_client(fixture.addr());
    ws.send(hello(autoscale_sim::agent::PROTOCOL_VERSION, &agent_token::nonce())).unwrap();
    assert_eq!(read_json(&mut ws)["type"], "challenge");
    ws.send(Message::text(r#"{"type":"usage","usage":{"cpu_percent":1,"memory_bytes":0,"disk_bytes":0,"disk_read_bytes":0,"disk_write_bytes":0,"network_in_bytes":0,"network_out_bytes":0}}"#)).unwrap();
    let answer = read_json(&mut ws);
    assert_eq!(answer["type"], "reject", "{answer}");
    assert_closed(&mut ws);

    // Nor does a nonce that is not one.
    let mut ws = raw_client(fixture.addr());
    ws.send(hello(autoscale_sim::agent::PROTOCOL_VERSION, "00")).unwrap();
    let answer = read_json(&mut ws);
    assert!(answer["reason"].as_str().unwrap().contains("nonce"), "{answer}");
    assert!(fixture.controller.next_event(Instant::now() + Duration::from_millis(200)).is_none());
    assert_still_serving(&mut fixture, "good");
}

#[test]
fn slow_handshakes_are_cut_at_the_deadline() {
    use std::io::Write as _;
    let controller = bind_limited(Duration::from_secs(1), 64, 64);
    let addr = controller.local_addr();

    // Slow loris: one byte of the upgrade request every 200 ms.
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = b"GET /agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let mut cut = false;
    for byte in request.iter().cycle().take(40) {
        if stream.write_all(&[*byte]).is_err() || closed_within(&mut stream, Duration::from_millis(200)) {
            cut = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(cut, "a slow-loris connection stayed open for {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_logged("no complete handshake within 1s");

    // Upgraded, then pings and never a hello.
    let started = Instant::now();
    let mut ws = raw_client(addr);
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut cut = false;
    'pinging: for _ in 0..25 {
        if ws.send(Message::Ping(Default::default())).is_err() {
            cut = true;
            break;
        }
        // Read the pong, then wait 200 ms for anything else.
        loop {
            match ws.read() {
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) | Ok(Message::Close(_)) => {
                    cut = true;
                    break 'pinging;
                }
                Ok(_) => {}
            }
        }
    }
    let elapsed = started.elapsed();
    assert!(cut, "a pinging connection without a hello stayed open for {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn a_connection_flood_is_capped_and_other_paths_get_404() {
    let controller = bind_limited(Duration::from_secs(1), 8, 1);
    let addr = controller.local_addr();
    let mut flood: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    // Beyond the cap, connections are closed at once; the others at the deadline.
    let mut refused = 0;
    for stream in &mut flood {
        refused += usize::from(closed_within(stream, Duration::from_millis(50)));
    }
    assert!(refused >= 32, "only {refused} of 40 connections were refused at once");
    assert_logged("connections are already in their handshake");
    let started = Instant::now();
    for stream in &mut flood {
        assert!(closed_within(stream, Duration::from_secs(3)), "a flooding connection outlived the deadline");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());

    // Once the flood has expired, agents join again, up to the cap on agents.
    let mut first = raw_agent(addr);
    let (mut second, answer) = raw_handshake(addr, TOKEN);
    assert_eq!(answer["type"], "reject", "{answer}");
    assert!(answer["reason"].as_str().unwrap().starts_with("too many agents"), "{answer}");
    assert_closed(&mut second);

    // Only the agent path upgrades.
    let stream = TcpStream::connect(addr).unwrap();
    match tungstenite::client::client(format!("ws://{addr}/other").as_str(), stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 404);
        }
        other => panic!("expected a 404, got {:?}", other.map(|_| ())),
    }
    first.send(Message::Ping(Default::default())).unwrap();
}
