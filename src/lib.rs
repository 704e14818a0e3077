//! sockplay: an interactive playground for BSD sockets.
//!
//! # Layout
//! Data flows one way: line -> [`syntax`] -> statement -> [`exec`] (over the
//! [`table`], waiting with [`wait`], in the background with [`jobs`]) ->
//! items -> [`render`] -> terminal. The grammar knows nothing of sockets,
//! the executor nothing of terminals, the renderer nothing of syscalls.
//!
//! - [`syntax`]: the nom grammar; text to [`syntax::ast`] statements, with
//!   spans on every token; no I/O. Two surfaces give the same statements:
//!   the shell's words (`bind s 127.0.0.1 9000`) and the course's Python
//!   lines (`s.bind(('127.0.0.1', 9000))`, `syntax/python/`).
//! - [`spec`]: the one table of commands (and of socket options) feeding the
//!   parser, `help`, completion, hints and did-you-mean; its rows in
//!   `spec/commands.rs`, the socket options in `spec/options.rs`.
//! - [`exec`]: one function per command over the session; reports
//!   [`exec::Item`]s through a sink, never prints. `exec/io.rs` holds the
//!   calls that may wait, detached so they can run as jobs (`exec/recv.rs`
//!   the receiving ones); `exec/bulk.rs` the
//!   bulk transfers (`sendfile`, `recvfile`, `send c zeros`, `recv c
//!   discard`) and their progress line; `exec/pair.rs` socketpair and dup;
//!   `exec/ancillary.rs` the real sendmsg/recvmsg with SCM_RIGHTS and
//!   SCM_CREDENTIALS; `exec/epoll.rs` epoll; `exec/c10k.rs` the C10K
//!   measurement and its helper process.
//! - [`table`]: the socket table by descriptor, and what the kernel says of
//!   each socket (TCP_INFO, queues, readiness, /proc/net/tcp).
//! - [`wait`]: blocking made visible: poll in slices with a deadline and the
//!   Ctrl-C flag.
//! - [`jobs`]: background jobs (`c = accept s &`) and their reports.
//! - [`wire`]: what passes on the wire: the capture of the packets on `lo`
//!   behind `states` and `diagram` (root, or `sockplay --lab`), filtered in
//!   the kernel so that bulk transfers stay cheap; each connection read as
//!   Wireshark reads it (relative numbers, windows, retransmissions, why a
//!   reset came); pcap files; the sequence diagram as text and SVG; the
//!   user and network namespace of `--lab`.
//! - [`lab`]: hosts in network namespaces on a switch of sockplay's own
//!   whose links lose, delay and reorder (`lab up a b`, `on b ...`, `lab
//!   net`); `exec/lab.rs` is the executor's side (host names, the HOST of
//!   each socket, `on`). Nothing of it outlives sockplay.
//! - [`peers`]: the built-in peers `serve` starts (echo, discard, daytime,
//!   chat, http), each a thread with a `poll()` loop over non-blocking
//!   sockets; the executor's `serve`, `peers` and `stop` (in `exec/serve.rs`)
//!   talk to them.
//! - [`value`]: values shown as Python shows them (bytes repr, addresses).
//! - [`errors`]: errors in Python's words, with the errno name and a hint.
//! - [`render`]: items and errors to text; the only module that colours
//!   (`render/tables.rs` the tables, `render/layout.rs` width, wrapping
//!   and help, `render/errors.rs` errors and carets).
//! - [`repl`]: the interactive shell (rustyline: completion, hints,
//!   highlighting, history, prompts for missing arguments); the editor's
//!   Helper in `repl/editor.rs`.
//! - [`script`]: the runner every input goes through (parse, execute,
//!   render), which also captures each command's output for `expect`.
//! - [`play`]: lesson scripts: narration, `macdef`/`$NAME`, `expect`, and
//!   replaying at full speed, one step per Enter, or as a check.
//! - [`lessons`]: the bundled lessons (`lessons/*.sp`, compiled in).
//! - [`watch`]: real programs under sockplay's eye (`sockplay watch`,
//!   `run ... [&]`): a start-up module given to python3 reports each socket
//!   call, and the reports become the same items as the shell's calls;
//!   other programs' sockets are read from /proc.
//! - [`exit`]: the one way out: every end of the shell (a signal too)
//!   runs the registered clean-up hooks (peers' socket files, temporary
//!   files; labs add theirs).
//! - [`input`]: reading lines from stdin, script files and `source`,
//!   bounded in length and strict about UTF-8, and answers to questions.
//! - [`files`]: every file a command creates, replaces, removes or reads
//!   for the user, and what a script or a lesson may do to the file system
//!   (new files under the current directory, no links, no replacing).
//! - [`export`]: the session written out: `export FILE.py` (a Python
//!   program, from the command table's Python forms) and `record FILE.sp`
//!   (a lesson with generated `expect`s), from the runner's journal.
//! - [`proto`]: debugging a protocol by hand: receives that stop at a
//!   delimiter or a count (`recvuntil`, `recvline`, `recvn`, `recvall`)
//!   with one timeout budget per call, and the bytes they read past it,
//!   held per socket for the next receive.
pub mod errors;
pub mod exec;
pub mod exit;
pub mod export;
pub mod files;
pub mod input;
pub mod jobs;
pub mod lab;
pub mod lessons;
pub mod peers;
pub mod play;
pub mod proto;
pub mod render;
pub mod repl;
pub mod script;
pub mod spec;
pub mod syntax;
pub mod table;
pub mod value;
pub mod wait;
pub mod watch;
pub mod wire;
