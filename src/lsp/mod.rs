//! The language server (`autoscale-sim lsp`): LSP over stdio with
//! `lsp-server`, so editors show errors and lints as you type, hover docs,
//! completion, go-to-definition, formatting and the lints' quick fixes.
//!
//! Single-threaded and synchronous on purpose: a formula is at most 8 KB,
//! so re-checking the whole document on every change takes microseconds.

mod analysis;

use std::collections::HashMap;

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

/// Runs the server on stdin/stdout until the client says `exit`.
pub fn run() -> anyhow::Result<()> {
    let (connection, io_threads) = Connection::stdio();
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
    let mut documents: HashMap<String, String> = HashMap::new();
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = answer(&documents, request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some((uri, text)) = follow(&mut documents, notification) {
                    let diagnostics = analysis::diagnostics(&text);
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

/// Applies an open/change/close notification; returns the document to
/// re-check, if any.
fn follow(documents: &mut HashMap<String, String>, notification: Notification) -> Option<(Uri, String)> {
    match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let doc = params.text_document;
            documents.insert(doc.uri.as_str().to_owned(), doc.text.clone());
            Some((doc.uri, doc.text))
        }
        DidChangeTextDocument::METHOD => {
            let params: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            // Full sync: the last change holds the whole text.
            let text = params.content_changes.into_iter().last()?.text;
            let uri = params.text_document.uri;
            documents.insert(uri.as_str().to_owned(), text.clone());
            Some((uri, text))
        }
        DidCloseTextDocument::METHOD => {
            let params: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            documents.remove(params.text_document.uri.as_str());
            // Clear the closed document's diagnostics.
            Some((params.text_document.uri, String::new()))
        }
        _ => None,
    }
}

/// The response to one request; unknown methods get `MethodNotFound`.
fn answer(documents: &HashMap<String, String>, request: Request) -> Response {
    let id = request.id.clone();
    let result = match request.method.as_str() {
        HoverRequest::METHOD => with_params(request, |p: lsp_types::HoverParams| {
            let at = p.text_document_position_params;
            let text = documents.get(at.text_document.uri.as_str())?;
            analysis::hover(text, at.position)
        }),
        Completion::METHOD => with_params(request, |p: lsp_types::CompletionParams| {
            let at = p.text_document_position;
            let text = documents.get(at.text_document.uri.as_str())?;
            Some(lsp_types::CompletionResponse::Array(analysis::completion(text, at.position)))
        }),
        GotoDefinition::METHOD => with_params(request, |p: lsp_types::GotoDefinitionParams| {
            let at = p.text_document_position_params;
            let text = documents.get(at.text_document.uri.as_str())?;
            let range = analysis::definition(text, at.position)?;
            let location = lsp_types::Location { uri: at.text_document.uri, range };
            Some(lsp_types::GotoDefinitionResponse::Scalar(location))
        }),
        CodeActionRequest::METHOD => with_params(request, |p: lsp_types::CodeActionParams| {
            let text = documents.get(p.text_document.uri.as_str())?;
            let actions = analysis::code_actions(text, &p.text_document.uri, p.range);
            Some(actions.into_iter().map(lsp_types::CodeActionOrCommand::CodeAction).collect::<Vec<_>>())
        }),
        Formatting::METHOD => with_params(request, |p: lsp_types::DocumentFormattingParams| {
            let text = documents.get(p.text_document.uri.as_str())?;
            analysis::formatting(text)
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
