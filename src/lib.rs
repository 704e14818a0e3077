//! sockplay: an interactive playground for BSD sockets.
//!
//! # Layout
//! - [`syntax`]: the nom grammar; text to [`syntax::ast`] statements, with spans.
//! - [`spec`]: the one table of commands feeding the parser, `help`,
//!   completion, hints and did-you-mean.
//! - [`peers`]: the built-in peers `serve` starts (echo, discard, daytime,
//!   chat, http), each a thread with a `poll()` loop over non-blocking
//!   sockets; the executor's `serve`, `peers` and `stop` (in `exec/serve.rs`)
//!   talk to them.
//! - [`script`]: the runner every input goes through (parse, execute,
//!   render), which also captures each command's output for `expect`.
//! - [`play`]: lesson scripts: narration, `macdef`/`$NAME`, `expect`, and
//!   replaying at full speed, one step per Enter, or as a check.
//! - [`lessons`]: the bundled lessons (`lessons/*.sp`, compiled in).
pub mod errors;
pub mod exec;
pub mod jobs;
pub mod lessons;
pub mod peers;
pub mod play;
pub mod render;
pub mod repl;
pub mod script;
pub mod spec;
pub mod syntax;
pub mod table;
pub mod trace;
pub mod value;
pub mod wait;
