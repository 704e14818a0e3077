//! Items, values and errors to text. The only module that colours (with
//! the `colored` crate, whose global switch the front end sets from
//! `--color` and NO_COLOR).
//!
//! Output is indented two spaces under the prompt line so that a session
//! reads as a transcript: what was typed, then what happened. Notes start
//! with `#`, like comments in a script.

use crate::errors::ExecError;
use crate::exec::{Item, JobEnd, Piece, Row, SockDesc};
use crate::peers::{LogEntry, MAX_EVENTS, PeerLog, PeerRow, What};
use crate::spec::{self, CmdSpec, Group};
use crate::syntax::ParseError;
use crate::syntax::ast::{PeerKind, Span, View};
use crate::value::{self, Value};
use crate::wait;
use colored::Colorize;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthChar as _;
use unicode_width::UnicodeWidthStr;

const IND: &str = "  ";

/// Values longer than this are shown cut (a terminal is no place for a
/// megabyte); the hex and text views show more, up to [`SHOWN_VIEW`].
const SHOWN: usize = 1024;

/// The most bytes the hex and text views show of one value (a 256 MiB
/// value in hex would be a gigabyte of text).
const SHOWN_VIEW: usize = 1 << 20;

/// The prompt.
pub const PROMPT: &str = "sockplay> ";

/// What `clear` writes to a terminal: the cursor home, the screen erased
/// (as Ctrl-L does; the scrollback stays).
pub const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

pub fn prompt_styled() -> String {
    PROMPT.bold().blue().to_string()
}

/// The prompt while a `macdef` typed in the shell collects its lines.
pub const MACRO_PROMPT: &str = "  macro> ";

pub fn macro_prompt_styled() -> String {
    MACRO_PROMPT.dimmed().to_string()
}

/// A socket, Python-like: `<socket c fd=5 AF_INET SOCK_STREAM laddr=... raddr=... ESTABLISHED>`.
pub fn sock_desc(d: &SockDesc) -> String {
    if d.closed {
        return format!("<socket [closed] fd={}>", d.fd);
    }
    let mut s = format!("<socket fd={} {} {}", d.fd, d.family, d.kind);
    if let Some(l) = &d.local {
        let _ = write!(s, " laddr={l}");
    }
    if let Some(p) = &d.peer {
        let _ = write!(s, " raddr={p}");
    }
    if !d.state.is_empty() && d.state != "CLOSED" {
        let _ = write!(s, " {}", d.state);
    }
    s.push('>');
    s
}

fn state_colored(s: &str) -> String {
    match s {
        "ESTABLISHED" | "connected" => s.green().to_string(),
        "LISTEN" | "listening" => s.blue().bold().to_string(),
        "SYN_SENT" | "SYN_RECV" => s.cyan().to_string(),
        "CLOSE_WAIT" | "FIN_WAIT1" | "FIN_WAIT2" | "LAST_ACK" | "CLOSING" | "TIME_WAIT" => {
            s.yellow().to_string()
        }
        s if s.starts_with("CLOSED") => s.red().to_string(),
        _ => s.to_string(),
    }
}

fn byte_count(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// Received bytes split at the sends they came from: `b'hello' + b' world'`,
/// each send in its own colour, so TCP's missing boundaries can be seen.
/// Bytes beyond the recorded sends form a last piece of their own.
fn bytes_by_send(b: &[u8], pieces: &[Piece]) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    for p in pieces {
        let end = (at + p.len).min(b.len());
        parts.push((Some(p.send_no), &b[at..end]));
        at = end;
    }
    if at < b.len() {
        parts.push((None, &b[at..]));
    }
    let shown: Vec<String> = parts
        .iter()
        .map(|(no, chunk)| {
            let r = value::bytes_repr(chunk);
            match no.map(|n| n % 3) {
                Some(1) => r.green().to_string(),
                Some(2) => r.cyan().to_string(),
                Some(_) => r.magenta().to_string(),
                None => r.normal().to_string(),
            }
        })
        .collect();
    shown.join(&" + ".dimmed().to_string())
}

/// A value with the sends its bytes came from (see [`bytes_by_send`]).
pub fn value_text_pieces(
    v: &Value,
    view: View,
    sock: Option<&SockDesc>,
    pieces: &[Piece],
) -> String {
    match (v, view) {
        (Value::Bytes(b), View::Repr)
            if b.len() <= SHOWN
                && (pieces.len() > 1 || pieces.first().is_some_and(|p| p.len < b.len())) =>
        {
            format!(
                "{}  {}",
                bytes_by_send(b, pieces),
                format!("({})", byte_count(b.len())).dimmed()
            )
        }
        _ => value_text(v, view, sock),
    }
}

/// A value as shown after `name =` (may span lines for hex and text views).
pub fn value_text(v: &Value, view: View, sock: Option<&SockDesc>) -> String {
    match (v, sock) {
        (Value::Socket(_), Some(d)) => return sock_desc(d).cyan().to_string(),
        (Value::Bytes(b), _) => {
            return match view {
                View::Repr if b.len() > SHOWN => format!(
                    "{}...  {}",
                    value::bytes_repr(&b[..SHOWN]).green(),
                    format!("({}, the first {SHOWN} shown; `recv ... hex` or `set display hex` shows more)", byte_count(b.len()))
                        .dimmed()
                ),
                View::Repr => format!(
                    "{}  {}",
                    value::bytes_repr(b).green(),
                    format!("({})", byte_count(b.len())).dimmed()
                ),
                View::Hex if b.is_empty() => format!("{}  {}", "b''".green(), "(0 bytes)".dimmed()),
                View::Hex => {
                    let mut s =
                        format!("{}", format!("{}, hexdump:", byte_count(b.len())).dimmed());
                    for line in value::hexdump(&b[..b.len().min(SHOWN_VIEW)]).lines() {
                        let _ = write!(s, "\n{IND}{IND}{line}");
                    }
                    view_cut(&mut s, b.len());
                    s
                }
                View::Text => {
                    let mut s = format!("{}", format!("{} as text:", byte_count(b.len())).dimmed());
                    let text = value::bytes_as_text(&b[..b.len().min(SHOWN_VIEW)]);
                    for line in text.split('\n') {
                        let _ = write!(s, "\n{IND}{IND}{} {}", "|".dimmed(), line.green());
                    }
                    view_cut(&mut s, b.len());
                    s
                }
            };
        }
        _ => {}
    }
    match v {
        Value::Tuple(items)
            if items.len() == 2 && matches!(items[0], Value::Socket(_)) && sock.is_some() =>
        {
            let first = sock.map(sock_desc).unwrap_or_default();
            format!("({}, {})", first.cyan(), items[1].repr_cut(4 * SHOWN).0)
        }
        Value::Str(t) if t.len() > SHOWN => {
            let cut = (0..=SHOWN)
                .rev()
                .find(|k| t.is_char_boundary(*k))
                .unwrap_or(0);
            format!(
                "{}...  {}",
                value::str_repr(&t[..cut]).green(),
                format!("({} characters, the first part shown)", t.chars().count()).dimmed()
            )
        }
        Value::Str(_) => v.repr().green().to_string(),
        Value::Int(_) | Value::Float(_) => v.repr().magenta().to_string(),
        _ => {
            // A tuple may hold large values: its repr is cut too.
            let (text, cut) = v.repr_cut(4 * SHOWN);
            if cut {
                format!(
                    "{text}...  {}",
                    format!("({} bytes of data, the first part shown)", v.data_len()).dimmed()
                )
            } else {
                text
            }
        }
    }
}

/// The line that says a hex or text view was cut.
fn view_cut(s: &mut String, len: usize) {
    if len > SHOWN_VIEW {
        let _ = write!(
            s,
            "\n{IND}{IND}{}",
            format!(
                "... {} more (the first {} shown)",
                byte_count(len - SHOWN_VIEW),
                value::human_size(SHOWN_VIEW as u64)
            )
            .dimmed()
        );
    }
}

fn table(rows: &[Row]) -> String {
    // HOST (after NAME) only while a lab is up: the rows say so; OWNER
    // (last) only when programs run from the shell own some rows.
    let hosts = rows.iter().any(|r| !r.host.is_empty());
    let owned = rows.iter().any(|r| !r.owner.is_empty());
    let head: Vec<&str> = [
        "FD", "NAME", "HOST", "PROTO", "LOCAL", "PEER", "STATE", "RECV-Q", "SEND-Q", "MODE",
        "READY", "OWNER",
    ]
    .into_iter()
    .filter(|h| (hosts || *h != "HOST") && (owned || *h != "OWNER"))
    .collect();
    let state_col = if hosts { 6 } else { 5 };
    fn cells(r: &Row, hosts: bool, owned: bool) -> Vec<&str> {
        let mut v: Vec<&str> = vec![&r.fd, &r.names];
        if hosts {
            v.push(if r.host.is_empty() { "-" } else { &r.host });
        }
        v.extend([
            r.proto.as_str(),
            &r.local,
            &r.peer,
            &r.state,
            &r.recv_q,
            &r.send_q,
            &r.mode,
            &r.ready,
        ]);
        if owned {
            v.push(&r.owner);
        }
        v
    }
    // Addresses and names come from outside: escaped before they are
    // measured.
    let rows: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            for f in [
                &mut r.fd,
                &mut r.names,
                &mut r.host,
                &mut r.proto,
                &mut r.local,
                &mut r.peer,
                &mut r.state,
                &mut r.recv_q,
                &mut r.send_q,
                &mut r.mode,
                &mut r.ready,
            ] {
                if f.chars().any(value::is_unsafe_char) {
                    *f = value::escape_controls(f);
                }
            }
            r
        })
        .collect();
    let rows = &rows[..];
    let mut width: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for r in rows {
        for (k, cell) in cells(r, hosts, owned).iter().enumerate() {
            width[k] = width[k].max(cell.width());
        }
    }
    let shown = table_columns_shown(&head, &width, terminal_width());
    // One buffer for the whole table (10,000 rows make a megabyte): the
    // cells are borrowed, not copied, and colour codes are made only when
    // colour is on.
    let colour = colored::control::SHOULD_COLORIZE.should_colorize();
    let line_len: usize = width.iter().map(|w| w + 2).sum::<usize>() + IND.len() + 1;
    let mut out = String::with_capacity(line_len * (rows.len() + 1) + 64);
    let mut line = String::from(IND);
    for (k, h) in head.iter().enumerate().filter(|(k, _)| shown[*k]) {
        let _ = write!(line, "{:w$}  ", h, w = width[k]);
    }
    let _ = writeln!(out, "{}", line.trim_end().bold());
    for r in rows {
        let start = out.len();
        out.push_str(IND);
        for (k, cell) in cells(r, hosts, owned).iter().enumerate() {
            if !shown[k] {
                continue;
            }
            let pad = width[k].saturating_sub(cell.width());
            match k {
                0 => {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                }
                1 if colour => {
                    let _ = write!(out, "{}", cell.cyan());
                    out.extend(std::iter::repeat_n(' ', pad));
                }
                k if k == state_col && colour => {
                    out.push_str(&state_colored(cell));
                    out.extend(std::iter::repeat_n(' ', pad));
                }
                _ => {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str("  ");
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    let left: Vec<&str> = head
        .iter()
        .enumerate()
        .filter(|(k, _)| !shown[*k])
        .map(|(_, h)| *h)
        .collect();
    if !left.is_empty() {
        let _ = write!(
            out,
            "\n{IND}{}",
            format!(
                "# {} left out to fit the terminal: `info NAME` shows a socket in full",
                left.join(", ")
            )
            .dimmed()
            .italic()
        );
    }
    out
}

/// The socket table's columns (`head`, each `width` wide) that fit in
/// `term` columns (all of them when the width is not known: a script's
/// output keeps them all). The least needed go first, until the rows fit:
/// READY, MODE, PROTO, SEND-Q, RECV-Q; the fd, names, host, addresses and
/// state always stay.
fn table_columns_shown(head: &[&str], width: &[usize], term: Option<usize>) -> Vec<bool> {
    columns_that_fit(
        head,
        width,
        term,
        &["READY", "MODE", "PROTO", "SEND-Q", "RECV-Q"],
    )
}

/// The columns (`head`, each `width` wide) that fit in `term` columns,
/// leaving out those named in `droppable`, in its order, until they do.
fn columns_that_fit(
    head: &[&str],
    width: &[usize],
    term: Option<usize>,
    droppable: &[&str],
) -> Vec<bool> {
    let mut shown = vec![true; head.len()];
    let Some(term) = term else {
        return shown;
    };
    let total = |shown: &[bool]| -> usize {
        IND.len()
            + width
                .iter()
                .zip(shown)
                .filter(|(_, s)| **s)
                .map(|(w, _)| w + 2)
                .sum::<usize>()
            - 2
    };
    for name in droppable {
        if total(&shown) <= term {
            break;
        }
        if let Some(k) = head.iter().position(|h| h == name) {
            shown[k] = false;
        }
    }
    shown
}

/// Columns padded to their widest cell; `right` columns are numbers.
fn columns(head: &[&str], cells: &[Vec<String>], right: &[bool]) -> Vec<String> {
    let width = column_widths(head, cells);
    let line = |row: &[String]| {
        let mut l = String::from(IND);
        for (k, c) in row.iter().enumerate() {
            let w = width.get(k).copied().unwrap_or(0);
            let pad = " ".repeat(w.saturating_sub(c.width()));
            if right.get(k).copied().unwrap_or(false) {
                let _ = write!(l, "{pad}{c}  ");
            } else {
                let _ = write!(l, "{c}{pad}  ");
            }
        }
        l.trim_end().to_string()
    };
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let mut out = vec![line(&head)];
    out.extend(cells.iter().map(|r| line(r)));
    out
}

/// Each column's width: its widest cell, heading included.
fn column_widths(head: &[&str], cells: &[Vec<String>]) -> Vec<usize> {
    let mut width: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for row in cells {
        for (k, c) in row.iter().enumerate() {
            if let Some(w) = width.get_mut(k) {
                *w = (*w).max(c.width());
            }
        }
    }
    width
}

fn peer_state(s: &str) -> String {
    match s {
        "running" => s.green().to_string(),
        "stopped" => s.dimmed().to_string(),
        _ => s.red().to_string(),
    }
}

/// `peers`: one row per peer.
fn peers_table(rows: &[PeerRow]) -> String {
    // Headings that cannot be read against each other: clients connected
    // at this moment, and all those served since the start (`help peers`).
    let head = [
        "N",
        "KIND",
        "ADDRESS",
        "STATE",
        "CONNECTED NOW",
        "SERVED IN ALL",
        "BYTES-IN",
        "BYTES-OUT",
        "FILES",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.n.to_string(),
                r.label.clone(),
                value::escape_controls(&r.addr),
                r.state.clone(),
                // UDP has no connections: its senders are in SERVED IN ALL.
                if r.udp {
                    "-".to_string()
                } else {
                    r.clients.to_string()
                },
                r.served.to_string(),
                r.bytes_in.to_string(),
                r.bytes_out.to_string(),
                match (&r.dir, r.kind) {
                    (Some(d), _) => value::escape_controls(d),
                    (None, PeerKind::Http) => "built-in page".into(),
                    (None, _) => "-".into(),
                },
            ]
        })
        .collect();
    let right = [true, false, false, false, true, true, true, true, false];
    // At 80 columns the whole table is 95 wide and each row broke in two:
    // the byte counts go first (`peers log N` has them), then FILES.
    let shown = columns_that_fit(
        &head,
        &column_widths(&head, &cells),
        terminal_width(),
        &["BYTES-OUT", "BYTES-IN", "FILES"],
    );
    let keep = |k: &usize| shown[*k];
    let pick = |row: &[String]| -> Vec<String> {
        row.iter()
            .enumerate()
            .filter(|(k, _)| keep(k))
            .map(|(_, c)| c.clone())
            .collect()
    };
    let head_shown: Vec<&str> = head
        .iter()
        .enumerate()
        .filter(|(k, _)| keep(k))
        .map(|(_, h)| *h)
        .collect();
    let right_shown: Vec<bool> = right
        .iter()
        .enumerate()
        .filter(|(k, _)| keep(k))
        .map(|(_, r)| *r)
        .collect();
    let cells_shown: Vec<Vec<String>> = cells.iter().map(|r| pick(r)).collect();
    let lines = columns(&head_shown, &cells_shown, &right_shown);
    let mut out = String::new();
    for (k, l) in lines.iter().enumerate() {
        if k == 0 {
            let _ = writeln!(out, "{}", l.bold());
        } else {
            // Colour the state word in place (the padding is already done).
            let state = &rows[k - 1].state;
            let _ = writeln!(out, "{}", l.replacen(state.as_str(), &peer_state(state), 1));
        }
    }
    let left: Vec<&str> = head
        .iter()
        .enumerate()
        .filter(|(k, _)| !keep(k))
        .map(|(_, h)| *h)
        .collect();
    if !left.is_empty() {
        let _ = write!(
            out,
            "{IND}{}",
            format!(
                "# {} left out to fit the terminal (a wider one shows them)",
                left.join(", ")
            )
            .dimmed()
            .italic()
        );
    }
    out.trim_end().to_string()
}

/// How much chunk text `peers log` shows, at most (about two screens).
const LOG_SHOWN: usize = 12 * 1024;
/// A run of chunks from one client longer than this (as text) shows only
/// its first and last chunk.
const RUN_SHOWN: usize = 4 * 1024;

/// One line of `peers log`, before it is written.
enum LogLine<'a> {
    Event(&'a LogEntry),
    Chunk(&'a LogEntry),
    /// Chunks of one client in a row, not shown: how many, how many bytes.
    Skipped(u64, usize, u64),
}

fn chunk_total(e: &LogEntry) -> usize {
    match &e.what {
        What::Data { total, .. } => *total,
        _ => 0,
    }
}

fn chunk_text_len(e: &LogEntry) -> usize {
    match &e.what {
        What::Data { bytes, .. } => value::bytes_repr(bytes).len(),
        _ => 0,
    }
}

/// The lines of a log: every event; chunks, except the middle of a long
/// run from one client (a flood) and, past [`LOG_SHOWN`], the oldest.
/// Returns the lines and the chunks and bytes hidden at the top.
fn log_lines(entries: &[LogEntry]) -> (Vec<LogLine<'_>>, u64, u64) {
    let mut lines = Vec::new();
    let mut k = 0;
    while k < entries.len() {
        let e = &entries[k];
        if !matches!(e.what, What::Data { .. }) {
            lines.push(LogLine::Event(e));
            k += 1;
            continue;
        }
        let mut end = k + 1;
        while end < entries.len()
            && matches!(entries[end].what, What::Data { .. })
            && entries[end].client == e.client
        {
            end += 1;
        }
        let run = &entries[k..end];
        let text: usize = run.iter().map(chunk_text_len).sum();
        if run.len() >= 3 && text > RUN_SHOWN {
            let middle = &run[1..run.len() - 1];
            lines.push(LogLine::Chunk(&run[0]));
            lines.push(LogLine::Skipped(
                e.client.unwrap_or(0),
                middle.len(),
                middle.iter().map(|m| chunk_total(m) as u64).sum(),
            ));
            lines.push(LogLine::Chunk(&run[run.len() - 1]));
        } else {
            lines.extend(run.iter().map(LogLine::Chunk));
        }
        k = end;
    }
    // The newest chunks within the budget; older ones are counted.
    let mut budget = LOG_SHOWN;
    let mut cut = 0;
    let mut seen_one = false;
    for (j, l) in lines.iter().enumerate().rev() {
        if let LogLine::Chunk(e) = l {
            let len = chunk_text_len(e);
            if len > budget && seen_one {
                cut = j + 1;
                break;
            }
            budget = budget.saturating_sub(len);
            seen_one = true;
        }
    }
    let (mut chunks, mut bytes) = (0u64, 0u64);
    let mut kept = Vec::with_capacity(lines.len());
    for (j, l) in lines.into_iter().enumerate() {
        match l {
            LogLine::Chunk(e) if j < cut => {
                chunks += 1;
                bytes += chunk_total(e) as u64;
            }
            LogLine::Skipped(_, n, b) if j < cut => {
                chunks += n as u64;
                bytes += b;
            }
            l => kept.push(l),
        }
    }
    (kept, chunks, bytes)
}

/// `peers log N`: what the peer received, chunk by chunk, escaped.
fn peer_log(log: &PeerLog) -> String {
    let r = &log.row;
    let mut out = format!(
        "{IND}{}",
        format!(
            "peer {}: {} server on {} ({}) - {}, {} received",
            r.n,
            r.label,
            value::escape_controls(&r.addr),
            r.state,
            match (r.served, r.udp) {
                (1, false) => "1 connection".to_string(),
                (n, false) => format!("{n} connections"),
                (1, true) => "1 sender".to_string(),
                (n, true) => format!("{n} senders"),
            },
            byte_count(usize::try_from(r.bytes_in).unwrap_or(usize::MAX))
        )
        .bold()
    );
    let (lines, hidden, hidden_bytes) = log_lines(&log.entries);
    let hidden = hidden + log.dropped_chunks;
    if hidden > 0 {
        let _ = write!(
            out,
            "\n{IND}{IND}{}",
            format!(
                "# {} older chunk{} ({}) not shown",
                hidden,
                if hidden == 1 { "" } else { "s" },
                byte_count(usize::try_from(hidden_bytes + log.dropped_bytes).unwrap_or(usize::MAX))
            )
            .dimmed()
        );
    }
    if log.dropped_events > 0 {
        let _ = write!(
            out,
            "\n{IND}{IND}{}",
            format!(
                "# {} older events not shown: the last {MAX_EVENTS} are kept",
                log.dropped_events
            )
            .dimmed()
        );
    }
    if log.entries.is_empty() {
        let _ = write!(
            out,
            "\n{IND}{IND}{}",
            if r.udp {
                "# nothing yet: no datagram has come"
            } else {
                "# nothing yet: no client has connected"
            }
            .dimmed()
        );
    }
    for l in lines {
        let line = match l {
            LogLine::Skipped(client, n, bytes) => format!(
                "{} {}",
                format!("{} {client}", if r.udp { "sender" } else { "client" }).cyan(),
                format!(
                    "... {n} more chunk{} ({}) ...",
                    if n == 1 { "" } else { "s" },
                    byte_count(usize::try_from(bytes).unwrap_or(usize::MAX))
                )
                .dimmed()
            ),
            LogLine::Event(e) | LogLine::Chunk(e) => log_entry(e, r.udp),
        };
        let _ = write!(out, "\n{IND}{IND}{line}");
    }
    out
}

fn log_entry(e: &LogEntry, udp: bool) -> String {
    let who = match e.client {
        Some(c) if udp => format!("sender {c}"),
        Some(c) => format!("client {c}"),
        None => "peer".to_string(),
    };
    match &e.what {
        What::Sender(from) => format!(
            "{} is {} (its first datagram)",
            who.cyan(),
            value::escape_controls(from)
        ),
        What::Connected(from) => format!(
            "{} connected from {}",
            who.cyan(),
            value::escape_controls(from)
        ),
        What::Data { bytes, total } => {
            let count = if bytes.len() < *total {
                format!("({} of {total} bytes shown)", bytes.len())
            } else {
                format!("({})", byte_count(*total))
            };
            format!(
                "{} -> {}  {}",
                who.cyan(),
                value::bytes_repr(bytes).green(),
                count.dimmed()
            )
        }
        What::Closed(why) => format!("{} closed: {}", who.cyan(), value::escape_controls(why)),
        What::Note(text) => format!("{} {}", who.cyan(), value::escape_controls(text).dimmed()),
    }
}

/// The terminal's width in columns as the front end last measured it (0:
/// not a terminal, or not known): `help` fits its lines to it.
static WIDTH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Long notes (`# ...`), warnings (`! ...`) and hints (`hint: ...`) of
/// `text` wrapped at word boundaries within `width` columns, each
/// continuation under the first word (the terminal would cut them in the
/// middle of a word). Other lines, and lines that fit, are left as they
/// are. Only for the screen: a capture (what `expect` reads) keeps the
/// lines whole.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let plain = strip_ansi(line);
        if plain.width() <= width {
            out.push_str(line);
            continue;
        }
        // The mark, the continuation's indent, and the line's colour.
        type Style = (&'static str, &'static str, fn(&str) -> String);
        let styled: Option<Style> = if plain.starts_with("  # ") {
            Some(("# ", "  ", |s| s.dimmed().italic().to_string()))
        } else if plain.starts_with("  ! ") {
            Some(("! ", "  ", |s| s.yellow().bold().to_string()))
        } else if plain.starts_with("  hint: ") {
            Some(("hint: ", "      ", |s| s.yellow().to_string()))
        } else {
            None
        };
        let Some((mark, hang, style)) = styled else {
            out.push_str(line);
            continue;
        };
        let body = &plain[IND.len() + mark.len()..];
        let room = width.saturating_sub(IND.len() + mark.len()).max(MIN_TEXT);
        for (j, piece) in wrap(body, room).iter().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            let lead = if j == 0 { mark } else { hang };
            let _ = write!(out, "{IND}{}", style(&format!("{lead}{piece}")));
        }
    }
    out
}

/// The terminal's width now, if the output goes to one (for [`fit`]).
pub fn screen_width() -> Option<usize> {
    terminal_width()
}

/// The width `help` assumes when the terminal's is not known.
pub const DEFAULT_WIDTH: usize = 80;

/// Tells the renderer the terminal's width (None: not a terminal).
pub fn set_width(cols: Option<usize>) {
    WIDTH.store(cols.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

fn width() -> usize {
    terminal_width().unwrap_or(DEFAULT_WIDTH)
}

/// The terminal's width, when the output goes to one.
fn terminal_width() -> Option<usize> {
    match WIDTH.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// The usages are padded to this many columns at most; a longer usage
/// (`select read s... [write s...] ...`) stands on its own line and its
/// summary goes under the column where the others start.
const USAGE_COLUMN: usize = 34;

/// The fewest columns a summary is wrapped to: on a narrower terminal the
/// lines are left long rather than cut into a word or two each.
const MIN_TEXT: usize = 24;

fn help_all() -> String {
    help_all_in(width())
}

/// `help`: every command, its usage and summary, grouped; each summary
/// wrapped within `width` columns, its continuation lines aligned under it.
fn help_all_in(width: usize) -> String {
    let mut out = String::new();
    let usage_w = spec::SPECS
        .iter()
        .map(|s| s.usage().len())
        .filter(|&n| n <= USAGE_COLUMN)
        .max()
        .unwrap_or(20);
    // Where every summary starts: after IND IND, the usage and two blanks.
    let col = 2 * IND.len() + usage_w + 2;
    let room = width.saturating_sub(col).max(MIN_TEXT);
    let under = " ".repeat(col);
    for group in [
        Group::Calls,
        Group::Options,
        Group::Names,
        Group::Jobs,
        Group::Peers,
        Group::Scripts,
        Group::Shell,
        Group::Lab,
    ] {
        let _ = writeln!(out, "{IND}{}", group.title().bold());
        for s in spec::SPECS.iter().filter(|s| s.group == group) {
            let usage = s.usage();
            let lines = wrap(s.summary, room);
            let mut lines = lines.iter();
            if usage.len() <= usage_w {
                let pad = usage_w - usage.len();
                let first = lines.next().map_or("", String::as_str);
                let _ = writeln!(
                    out,
                    "{IND}{IND}{}{}  {}",
                    usage.cyan(),
                    " ".repeat(pad),
                    first.dimmed()
                );
            } else if usage.width() + 2 * IND.len() <= width {
                let _ = writeln!(out, "{IND}{IND}{}", usage.cyan());
            } else {
                // A usage too long even for its own line goes on over
                // several, each part under the first.
                let cont = format!("{IND}{IND}{IND}");
                let mut parts =
                    wrap(&usage, width.saturating_sub(cont.len()).max(MIN_TEXT)).into_iter();
                let first = parts.next().unwrap_or_default();
                let _ = writeln!(out, "{IND}{IND}{}", first.cyan());
                for p in parts {
                    let _ = writeln!(out, "{cont}{}", p.cyan());
                }
            }
            for l in lines {
                let _ = writeln!(out, "{under}{}", l.dimmed());
            }
        }
    }
    let footer = "help COMMAND explains one; a socket is its name or fd; `;` separates statements; \
                  Tab completes; Ctrl-L (or clear) clears the screen; reset starts again; \
                  `help python` lists the Python lines it takes too (sk.bind(('127.0.0.1', 9000)))";
    let lines = wrap(footer, width.saturating_sub(IND.len()).max(MIN_TEXT));
    let _ = write!(
        out,
        "{}",
        lines
            .iter()
            .map(|l| format!("{IND}{}", l.dimmed()))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

fn help_one(s: &CmdSpec) -> String {
    // The prose is wrapped within the terminal (a line of code is not).
    let room = width().saturating_sub(2 * IND.len()).max(MIN_TEXT);
    let mut out = format!("{IND}{}", s.usage().cyan().bold());
    for text in [s.summary, s.details] {
        for l in wrap(text, room) {
            let _ = write!(out, "\n{IND}{IND}{l}");
        }
    }
    for (k, line) in s.python_example(None).iter().enumerate() {
        let label = if k == 0 { "python:" } else { "       " };
        let _ = write!(out, "\n{IND}{IND}{} {line}", label.dimmed());
    }
    for v in s.python_variants() {
        for (k, line) in s.python_example(Some(v)).iter().enumerate() {
            let label = if k == 0 {
                format!("python, {v}:")
            } else {
                " ".repeat(v.len() + 9)
            };
            let _ = write!(out, "\n{IND}{IND}{} {line}", label.dimmed());
        }
    }
    if !s.aliases.is_empty() {
        let _ = write!(
            out,
            "\n{IND}{IND}{} {}",
            "aliases:".dimmed(),
            s.aliases.join(", ")
        );
    }
    if s.cmd == spec::Cmd::SetSockOpt || s.cmd == spec::Cmd::GetSockOpt {
        let names: Vec<&str> = spec::OPTIONS.iter().map(|o| o.name).collect();
        let lines = wrap(&format!("options: {}", names.join(" ")), room);
        for (k, l) in lines.iter().enumerate() {
            let l = match l.strip_prefix("options:") {
                Some(rest) if k == 0 => format!("{}{rest}", "options:".dimmed()),
                _ => l.clone(),
            };
            let _ = write!(out, "\n{IND}{IND}{l}");
        }
    }
    out
}

/// Text of an item, made safe for the terminal: every text an item carries
/// may hold a path, an address, a host name or a lesson's words, so all of
/// it goes through [`value::escape_controls`] here, the one way to the
/// terminal (the executor escapes what it quotes too; escaping twice
/// changes nothing).
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(value::is_unsafe_char) {
        std::borrow::Cow::Owned(value::escape_controls(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// One item as lines of text (no trailing newline).
pub fn item(it: &Item) -> String {
    match it {
        Item::Waiting { call, what, queue } => format!(
            "{IND}{}",
            format!(
                "{} waits for {} - {} - Ctrl-C to interrupt",
                safe(call),
                safe(what),
                safe(queue)
            )
            .yellow()
        ),
        Item::NoWait(why) => format!("{IND}{}", format!("no wait: {}", safe(why)).cyan()),
        Item::Waited(d) => format!(
            "{IND}{}",
            format!("returned after {}", wait::human(*d)).dimmed()
        ),
        Item::Done(s) => format!("{IND}{}", safe(s)),
        Item::Value {
            name,
            value,
            view,
            sock,
            pieces,
        } => {
            let v = value_text_pieces(value, *view, sock.as_ref(), pieces);
            match name {
                Some(n) => format!("{IND}{} = {v}", safe(n).bold()),
                None => format!("{IND}-> {v}"),
            }
        }
        Item::Note(s) => format!("{IND}{}", format!("# {}", safe(s)).dimmed().italic()),
        Item::Warn(s) => format!("{IND}{}", format!("! {}", safe(s)).yellow().bold()),
        Item::Table(rows) => table(rows),
        Item::Fields(title, fields) => {
            let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = format!("{IND}{}", safe(title).bold());
            for (k, v) in fields {
                let shown = if k == "state" {
                    state_colored(v)
                } else {
                    safe(v).into_owned()
                };
                let _ = write!(out, "\n{IND}{IND}{:w$}  {}", k.dimmed(), shown, w = w);
            }
            out
        }
        Item::Progress(s) => format!("{IND}{}", safe(s).yellow()),
        Item::JobStarted { id, desc, state } => format!(
            "{IND}{} {}\n{IND}    {}",
            format!("[{id}]").bold().blue(),
            value::escape_controls(desc),
            state.dimmed()
        ),
        Item::JobEnded {
            id,
            desc,
            elapsed,
            how,
            items,
        } => job_report(*id, desc, *elapsed, how, items),
        Item::Jobs(rows) => {
            let mut lines = Vec::new();
            for (id, desc, state, elapsed) in rows {
                lines.push(format!(
                    "{IND}{} {}  {}  {}",
                    format!("[{id}]").bold().blue(),
                    value::escape_controls(desc),
                    state,
                    format!("({})", wait::human(*elapsed)).dimmed()
                ));
            }
            lines.join("\n")
        }
        Item::Moment(..) => String::new(),
        Item::Timeline { title, head, rows } => {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|c| safe(c).into_owned()).collect())
                .collect();
            timeline(&safe(title), head, &rows)
        }
        Item::Diagram(l) => diagram(l),
        Item::Explain(m, ends) => explanation(m.title(), &m.text_for(ends)),
        Item::Help(None) => help_all(),
        Item::Help(Some(cmd)) => help_one(spec::spec_of(*cmd)),
        Item::Echo(s) => format!("{IND}{}", safe(s)),
        Item::Vars(list) => {
            let mut lines = Vec::new();
            for (k, v, d) in list {
                lines.push(format!(
                    "{IND}{} = {}",
                    k.bold(),
                    value_text(v, View::Repr, d.as_ref())
                ));
            }
            lines.join("\n")
        }
        Item::Call { who, at, source } => {
            let who = if who.is_empty() {
                String::new()
            } else {
                format!("{} ", who.bold().blue())
            };
            format!("{who}{}  {}", at.cyan(), source.bold())
        }
        Item::ProgramWaiting {
            call,
            what,
            queue,
            stop,
        } => format!(
            "{IND}{}",
            format!("{call} waits for {what} - {queue} - {stop}").yellow()
        ),
        Item::Raised(e) => {
            let shown = value::escape_controls(&e.to_string());
            let mut out = format!("{IND}{}", shown.red().bold());
            if let Some(h) = &e.hint {
                let h = value::escape_controls(h);
                let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
            }
            out
        }
        Item::Output { who, text, err } => {
            let bar = if *err { "!".red().bold() } else { "|".dimmed() };
            format!("{} {bar} {text}", who.bold().blue())
        }
        Item::Peers(rows) => peers_table(rows),
        Item::Lessons(list) => lessons_list(list),
        // Written by the printer, on a terminal only (see CLEAR_SCREEN).
        Item::ClearScreen => String::new(),
        Item::PeerLog(log) => peer_log(log),
        Item::Traffic {
            sent,
            bytes,
            pieces: _,
        } => traffic(*sent, bytes),
        Item::Settings(list) => {
            let mut lines = Vec::new();
            for (k, v) in list {
                lines.push(format!("{IND}{k} = {}", safe(v)));
            }
            lines.join("\n")
        }
    }
}

/// `interactive`: bytes as they went or arrived, one screen line per line
/// of the data, marked `<` (received) or `>` (sent), every control byte
/// escaped (`\r`, `\x1b`); a chunk that does not end with a newline says
/// so (the next chunk goes on the same line of the data).
fn traffic(sent: bool, bytes: &[u8]) -> String {
    let mark = if sent { ">".cyan() } else { "<".green() };
    let text = value::bytes_as_text(bytes);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let mut out = String::new();
    for (k, line) in body.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{IND}{mark} {line}");
    }
    if !text.ends_with('\n') {
        let _ = write!(out, "{}", " (no newline yet)".dimmed());
    }
    out
}

/// Whether the terminal takes box-drawing characters: a UTF-8 locale
/// (LC_ALL, else LC_CTYPE, else LANG) and colour on (NO_COLOR, `--color
/// never` or output to a file mean plain text, which ASCII is).
fn unicode_ok() -> bool {
    if !colored::control::SHOULD_COLORIZE.should_colorize() {
        return false;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase();
    locale.contains("utf-8") || locale.contains("utf8")
}

/// `diagram`: the ladder, 80 columns, coloured by what each piece is.
fn diagram(l: &crate::wire::ladder::Ladder) -> String {
    use crate::wire::ladder::{self, ArrowKind, Style};
    let glyphs = if unicode_ok() {
        &ladder::UNICODE
    } else {
        &ladder::ASCII
    };
    let mut out = Vec::new();
    for line in ladder::lines(l, glyphs) {
        let mut s = String::from(IND);
        for (text, style) in line {
            let text = value::escape_controls(&text);
            let shown = match style {
                Style::Plain => text.normal(),
                Style::Name => text.bold(),
                Style::Dim => text.dimmed(),
                Style::State => text.yellow(),
                Style::Call => text.green().bold(),
                Style::Failed => text.red().bold(),
                Style::Arrow(ArrowKind::Control) => text.normal(),
                Style::Arrow(ArrowKind::Data) => text.cyan(),
                Style::Arrow(ArrowKind::Reset) => text.red().bold(),
                Style::Arrow(ArrowKind::Trouble) => text.magenta(),
                Style::Arrow(ArrowKind::Lost) => text.red(),
            };
            let _ = write!(s, "{shown}");
        }
        out.push(s);
    }
    for n in &l.notes {
        out.push(format!(
            "{IND}{}",
            format!("# {}", value::escape_controls(n)).dimmed()
        ));
    }
    out.join("\n")
}

/// `lesson`: number and title of each bundled lesson.
fn lessons_list(list: &[(usize, String)]) -> String {
    let mut out = format!("{IND}{}", "Lessons".bold());
    for (n, title) in list {
        let _ = write!(out, "\n{IND}{}  {}", format!("{n:>3}").cyan().bold(), title);
    }
    let _ = write!(
        out,
        "\n{IND}{}",
        "# lesson N runs one; lesson N step waits for Enter before each command (q leaves); lesson N check shows only what fails"
            .dimmed()
    );
    out
}

/// A narration line of a script: dimmed; in step mode the title of the
/// next step, in bold so that a class can read it from afar.
pub fn narration(text: &str, title: bool) -> String {
    let shown = value::escape_controls(text);
    if title {
        // `#` and one blank go; the indentation after them stays.
        let body = shown.trim_start().trim_start_matches('#');
        let body = body.strip_prefix(' ').unwrap_or(body).trim_end();
        format!("{}", body.bold())
    } else {
        format!("{}", shown.dimmed())
    }
}

/// The question asked at the prompt before a file is replaced.
pub fn confirm_question(what: &str) -> String {
    format!(
        "{IND}{} {} ",
        value::escape_controls(what).yellow().bold(),
        "[y/N]".dimmed()
    )
}

/// Step mode's first words.
pub fn step_hint() -> String {
    format!(
        "{IND}{}",
        "# step mode: each command is shown first; Enter runs it, q then Enter leaves".dimmed()
    )
}

/// One character of a command typed out in step mode.
pub fn typed(c: char) -> String {
    c.to_string()
}

/// A command shown at once in step mode (when not on a terminal).
pub fn typed_line(text: &str) -> String {
    text.to_string()
}

/// Step mode: the teacher left.
pub fn left_note(file: &str, line: usize) -> String {
    format!(
        "{IND}{}",
        format!("# left {} before line {line}", safe(file)).dimmed()
    )
}

/// Ctrl-C between the lines of a script.
pub fn keyboard_interrupt() -> String {
    format!("{IND}{}", "KeyboardInterrupt".red().bold())
}

/// An `expect` that held, in words.
pub fn expect_held(said: &str) -> String {
    format!(
        "{IND}{} {}",
        "✓".green().bold(),
        value::escape_controls(said).green()
    )
}

/// An `expect` that did not hold: where, what was expected, what came.
pub fn expect_failed(origin: &Origin<'_>, what: &str, expected: &str, got: &[String]) -> String {
    let at = match origin.file {
        Some(f) => format!("{}:{}: ", safe(f), origin.line),
        None => String::new(),
    };
    let mut out = format!("{IND}{}{}", at.red().bold(), "expect failed".red().bold());
    let _ = write!(
        out,
        "\n{IND}{IND}{} {}",
        "expected:".bold(),
        value::escape_controls(expected)
    );
    let whose = if what.is_empty() {
        "got:".to_string()
    } else {
        format!("got, from `{}`:", value::escape_controls(what))
    };
    let _ = write!(out, "\n{IND}{IND}{}", whose.bold());
    const SHOWN: usize = 24;
    for l in got.iter().take(SHOWN) {
        let _ = write!(
            out,
            "\n{IND}{IND}{IND}{} {}",
            "|".dimmed(),
            value::escape_controls(l)
        );
    }
    if got.len() > SHOWN {
        let _ = write!(
            out,
            "\n{IND}{IND}{IND}{}",
            format!("... {} more lines", got.len() - SHOWN).dimmed()
        );
    }
    out
}

/// The end of a `--check` run that passed.
pub fn check_summary(name: &str, expects: usize) -> String {
    format!(
        "{IND}{} {}",
        "✓".green().bold(),
        format!(
            "{}: every command ran and {expects} expect{} held",
            safe(name),
            if expects == 1 { "" } else { "s" }
        )
        .green()
    )
}

/// Text without its colour (ANSI escape sequences).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Columns aligned under their heads.
/// A timeline wider than this whose last column is `what` (the words of
/// `states`) puts that column under each row instead, so that it reads on
/// an 80-column terminal. Other tables keep their columns.
const TIMELINE_WIDTH: usize = 80;

fn timeline(title: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for r in rows {
        for (k, c) in r.iter().enumerate() {
            if let Some(w) = width.get_mut(k) {
                *w = (*w).max(c.width());
            }
        }
    }
    let total = 2 * IND.len() + width.iter().map(|w| w + 2).sum::<usize>();
    // The words go under their row, from the second column on.
    let below = total > TIMELINE_WIDTH && head.len() > 3 && head.last() == Some(&"what");
    let mut shown = if below { head.len() - 1 } else { head.len() };
    // Still too wide (long names, a bulk transfer's numbers): the column
    // before the words (the states) wraps within itself; with too little
    // room left for that, it goes under the row too, before the words.
    let mut wrap_last: Option<(usize, usize)> = None;
    let mut last_below: Option<usize> = None;
    if below && shown > 1 {
        let last = shown - 1;
        let used = 2 * IND.len() + width[..last].iter().map(|w| w + 2).sum::<usize>();
        if used + width[last] > TIMELINE_WIDTH {
            let room = TIMELINE_WIDTH.saturating_sub(used);
            if room >= 16 {
                width[last] = room;
                wrap_last = Some((last, used));
            } else {
                last_below = Some(last);
                shown = last;
            }
        }
    }
    let line = |cells: &[String]| {
        let mut l = format!("{IND}{IND}");
        for (k, c) in cells.iter().take(shown).enumerate() {
            let pad = width.get(k).copied().unwrap_or(0).saturating_sub(c.width());
            l.push_str(c);
            l.push_str(&" ".repeat(pad + 2));
        }
        l.trim_end().to_string()
    };
    let mut out = format!("{IND}{}", title.bold());
    let heads: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let _ = write!(out, "\n{}", line(&heads).bold());
    let indent = 2 * IND.len() + width.first().map_or(0, |w| w + 2);
    let room = TIMELINE_WIDTH.saturating_sub(indent).max(20);
    for r in rows {
        match wrap_last {
            Some((last, at)) if r.get(last).is_some_and(|c| c.width() > width[last]) => {
                let pieces = wrap_list(&r[last], width[last]);
                let mut first = r.clone();
                first[last] = pieces.first().cloned().unwrap_or_default();
                let _ = write!(out, "\n{}", line(&first));
                for piece in pieces.iter().skip(1) {
                    let _ = write!(out, "\n{}{piece}", " ".repeat(at));
                }
            }
            _ => {
                let _ = write!(out, "\n{}", line(r));
            }
        }
        if let Some(last) = last_below
            && let Some(states) = r.get(last).filter(|w| !w.is_empty())
        {
            for piece in wrap(&format!("{}: {states}", head[last]), room) {
                let _ = write!(out, "\n{}{piece}", " ".repeat(indent));
            }
        }
        let words = if below { r.get(head.len() - 1) } else { None };
        if let Some(words) = words.filter(|w| !w.is_empty()) {
            for piece in wrap_names(words, room) {
                let _ = write!(out, "\n{}{piece}", " ".repeat(indent));
            }
        }
    }
    out
}

/// A list (`k FIN_WAIT1, c CLOSE_WAIT`) wrapped to `width` columns between
/// its items where it can (an end's states stay on one line), else between
/// words.
fn wrap_list(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let items: Vec<&str> = text.split(", ").collect();
    let mut line = String::new();
    for (k, item) in items.iter().enumerate() {
        let item = if k + 1 < items.len() {
            format!("{item},")
        } else {
            item.to_string()
        };
        if !line.is_empty() && line.width() + 1 + item.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if item.width() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.extend(wrap(&item, width));
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// As [`wrap`], keeping a bracketed name (`[TCP Dup ACK 5#1]`) on one
/// line, so that it can be read (and searched for) whole.
fn wrap_names(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(first) = words.next() {
        let mut word = first.to_string();
        if word.starts_with('[') {
            while !word.contains(']')
                && let Some(next) = words.next()
            {
                word.push(' ');
                word.push_str(next);
            }
        }
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Words wrapped to `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A boxed explanation, the first time a classic moment happens.
fn explanation(title: &str, text: &str) -> String {
    let bar = "│".cyan();
    let mut out = format!("{IND}{} {}", "┌─ why:".cyan(), title.cyan().bold());
    for line in wrap(text, 74) {
        let _ = write!(out, "\n{IND}{bar} {line}");
    }
    let _ = write!(
        out,
        "\n{IND}{}",
        "└─ (explained once; `set explain off` hides these)"
            .cyan()
            .dimmed()
    );
    out
}

/// `[1] done after 0.31 s: c = accept s`, then the job's own lines.
fn job_report(
    id: usize,
    desc: &str,
    elapsed: std::time::Duration,
    how: &JobEnd,
    items: &[Item],
) -> String {
    let tag = format!("[{id}]").bold().blue();
    // The statement as typed: a control character in a string literal is
    // shown escaped.
    let desc = value::escape_controls(desc);
    let head = match how {
        JobEnd::Done => format!("{IND}{tag} done after {}: {desc}", wait::human(elapsed)),
        JobEnd::Failed(_) => format!(
            "{IND}{tag} {} after {}: {desc}",
            "failed".red(),
            wait::human(elapsed)
        ),
        JobEnd::Cancelled(why) if why.is_empty() => format!("{IND}{tag} cancelled: {desc}"),
        JobEnd::Cancelled(why) => format!("{IND}{tag} cancelled ({why}): {desc}"),
    };
    let mut out = head;
    for it in items {
        // The job's own timing is in its head line.
        if matches!(it, Item::Waited(_) | Item::Moment(..)) {
            continue;
        }
        for line in item(it).lines() {
            let _ = write!(out, "\n{IND}{line}");
        }
    }
    if let JobEnd::Failed(e) = how {
        let shown = value::escape_controls(&e.to_string());
        let _ = write!(out, "\n{IND}{IND}{}", shown.red().bold());
        if let Some(h) = &e.hint {
            let h = value::escape_controls(h);
            let _ = write!(out, "\n{IND}{IND}{}", format!("hint: {h}").yellow());
        }
    }
    out
}

/// Where a statement came from, for error messages.
#[derive(Clone, Debug)]
pub struct Origin<'a> {
    /// `FILE` (or `<stdin>`, `-c`); None in the interactive shell.
    pub file: Option<&'a str>,
    /// 1-based line number.
    pub line: usize,
    /// The source line, for the caret display.
    pub text: &'a str,
}

/// The widest source line shown whole under an error; a longer one (a
/// 1 MiB line from a file) is shown as a window around the token.
const CARET_LINE: usize = 100;
/// Columns of the line kept before the token, and of the token itself, in
/// such a window.
const CARET_BEFORE: usize = 40;
const CARET_TOKEN: usize = 50;

/// The last `cols` columns of `s`.
fn tail_cols(s: &str, cols: usize) -> &str {
    let mut w = 0;
    for (k, c) in s.char_indices().rev() {
        w += c.width().unwrap_or(0);
        if w > cols {
            return &s[k + c.len_utf8()..];
        }
    }
    s
}

/// The first `cols` columns of `s`.
fn head_cols(s: &str, cols: usize) -> &str {
    let mut w = 0;
    for (k, c) in s.char_indices() {
        w += c.width().unwrap_or(0);
        if w > cols {
            return &s[..k];
        }
    }
    s
}

/// The line with `^^^` under `span`. The line is shown with its control
/// characters escaped, and a wide character takes two columns.
fn caret(text: &str, span: Span) -> String {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    let part = |r: std::ops::Range<usize>| text.get(r).map(value::escape_controls);
    let (Some(mut pre), Some(mut tok), Some(mut post)) =
        (part(0..start), part(start..end), part(end..text.len()))
    else {
        // Not on character boundaries (never made by the parser): the
        // line alone.
        return format!("{IND}{IND}{}", value::escape_controls(text));
    };
    if pre.width() + tok.width() + post.width() > CARET_LINE {
        if pre.width() > CARET_BEFORE {
            pre = format!("...{}", tail_cols(&pre, CARET_BEFORE));
        }
        if tok.width() > CARET_TOKEN {
            tok = head_cols(&tok, CARET_TOKEN).to_string();
            post = "...".into();
        }
        let room = CARET_LINE.saturating_sub(pre.width() + tok.width());
        if post.width() > room {
            post = format!("{}...", head_cols(&post, room.saturating_sub(3)));
        }
    }
    format!(
        "{IND}{IND}{pre}{tok}{post}\n{IND}{IND}{}{}",
        " ".repeat(pre.width()),
        "^".repeat(tok.width().max(1)).red().bold()
    )
}

fn location(origin: &Origin<'_>, span: Option<Span>) -> String {
    let col = span.map_or(1, |s| {
        origin
            .text
            .get(..s.start.min(origin.text.len()))
            .map_or(1, |p| p.width() + 1)
    });
    match origin.file {
        Some(f) => format!("{}:{}:{col}: ", safe(f), origin.line),
        None => String::new(),
    }
}

pub fn parse_error(e: &ParseError, origin: &Origin<'_>) -> String {
    let mut out = format!(
        "{IND}{}{} {}",
        location(origin, Some(e.span)),
        "error:".red().bold(),
        // The message quotes the offending token: a control character in
        // it (an ESC from a script file) is shown escaped, never sent raw.
        value::escape_controls(&e.to_string()).red()
    );
    let _ = write!(out, "\n{}", caret(origin.text, e.span));
    if let Some(u) = e.usage() {
        let _ = write!(out, "\n{IND}{IND}{} {}", "usage:".dimmed(), u.cyan());
    }
    if let Some(h) = e.hint() {
        let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
    }
    out
}

pub fn exec_error(e: &ExecError, origin: &Origin<'_>) -> String {
    let mut out = format!(
        "{IND}{}{}",
        location(origin, e.span),
        value::escape_controls(&e.to_string()).red().bold()
    );
    if let Some(span) = e.span {
        let _ = write!(out, "\n{}", caret(origin.text, span));
    }
    if let Some(h) = &e.hint {
        let h = value::escape_controls(h);
        let _ = write!(out, "\n{IND}{}", format!("hint: {h}").yellow());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_wraps_notes_hints_and_warnings_between_words() {
        colored::control::set_override(false);
        let note = format!("  # {}", "word ".repeat(30).trim_end());
        let text = format!(
            "  short line\n{note}\n  hint: {}",
            "abc ".repeat(25).trim_end()
        );
        let fitted = fit(&text, 40);
        let lines: Vec<&str> = fitted.lines().collect();
        assert_eq!(lines[0], "  short line");
        assert!(lines[1].starts_with("  # word"));
        assert!(lines[2].starts_with("    word"));
        let hint = lines
            .iter()
            .position(|l| l.starts_with("  hint: "))
            .expect("hint");
        assert!(lines[hint + 1].starts_with("        abc"));
        for l in &lines {
            assert!(l.len() <= 40, "{l:?}");
            assert!(!l.ends_with(' '), "{l:?}");
        }
        // The words are all there, in order.
        let words: Vec<&str> = fitted.split_whitespace().collect();
        let want: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words, want);
        // A table row is not touched, however long.
        let row = format!("  {}", "x".repeat(100));
        assert_eq!(fit(&row, 40), row);
    }

    #[test]
    fn the_table_leaves_out_the_least_needed_columns_to_fit() {
        // FD NAME PROTO LOCAL PEER STATE RECV-Q SEND-Q MODE READY
        let head = [
            "FD", "NAME", "PROTO", "LOCAL", "PEER", "STATE", "RECV-Q", "SEND-Q", "MODE", "READY",
        ];
        let w = [2, 4, 5, 15, 15, 11, 6, 6, 13, 5];
        assert_eq!(table_columns_shown(&head, &w, None), [true; 10]);
        assert_eq!(table_columns_shown(&head, &w, Some(200)), [true; 10]);
        let at80 = table_columns_shown(&head, &w, Some(80));
        assert_eq!(
            at80,
            [true, true, true, true, true, true, true, true, false, false]
        );
        let at60 = table_columns_shown(&head, &w, Some(60));
        // The fd, names, addresses and state always stay.
        for k in [0, 1, 3, 4, 5] {
            assert!(at60[k]);
        }
        assert!(!at60[2] && !at60[7] && !at60[8] && !at60[9]);
    }

    #[test]
    fn help_fits_the_width_and_aligns_what_it_wraps() {
        colored::control::set_override(false);
        for width in [80, 64, 120] {
            let text = help_all_in(width);
            // Where the summaries start: after `bind sock addr` and its pad.
            let bind = text
                .lines()
                .find(|l| l.trim_start().starts_with("bind sock addr"))
                .expect("bind's line");
            let col = bind.find("give the socket").expect("bind's summary");
            for line in text.lines() {
                assert!(
                    line.width() <= width,
                    "{width} columns: {} too wide: {line:?}",
                    line.width()
                );
                // A line that starts with blanks beyond the usage's indent
                // is a summary's continuation, under its first line.
                // (A usage too long for one line goes on at three indents.)
                let lead = line.len() - line.trim_start().len();
                if lead > 4 && lead != 3 * IND.len() {
                    assert_eq!(lead, col, "{width} columns: misaligned {line:?}");
                }
            }
            // A usage longer than the column stands alone; its summary
            // follows under the column.
            for (usage, summary) in [
                (
                    "select read s... [write s...] [except s...] [timeout]",
                    "wait until",
                ),
                (
                    "sendmsg sock data [framed | marker M | fds SOCK... | creds]",
                    "send one message",
                ),
                (
                    "setsockopt sock [level] option value...",
                    "set a socket option",
                ),
            ] {
                let lines: Vec<&str> = text.lines().collect();
                let k = lines
                    .iter()
                    .position(|l| l.trim() == usage)
                    .unwrap_or_else(|| panic!("{usage} is not alone on its line:\n{text}"));
                let next = lines[k + 1];
                assert!(
                    next.starts_with(&" ".repeat(col)) && next.trim().starts_with(summary),
                    "{width} columns: {usage}'s summary: {next:?}"
                );
            }
        }
    }

    #[test]
    fn caret_points_at_the_token() {
        colored::control::set_override(false);
        let c = caret("bind 9900 s", Span::new(5, 9));
        assert_eq!(c, "    bind 9900 s\n         ^^^^");
        // A wide character and an escaped control before the token.
        let t = "echo \"你\x07\" x";
        let k = t.find(" x").map_or(0, |k| k + 1);
        let c = caret(t, Span::new(k, k + 1));
        assert!(
            c.ends_with(&format!("{}^", " ".repeat(4 + "echo \"你\\x07\" ".width()))),
            "{c}"
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_token() {
        colored::control::set_override(false);
        let t = format!(
            "echo \"{}\" bnid \"{}\"",
            "a".repeat(5000),
            "b".repeat(5000)
        );
        let k = t.find("bnid").unwrap_or(0);
        let c = caret(&t, Span::new(k, k + 4));
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines.len(), 2, "{c}");
        assert!(lines[0].width() <= CARET_LINE + 8, "{}", lines[0].width());
        assert!(lines[0].starts_with("    ...aaa") && lines[0].ends_with("bbb..."));
        // The caret is under the token still.
        let col = lines[1].find('^').unwrap_or(0);
        assert_eq!(&lines[0][col..col + 4], "bnid");
        assert!(lines[1].ends_with("^^^^"));
        // A huge token: its start, marked, then "...".
        let t = format!("echo {}", "x".repeat(3000));
        let c = caret(&t, Span::new(5, t.len()));
        assert!(c.lines().all(|l| l.width() <= CARET_LINE + 8), "{c}");
        assert!(c.lines().next().is_some_and(|l| l.ends_with("x...")));
    }

    #[test]
    fn colour_is_stripped() {
        assert_eq!(strip_ansi("\u{1b}[1;32mok\u{1b}[0m done"), "ok done");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn a_control_character_in_an_error_is_shown_escaped() {
        colored::control::set_override(false);
        let text = "\x1b[2J\x07 x";
        let e = crate::syntax::parse_line(text).expect_err("not a statement");
        let origin = Origin {
            file: Some("a.sp"),
            line: 1,
            text,
        };
        let shown = parse_error(&e, &origin);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown:?}"
        );
        assert!(shown.contains(r"\x1b[2J"), "{shown:?}");
        let x = ExecError::new("NameError", "name '\x1b[2J' is not defined").hint("\x07");
        let shown = exec_error(&x, &origin);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown:?}"
        );
    }

    #[test]
    fn bytes_values_show_length() {
        colored::control::set_override(false);
        assert_eq!(
            value_text(&Value::Bytes(b"hi\r\n".to_vec().into()), View::Repr, None),
            r"b'hi\r\n'  (4 bytes)"
        );
    }
}
