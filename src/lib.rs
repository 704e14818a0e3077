//! sockplay: an interactive playground for BSD sockets.
//!
//! # Layout
//! - [`syntax`]: the nom grammar; text to [`syntax::ast`] statements, with spans.
//! - [`spec`]: the one table of commands feeding the parser, `help`,
//!   completion, hints and did-you-mean.
//! - [`exec`]: one function per command over the socket table; the bulk
//!   transfers (`sendfile`, `recvfile`, `send c zeros`, `recv c discard`)
//!   and their progress line are in `exec/bulk.rs`.
//! - [`trace`]: the capture of TCP segments on `lo` behind `states` (root
//!   only), filtered in the kernel so that bulk transfers stay cheap.
//! - [`peers`]: the built-in peers `serve` starts (echo, discard, daytime,
//!   chat, http), each a thread with a `poll()` loop over non-blocking
//!   sockets; the executor's `serve`, `peers` and `stop` (in `exec/serve.rs`)
//!   talk to them.
pub mod errors;
pub mod exec;
pub mod jobs;
pub mod peers;
pub mod render;
pub mod repl;
pub mod script;
pub mod spec;
pub mod syntax;
pub mod table;
pub mod trace;
pub mod value;
pub mod wait;
