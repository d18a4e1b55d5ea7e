//! The language server end to end: starts `autoscale-sim lsp`, speaks
//! JSON-RPC over its stdin/stdout like an editor, and checks diagnostics
//! (with ranges), hover, completion, go-to-definition, formatting and a
//! clean shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// A running server and the messages it sends.
struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_autoscale-sim"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, messages) = channel();
        // Reads framed messages until the server closes its output.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(value) = serde_json::from_slice::<Value>(&body) else { return };
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Server { child, stdin, messages }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// Writes `bytes` as they are, framing included.
    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("server reads");
        self.stdin.flush().expect("flush");
    }

    /// Starts a server and initializes it.
    fn initialized() -> Server {
        let mut server = Server::start();
        server.request(1, "initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
        server.notify("initialized", json!({}));
        server
    }

    /// Opens (or replaces) the document and returns its diagnostics.
    fn open(&mut self, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "autoscale-formula", "version": 1, "text": text}}),
        );
        let published = self.next_where(|m| m["method"] == "textDocument/publishDiagnostics");
        published["params"]["diagnostics"].as_array().expect("a list").clone()
    }

    /// Checks that the server still answers a request correctly, then
    /// shuts it down cleanly.
    fn still_answers_and_shuts_down(mut self) {
        let diagnostics = self.open("$targetDedicatedNodes = min(1, 2);");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(diagnostics[0]["code"], "service-variable-case");
        let hover = self.request(90, "textDocument/hover", position(0, 25));
        assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("(function) min("), "{hover}");
        self.request(91, "shutdown", Value::Null);
        self.notify("exit", Value::Null);
        assert_eq!(wait(&mut self.child), Some(0));
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let response = self.next_where(|m| m["id"] == id);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message matching `wanted` (others are skipped), within 20 s.
    fn next_where(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.messages.recv_timeout(Duration::from_secs(20)).expect("the server answers in time");
            if wanted(&message) {
                return message;
            }
        }
    }
}

const URI: &str = "file:///tmp/pool.formula";

fn position(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
}

#[test]
fn diagnostics_hover_completion_definition_formatting_and_shutdown() {
    let mut server = Server::start();
    let init = server.request(1, "initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    assert_eq!(init["capabilities"]["hoverProvider"], true, "{init}");
    server.notify("initialized", json!({}));

    // Line 1 reads an undefined variable (an error); line 0 has a lint.
    let broken = "$targetDedicatedNodes = 1;\n$TargetDedicatedNodes = min(5, $nope);";
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "autoscale-formula", "version": 1, "text": broken}}),
    );
    let published = server.next_where(|m| m["method"] == "textDocument/publishDiagnostics");
    assert_eq!(published["params"]["uri"], URI);
    let diagnostics = published["params"]["diagnostics"].as_array().expect("a list").clone();
    let error = diagnostics.iter().find(|d| d["code"] == "E0100").unwrap_or_else(|| panic!("{diagnostics:?}"));
    assert_eq!(error["severity"], 1);
    assert_eq!(error["range"], json!({"start": {"line": 1, "character": 31}, "end": {"line": 1, "character": 36}}));
    let warning =
        diagnostics.iter().find(|d| d["code"] == "service-variable-case").unwrap_or_else(|| panic!("{diagnostics:?}"));
    assert_eq!(warning["severity"], 2);
    assert_eq!(warning["range"], json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 21}}));

    // A syntax error, after a change.
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "a = 1;\nb = (a + ;"}]}),
    );
    let published = server.next_where(|m| m["method"] == "textDocument/publishDiagnostics");
    let diagnostics = published["params"]["diagnostics"].as_array().expect("a list").clone();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0001");
    assert_eq!(diagnostics[0]["range"]["start"], json!({"line": 1, "character": 9}));

    let text = "maxNodes = 25;\n$TargetDedicatedNodes=min(maxNodes,avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)));";
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": text}]}),
    );
    let hover = server.request(2, "textDocument/hover", position(1, 5));
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(shown.contains("$TargetDedicatedNodes") && shown.contains("target number of dedicated nodes"), "{hover}");
    let hover = server.request(3, "textDocument/hover", position(1, 23));
    assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("min(doubleVecList)"), "{hover}");
    let hover = server.request(4, "textDocument/hover", position(1, 55));
    assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("GetSample(count"), "{hover}");
    let hover = server.request(5, "textDocument/hover", position(1, 29));
    assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("maxNodes: double"), "{hover}");

    let completion = server.request(6, "textDocument/completion", position(1, 22));
    let labels: Vec<&str> = completion.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    for wanted in ["$TargetDedicatedNodes", "$CPUPercent", "avg", "TimeInterval_Minute"] {
        assert!(labels.contains(&wanted), "{wanted} in {labels:?}");
    }

    let definition = server.request(7, "textDocument/definition", position(1, 30));
    assert_eq!(definition["range"], json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 8}}));

    let edits = server.request(
        8,
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let new_text = edits[0]["newText"].as_str().unwrap_or_default();
    assert!(new_text.contains("$TargetDedicatedNodes = min(maxNodes, avg("), "{edits}");

    // A lint's fix is offered as a quick fix.
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 4}, "contentChanges": [{"text": "$targetDedicatedNodes = 1;"}]}),
    );
    let range = json!({"start": {"line": 0, "character": 2}, "end": {"line": 0, "character": 2}});
    let actions = server.request(
        10,
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": []}}),
    );
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "$TargetDedicatedNodes", "{actions}");
    assert_eq!(edit["range"]["end"], json!({"line": 0, "character": 21}));

    server.request(9, "shutdown", Value::Null);
    server.notify("exit", Value::Null);
    let status = wait(&mut server.child);
    assert_eq!(status, Some(0));
}

/// The exit code, waiting at most 20 s.
fn wait(child: &mut Child) -> Option<i32> {
    for _ in 0..200 {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}

#[test]
fn highlighting_grammar_knows_every_builtin() {
    use autoscale_sim::formula::builtins::{Function, Metric, SampleMethod, ServiceVar};
    let grammar = include_str!("../../editors/vscode/syntaxes/autoscale-formula.tmLanguage.json");
    let parsed: Value = serde_json::from_str(grammar).expect("the grammar is JSON");
    assert_eq!(parsed["scopeName"], "source.autoscale-formula");
    let names = ServiceVar::ALL
        .iter()
        .map(|(n, _, _)| n.trim_start_matches('$'))
        .chain(Metric::ALL.iter().map(|(_, n, _)| *n))
        .chain(Function::ALL.iter().map(|(n, _, _)| *n))
        .chain(SampleMethod::ALL.iter().map(|(n, _, _)| *n));
    for name in names {
        assert!(grammar.contains(name), "{name} is highlighted");
    }
    let package: Value =
        serde_json::from_str(include_str!("../../editors/vscode/package.json")).expect("package.json is JSON");
    assert_eq!(package["main"], "./extension.js");
}

/// The CLI's answer for the same text: `check`'s error code.
fn cli_check_code(text: &str) -> String {
    let output =
        Command::new(env!("CARGO_BIN_EXE_autoscale-sim")).args(["check", "-e", text]).output().expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let start = stderr.find("error[").expect("an error") + "error[".len();
    stderr[start..start + 5].to_owned()
}

#[test]
fn a_document_nested_8000_deep_gets_the_cli_error_and_the_server_goes_on() {
    let mut server = Server::initialized();
    let deep = format!("$TargetDedicatedNodes = {}1;", "-".repeat(8000));
    let diagnostics = server.open(&deep);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0004");
    assert_eq!(cli_check_code(&deep), "E0004");
    // Nothing that walks the tree runs on it.
    let edits = server.request(
        2,
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(edits, Value::Null);
    let definition = server.request(3, "textDocument/definition", position(0, 3));
    assert_eq!(definition, Value::Null);
    // The same for 8000 binary operators (a left-leaning tree).
    let chain = format!("a = 1{};", "+1".repeat(4000));
    let diagnostics = server.open(&chain);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], cli_check_code(&chain));
    server.still_answers_and_shuts_down();
}

#[test]
fn documents_over_the_size_or_statement_limit_get_the_cli_error_at_once() {
    let mut server = Server::initialized();
    // 32 000 statements, far over 8 KiB.
    let long: String = (0..32_000).map(|i| format!("a{i} = {i};\n")).collect();
    let diagnostics = server.open(&long);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0002");
    assert_eq!(diagnostics[0]["range"]["end"], json!({"line": 32_000, "character": 0}));
    let hover = server.request(2, "textDocument/hover", position(0, 1));
    assert_eq!(hover, Value::Null);
    let many = "a = 1;".repeat(101);
    let diagnostics = server.open(&many);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0003");
    assert_eq!(cli_check_code(&many), "E0003");
    server.still_answers_and_shuts_down();
}

/// A document at the size and statement limits at once: 8192 bytes, 100
/// statements each nested 45 deep, each with an error. Analysed and answered
/// (its time is measured, not asserted: see the README).
#[test]
fn a_document_at_every_limit_is_analysed() {
    let mut server = Server::initialized();
    let statement = format!("$targetDedicatedNodes = {}$CPUPercent;\n", "-".repeat(44));
    let mut text = statement.repeat(100);
    text.insert_str(text.len() - 1, &" ".repeat(8192 - text.len()));
    assert_eq!(text.len(), 8192);
    let diagnostics = server.open(&text);
    let count = |code: &str| diagnostics.iter().filter(|d| d["code"] == code).count();
    // A metric used as a number on every line; the lint once, at the first.
    assert_eq!((count("E0202"), count("service-variable-case")), (100, 1), "{} diagnostics", diagnostics.len());
    let last = diagnostics.iter().rfind(|d| d["code"] == "E0202").expect("an error");
    assert_eq!(last["range"]["start"], json!({"line": 99, "character": 68}));
    let hover = server.request(2, "textDocument/hover", position(99, 70));
    assert!(hover["contents"]["value"].as_str().unwrap_or_default().contains("$CPUPercent"), "{hover}");
    server.still_answers_and_shuts_down();
}

#[test]
fn a_huge_content_length_is_refused_and_the_session_goes_on() {
    let mut server = Server::initialized();
    server.send_raw(b"Content-Length: 999999999999999\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"shutdown\"}");
    let refused = server.next_where(|m| m.get("error").is_some());
    assert_eq!(refused["id"], Value::Null, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    // A header line with no end, and too many headers.
    let mut endless = b"Content-Length: 2\r\nX-Padding: ".to_vec();
    endless.extend(std::iter::repeat_n(b'x', 1 << 20));
    endless.extend_from_slice(b"\r\n\r\n{}");
    server.send_raw(&endless);
    let refused = server.next_where(|m| m.get("error").is_some());
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    server.still_answers_and_shuts_down();
}

#[test]
fn malformed_messages_get_json_rpc_errors_and_the_session_goes_on() {
    let mut server = Server::initialized();
    let error = |server: &mut Server, raw: &str| {
        server.send_raw(format!("Content-Length: {}\r\n\r\n{raw}", raw.len()).as_bytes());
        server.next_where(|m| m.get("error").is_some())
    };
    // Not JSON.
    let reply = error(&mut server, "{\"jsonrpc\": \"2.0\", \"id\": 3, ");
    assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (Value::Null, json!(-32700)), "{reply}");
    // A lone surrogate escape.
    let reply = error(&mut server, r#"{"jsonrpc":"2.0","id":4,"method":"textDocument/hover","params":"\ud800"}"#);
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    // JSON, but not a request: the id is known, so it is answered.
    let reply = error(&mut server, r#"{"jsonrpc":"2.0","id":6,"method":42}"#);
    assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (json!(6), json!(-32600)), "{reply}");
    // A request with bad parameters.
    server.send(json!({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {"nope": 1}}));
    let reply = server.next_where(|m| m["id"] == 7);
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    // A malformed notification is skipped without an answer; garbage
    // between messages is skipped.
    server.notify("textDocument/didOpen", json!({"textDocument": 5}));
    server.send_raw(b"\r\nnot a header\r\n\r\n");
    // A Content-Length too long for its body: the message after it is
    // read again.
    let hover =
        json!({"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover", "params": position(0, 0)}).to_string();
    let framed = format!("Content-Length: {}\r\n\r\n{hover}", hover.len());
    server.send_raw(format!("Content-Length: 40\r\n\r\n{{\"jsonrpc\":\"2.0\"}}{framed}").as_bytes());
    let reply = server.next_where(|m| m.get("error").is_some() || m["id"] == 8);
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    let reply = server.next_where(|m| m["id"] == 8);
    assert_eq!(reply["result"], Value::Null, "no document open yet: {reply}");
    server.still_answers_and_shuts_down();
}
