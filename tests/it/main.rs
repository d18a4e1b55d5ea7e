//! Integration tests: one binary, a module per topic.

mod agent;
mod architecture;
mod autoscale;
mod cli;
mod compare;
mod diagnostics;
mod differential;
mod docs_examples;
mod fmt;
mod functions;
mod fuzz;
mod fuzz_scenario;
mod jobs;
mod lifecycle;
mod limits;
mod lints;
mod lsp;
mod operators;
mod oracle;
mod real_agents;
mod requested_agents;
mod sim;
mod support;
mod tables;
mod testsuite;
mod timeline;
