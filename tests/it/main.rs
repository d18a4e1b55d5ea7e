//! Integration tests: one binary, a module per topic.

mod cli;
mod diagnostics;
mod docs_examples;
mod fuzz;
mod functions;
mod operators;
mod oracle;
mod support;
