//! sockplay: an interactive playground for BSD sockets.
//!
//! # Layout
//! - [`syntax`]: the nom grammar; text to [`syntax::ast`] statements, with spans.
//! - [`spec`]: the one table of commands feeding the parser, `help`,
//!   completion, hints and did-you-mean.
pub mod errors;
pub mod exec;
pub mod jobs;
pub mod render;
pub mod repl;
pub mod script;
pub mod spec;
pub mod syntax;
pub mod table;
pub mod trace;
pub mod value;
pub mod wait;
