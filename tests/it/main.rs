//! Integration tests: one binary, a module per topic.

mod cli;
mod diagnostics;
mod differential;
mod docs_examples;
mod functions;
mod fuzz;
mod operators;
mod oracle;
mod sim;
mod support;
mod tables;
