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
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("server reads");
        self.stdin.flush().expect("flush");
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
