//! The language server (`autoscale-sim lsp`): LSP over stdio with
//! `lsp-server`, so editors show errors and lints as you type, hover docs,
//! completion, go-to-definition, formatting and the lints' quick fixes.
//!
//! Single-threaded and synchronous on purpose: a formula is at most 8 KB,
//! so re-checking the whole document on every change takes microseconds.
//! A document over the CLI's limits (size, statements, nesting) gets the
//! CLI's diagnostic without being walked (see `analysis::Document`), and
//! the framing is read by `transport`, which bounds every message and
//! answers a malformed one with an error instead of ending the session.

mod analysis;
mod transport;

pub use transport::{MAX_HEADER_LINE, MAX_HEADERS, MAX_MESSAGE_BYTES, MAX_QUEUED};

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use analysis::Document;

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

/// The stack the server runs on. The tree of a document within the limits
/// is at most [`MAX_DEPTH`](crate::formula::MAX_DEPTH) deep, but the parser
/// builds (and drops) the tree of one up to 8 KB deep before the nesting
/// limit is checked; a fixed stack does not depend on the editor's
/// `ulimit -s`.
const STACK_BYTES: usize = 64 << 20;

/// The diagnostics the server publishes for a document holding `text`:
/// the compiler's errors and the linter's warnings (the playground of
/// `serve` shows the same).
pub fn diagnostics(text: &str) -> Vec<lsp_types::Diagnostic> {
    analysis::diagnostics(&Document::new(text.to_owned()))
}

/// What the server answers at a position of `text` (zero-based line and
/// UTF-16 character, as in the protocol), from one analysis of the text:
/// its hover (the name's type and documentation, in Markdown) and its
/// completions.
pub fn at_cursor(text: &str, position: lsp_types::Position) -> (Option<String>, Vec<lsp_types::CompletionItem>) {
    let doc = Document::new(text.to_owned());
    let hover = analysis::hover(&doc, position).and_then(|h| match h.contents {
        lsp_types::HoverContents::Markup(markup) => Some(markup.value),
        _ => None,
    });
    (hover, analysis::completion(&doc, position))
}

/// Runs the server on stdin/stdout until the client says `exit`.
pub fn run() -> anyhow::Result<()> {
    let server = std::thread::Builder::new().name("lsp".to_owned()).stack_size(STACK_BYTES).spawn(serve)?;
    server.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the language server panicked")))
}

fn serve() -> anyhow::Result<()> {
    let (connection, io_threads) = transport::stdio()?;
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["$".to_owned(), ".".to_owned()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    connection.initialize(serde_json::to_value(capabilities)?)?;
    main_loop(&connection)?;
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// Answers requests and follows document changes until shutdown.
fn main_loop(connection: &Connection) -> anyhow::Result<()> {
    // Keyed by the URI's text: `Uri` itself caches parts of its parse inside.
    let mut documents: HashMap<String, Document> = HashMap::new();
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let (id, method) = (request.id.clone(), request.method.clone());
                // A bug in an analysis fails that request, not the session.
                let response = catch_unwind(AssertUnwindSafe(|| answer(&documents, request))).unwrap_or_else(|_| {
                    let code = lsp_server::ErrorCode::InternalError as i32;
                    Response::new_err(id, code, format!("internal error answering {method}"))
                });
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some(uri) = follow(&mut documents, notification) {
                    let diagnostics = match documents.get(uri.as_str()) {
                        Some(doc) => catch_unwind(AssertUnwindSafe(|| analysis::diagnostics(doc))).unwrap_or_default(),
                        None => Vec::new(),
                    };
                    let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
                    let note = Notification::new(PublishDiagnostics::METHOD.to_owned(), params);
                    connection.sender.send(Message::Notification(note))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Applies an open/change/close notification; returns the document whose
/// diagnostics to publish (none for a closed one), if any.
fn follow(documents: &mut HashMap<String, Document>, notification: Notification) -> Option<Uri> {
    let (uri, text) = match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: lsp_types::DidOpenTextDocumentParams = decoded(notification)?;
            (params.text_document.uri, Some(params.text_document.text))
        }
        DidChangeTextDocument::METHOD => {
            let params: lsp_types::DidChangeTextDocumentParams = decoded(notification)?;
            // Full sync: the last change holds the whole text.
            (params.text_document.uri, Some(params.content_changes.into_iter().last()?.text))
        }
        DidCloseTextDocument::METHOD => {
            let params: lsp_types::DidCloseTextDocumentParams = decoded(notification)?;
            (params.text_document.uri, None)
        }
        _ => return None,
    };
    match text {
        Some(text) => {
            let doc = catch_unwind(AssertUnwindSafe(|| Document::new(text))).ok()?;
            documents.insert(uri.as_str().to_owned(), doc);
        }
        None => {
            documents.remove(uri.as_str());
        }
    }
    Some(uri)
}

/// A notification's parameters; `None`, logged, when they do not decode.
fn decoded<P: serde::de::DeserializeOwned>(notification: Notification) -> Option<P> {
    serde_json::from_value(notification.params)
        .map_err(|e| transport::log(&format!("skipped a malformed {} notification: {e}", notification.method)))
        .ok()
}

/// The response to one request; unknown methods get `MethodNotFound`.
fn answer(documents: &HashMap<String, Document>, request: Request) -> Response {
    let id = request.id.clone();
    let result = match request.method.as_str() {
        HoverRequest::METHOD => with_params(request, |p: lsp_types::HoverParams| {
            let at = p.text_document_position_params;
            let doc = documents.get(at.text_document.uri.as_str())?;
            analysis::hover(doc, at.position)
        }),
        Completion::METHOD => with_params(request, |p: lsp_types::CompletionParams| {
            let at = p.text_document_position;
            let doc = documents.get(at.text_document.uri.as_str())?;
            Some(lsp_types::CompletionResponse::Array(analysis::completion(doc, at.position)))
        }),
        GotoDefinition::METHOD => with_params(request, |p: lsp_types::GotoDefinitionParams| {
            let at = p.text_document_position_params;
            let doc = documents.get(at.text_document.uri.as_str())?;
            let range = analysis::definition(doc, at.position)?;
            let location = lsp_types::Location { uri: at.text_document.uri, range };
            Some(lsp_types::GotoDefinitionResponse::Scalar(location))
        }),
        CodeActionRequest::METHOD => with_params(request, |p: lsp_types::CodeActionParams| {
            let doc = documents.get(p.text_document.uri.as_str())?;
            let actions = analysis::code_actions(doc, &p.text_document.uri, p.range);
            Some(actions.into_iter().map(lsp_types::CodeActionOrCommand::CodeAction).collect::<Vec<_>>())
        }),
        Formatting::METHOD => with_params(request, |p: lsp_types::DocumentFormattingParams| {
            let doc = documents.get(p.text_document.uri.as_str())?;
            analysis::formatting(doc)
        }),
        _ => {
            return Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("unsupported request {}", request.method),
            );
        }
    };
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err(message) => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message),
    }
}

/// Decodes the request's parameters and runs `f`; `None` answers `null`.
fn with_params<P, R>(request: Request, f: impl FnOnce(P) -> Option<R>) -> Result<serde_json::Value, String>
where
    P: serde::de::DeserializeOwned,
    R: serde::Serialize,
{
    let params: P = serde_json::from_value(request.params).map_err(|e| e.to_string())?;
    serde_json::to_value(f(params)).map_err(|e| e.to_string())
}
