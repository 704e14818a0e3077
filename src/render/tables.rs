//! The tables: `ls` (the socket table, its columns dropped to fit the
//! terminal), `peers` and `peers log` (a peer's log, floods folded), and
//! the timelines of `states` and `history`. Apart from the rest of the
//! renderer because they are laid out as columns, not as lines.

use super::layout::{terminal_width, wrap, wrap_list, wrap_names};
use super::style::{IND, byte_count, state_colored};
use crate::exec::Row;
use crate::peers::{LogEntry, MAX_EVENTS, PeerLog, PeerRow, What};
use crate::syntax::ast::PeerKind;
use crate::value;
use colored::Colorize;
use std::borrow::Cow;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

pub(super) fn table(rows: &[Row]) -> String {
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
    // Addresses and names come from outside: escaped before they are
    // measured. Only a cell that needs it is copied (the rows are borrowed:
    // a copy of every row would double the table's memory at 10,000
    // sockets), and the cells are made again for each of the two passes.
    fn cells(r: &Row, hosts: bool, owned: bool) -> Vec<Cow<'_, str>> {
        fn safe(f: &str) -> Cow<'_, str> {
            if f.chars().any(value::is_unsafe_char) {
                Cow::Owned(value::escape_controls(f))
            } else {
                Cow::Borrowed(f)
            }
        }
        let mut v: Vec<Cow<'_, str>> = vec![safe(&r.fd), safe(&r.names)];
        if hosts {
            v.push(if r.host.is_empty() {
                Cow::Borrowed("-")
            } else {
                safe(&r.host)
            });
        }
        v.extend(
            [
                &r.proto, &r.local, &r.peer, &r.state, &r.recv_q, &r.send_q, &r.mode, &r.ready,
            ]
            .map(|f| safe(f)),
        );
        if owned {
            v.push(safe(&r.owner));
        }
        v
    }
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
pub(super) fn peers_table(rows: &[PeerRow]) -> String {
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
pub(super) fn peer_log(log: &PeerLog) -> String {
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

/// Columns aligned under their heads.
/// A timeline wider than this whose last column is `what` (the words of
/// `states`) puts that column under each row instead, so that it reads on
/// an 80-column terminal. Other tables keep their columns.
const TIMELINE_WIDTH: usize = 80;

pub(super) fn timeline(title: &str, head: &[&str], rows: &[Vec<String>]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
