//! The sequence (ladder) diagram of one connection, as textbooks draw TCP:
//! a lifeline for each end, an arrow for each segment with its flags,
//! numbers and length, the calls on each side that caused them, and each
//! end's state as it changes.
//!
//! In: a connection's [`Analysis`] and its ends' calls. Out: a [`Ladder`]
//! (the model), laid out as text lines of styled pieces ([`lines`], 80
//! columns, Unicode or ASCII; the renderer colours the styles) or as SVG
//! ([`super::svg`]).

use super::analysis::{self, Analysis, Expert, ResetCause};
use super::calls::{Call, CallKind};
use super::packet::{ACK, FIN, Nanos, RST, SYN};

/// At most this many steps are drawn; a longer story keeps its start and
/// its end, and says how much was left out.
pub const MAX_STEPS: usize = 160;

/// How an arrow is drawn (and coloured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    /// SYN, FIN, ACK: the handshake, the close, acknowledgments.
    Control,
    /// Carries data.
    Data,
    /// RST.
    Reset,
    /// Something Wireshark would flag (retransmission, dup ACK, zero
    /// window).
    Trouble,
    /// Lost on the way (a lab's link): it stops halfway.
    Lost,
}

/// One segment's arrow.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub t: Nanos,
    /// The end it leaves (0: left, 1: right).
    pub from: usize,
    pub flags: String,
    /// `seq=1 ack=1 len=5 win=65536`
    pub numbers: String,
    /// Options of a SYN, expert notes, the cause of a reset.
    pub notes: Vec<String>,
    pub kind: ArrowKind,
    /// The ends' new states after it.
    pub states: [Option<String>; 2],
}

/// One step down the ladder.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A call on one side: `connect`, `send #1`; `failed` when it raised.
    Call {
        side: usize,
        text: String,
        failed: bool,
    },
    Arrow(Arrow),
    /// Segments not drawn one by one (a bulk transfer's).
    Gap(String),
}

/// The diagram of one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Ladder {
    /// Each end's name (the shell's) and address.
    pub names: [String; 2],
    pub addrs: [String; 2],
    /// Each end's state before the first step.
    pub initial: [String; 2],
    pub steps: Vec<Step>,
    /// Said under it: how the numbers count, what was left out.
    pub notes: Vec<String>,
}

/// The short words for a reset's cause beside its arrow.
fn reset_words(c: &ResetCause) -> &'static str {
    match c {
        ResetCause::SynToClosedPort => "SYN to a closed port",
        ResetCause::DataToClosedSocket => "data to a closed socket",
        ResetCause::Linger0 => "close with SO_LINGER 0",
        ResetCause::UnreadData(_) => "close with data unread",
        ResetCause::Abort => "abortive close",
        ResetCause::Unknown => "reset",
    }
}

/// Builds the diagram of `an`, with the calls either end made (`calls`),
/// numbers relative unless `absolute`.
pub fn build(an: &Analysis, calls: &[Call], absolute: bool) -> Ladder {
    let mut events: Vec<(Nanos, u8, Step)> = Vec::new();
    let side_of = |c: &Call| -> Option<usize> {
        if super::calls::is_end(c.local, an.ends[0]) {
            Some(0)
        } else if super::calls::is_end(c.local, an.ends[1]) {
            Some(1)
        } else if c.local.port() == 0 && c.peer == Some(an.ends[1]) {
            // A refused connect let its port go.
            Some(0)
        } else {
            None
        }
    };
    for c in calls {
        let Some(side) = side_of(c) else { continue };
        // A call that returns something falls after the segment that
        // brought it; one that sends, before (order 0 vs 2 at equal times).
        let order = match c.kind {
            CallKind::Connected | CallKind::Accepted | CallKind::Recv { .. } => 2,
            CallKind::Failed { .. } => 2,
            _ => 0,
        };
        events.push((
            c.t,
            order,
            Step::Call {
                side,
                text: c.text(),
                failed: matches!(c.kind, CallKind::Failed { .. }),
            },
        ));
    }
    for r in &an.rows {
        if r.gap > 0 {
            events.push((
                r.seg.t,
                1,
                Step::Gap(format!(
                    "{} of data in segments not captured",
                    crate::value::human_size(r.gap)
                )),
            ));
        }
        let (seq, ack) = if absolute {
            (r.seg.seq, r.seg.has(ACK).then_some(r.seg.ack))
        } else {
            (r.seq, r.ack)
        };
        let mut numbers = format!("seq={seq}");
        if let Some(a) = ack {
            numbers.push_str(&format!(" ack={a}"));
        }
        if r.seg.len > 0 {
            numbers.push_str(&format!(" len={}", r.seg.len));
        }
        if !r.seg.has(RST) {
            numbers.push_str(&format!(" win={}", r.window));
        }
        let mut notes = Vec::new();
        if r.seg.has(SYN) {
            let o = analysis::syn_options_short(&r.seg);
            if !o.is_empty() {
                notes.push(o);
            }
        }
        for x in &r.expert {
            notes.push(format!("[{}]", x.name()));
        }
        if let Some(c) = &r.reset {
            notes.push(reset_words(c).to_string());
        }
        match &r.link {
            Some(super::analysis::LinkMark::Lost(h)) => notes.push(format!("lost on {h}'s link")),
            Some(super::analysis::LinkMark::Duplicate(h)) => {
                notes.push(format!("a duplicate made by {h}'s link"))
            }
            None => {}
        }
        let kind = if matches!(r.link, Some(super::analysis::LinkMark::Lost(_))) {
            ArrowKind::Lost
        } else if r.seg.has(RST) {
            ArrowKind::Reset
        } else if r.expert.iter().any(|x| !matches!(x, Expert::WindowUpdate)) {
            ArrowKind::Trouble
        } else if r.seg.len > 0 {
            ArrowKind::Data
        } else {
            ArrowKind::Control
        };
        let mut states = [None, None];
        for (k, st) in &r.states {
            states[*k] = Some(st.to_string());
        }
        events.push((
            r.seg.t,
            1,
            Step::Arrow(Arrow {
                t: r.seg.t,
                from: r.from,
                flags: r.seg.flag_names(),
                numbers,
                notes,
                kind,
                states,
            }),
        ));
        if r.seg.more > 0 {
            events.push((
                r.seg.t,
                1,
                Step::Gap(format!(
                    "{} more segments of a burst, counted, not drawn",
                    r.seg.more
                )),
            ));
        }
    }
    // Stable: calls and segments at the same time keep their order.
    events.sort_by_key(|(t, order, _)| (*t, *order));
    let mut steps: Vec<Step> = events.into_iter().map(|(_, _, s)| s).collect();
    let mut notes = Vec::new();
    if steps.len() > MAX_STEPS {
        let head = MAX_STEPS * 2 / 3;
        let tail = MAX_STEPS - head;
        let cut = steps.len() - head - tail;
        let rest = steps.split_off(head);
        steps.push(Step::Gap(format!(
            "{cut} steps not drawn (states lists every segment)"
        )));
        steps.extend(rest.into_iter().skip(cut));
    }
    if absolute {
        notes.push("seq and ack as sent (absolute)".into());
    } else {
        let isn: Vec<String> = (0..2)
            .filter_map(|k| an.isn[k].map(|i| format!("{} {i}", an.names[k])))
            .collect();
        notes.push(if isn.is_empty() {
            "seq and ack relative to each side's first".into()
        } else {
            format!(
                "seq and ack relative to each side's ISN ({})",
                isn.join(", ")
            )
        });
    }
    // An end outside the shell is named by its address: said once.
    let addr = |k: usize| {
        let a = an.ends[k].to_string();
        if a == an.names[k] { String::new() } else { a }
    };
    Ladder {
        names: an.names.clone(),
        addrs: [addr(0), addr(1)],
        initial: [an.initial[0].to_string(), an.initial[1].to_string()],
        steps,
        notes,
    }
}

/// The diagram of a UDP socket's datagrams with one peer, and the ICMP
/// errors that answered them: `names`/`ends` are (the socket, the peer).
pub fn build_udp(
    ends: [std::net::SocketAddr; 2],
    names: [String; 2],
    packets: &[super::packet::Packet],
    calls: &[Call],
) -> Ladder {
    use super::packet::Packet;
    let mine = |a: std::net::SocketAddr| {
        a.port() == ends[0].port() && super::capture::same_host(a.ip(), ends[0].ip())
    };
    // The calls of this conversation: the datagrams sent to this peer,
    // and what failed talking to it (a socket may have talked to others).
    let about = |c: &Call| match &c.kind {
        CallKind::SendTo { to, .. } => *to == ends[1],
        _ => c.peer == Some(ends[1]),
    };
    // The other end's calls too, when sockplay saw them (the shell's
    // socket, or a watched program's): its sendto back to this one.
    let theirs = |a: std::net::SocketAddr| {
        a.port() == ends[1].port() && super::capture::same_host(a.ip(), ends[1].ip())
    };
    let about_theirs = |c: &Call| match &c.kind {
        CallKind::SendTo { to, .. } => mine(*to),
        _ => c.peer.is_some_and(mine),
    };
    let mut events: Vec<(Nanos, u8, Step)> = Vec::new();
    for (side, c) in calls.iter().filter_map(|c| {
        if mine(c.local) && about(c) {
            Some((0, c))
        } else if theirs(c.local) && about_theirs(c) {
            Some((1, c))
        } else {
            None
        }
    }) {
        let order = if matches!(c.kind, CallKind::Failed { .. }) {
            2
        } else {
            0
        };
        events.push((
            c.t,
            order,
            Step::Call {
                side,
                text: c.text(),
                failed: matches!(c.kind, CallKind::Failed { .. }),
            },
        ));
    }
    for p in packets {
        match p {
            Packet::Udp(d)
                if (mine(d.src) && d.dst == ends[1]) || (mine(d.dst) && d.src == ends[1]) =>
            {
                events.push((
                    d.t,
                    1,
                    Step::Arrow(Arrow {
                        t: d.t,
                        from: usize::from(!mine(d.src)),
                        flags: "UDP".into(),
                        numbers: format!("len={}", d.len),
                        notes: Vec::new(),
                        kind: ArrowKind::Data,
                        states: [None, None],
                    }),
                ));
                if d.more > 0 {
                    events.push((
                        d.t,
                        1,
                        Step::Gap(format!("{} more datagrams, counted, not drawn", d.more)),
                    ));
                }
            }
            Packet::Unreachable(u) if mine(u.orig_src) && u.orig_dst == ends[1] => {
                events.push((
                    u.t,
                    1,
                    Step::Arrow(Arrow {
                        t: u.t,
                        from: 1,
                        flags: if u.v6 { "ICMPv6" } else { "ICMP" }.into(),
                        numbers: u.what().into(),
                        notes: vec![format!("nothing receives on port {}", u.orig_dst.port())],
                        kind: ArrowKind::Reset,
                        states: [None, None],
                    }),
                ));
            }
            _ => {}
        }
    }
    events.sort_by_key(|(t, order, _)| (*t, *order));
    let mut steps: Vec<Step> = events.into_iter().map(|(_, _, s)| s).collect();
    if steps.len() > MAX_STEPS {
        let cut = steps.len() - MAX_STEPS;
        steps.truncate(MAX_STEPS);
        steps.push(Step::Gap(format!("{cut} more steps not drawn")));
    }
    let addrs = [0, 1].map(|k| {
        let a = ends[k].to_string();
        if a == names[k] { String::new() } else { a }
    });
    Ladder {
        names,
        addrs,
        initial: [String::new(), String::new()],
        steps,
        notes: vec!["UDP has no connection and no states: each datagram goes alone".into()],
    }
}

/// What a piece of a text line is, for the renderer to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// An end's name.
    Name,
    /// An address, a note.
    Dim,
    /// A state (ESTABLISHED).
    State,
    /// A call (connect, send #1).
    Call,
    /// A call that raised.
    Failed,
    /// An arrow and its label, by kind.
    Arrow(ArrowKind),
}

/// One line of text: pieces with their styles.
pub type Line = Vec<(String, Style)>;

/// The characters the lines are drawn with.
#[derive(Clone, Copy, Debug)]
pub struct Glyphs {
    /// Where a lost segment stops.
    pub lost: char,
    pub line: char,
    pub gap: char,
    pub dash: char,
    pub right: char,
    pub left: char,
    pub tee_right: char,
    pub tee_left: char,
}

pub const UNICODE: Glyphs = Glyphs {
    lost: '✕',
    line: '│',
    gap: '┆',
    dash: '─',
    right: '▶',
    left: '◀',
    tee_right: '├',
    tee_left: '┤',
};

pub const ASCII: Glyphs = Glyphs {
    lost: 'X',
    line: '|',
    gap: ':',
    dash: '-',
    right: '>',
    left: '<',
    tee_right: '+',
    tee_left: '+',
};

/// The text layout: the width of everything, of each margin, and where the
/// lifelines are.
pub const WIDTH: usize = 78;
const MARGIN: usize = 17;
const LEFT: usize = MARGIN + 1;
const RIGHT: usize = WIDTH - MARGIN - 2;
/// Room for a label between the lifelines (a blank each side).
const INNER: usize = RIGHT - LEFT - 3;

/// Splits `text` into lines of at most `width` characters at blanks; a
/// longer word is cut at a capital letter (`ConnectionRefused` `Error`),
/// else anywhere.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let chars: Vec<char> = word.chars().collect();
            let cut = (1..=width.min(chars.len() - 1))
                .rev()
                .find(|&k| chars[k].is_uppercase())
                .unwrap_or(width);
            let head: String = chars[..cut].iter().collect();
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            out.push(head);
            word = chars[cut..].iter().collect();
        }
        let need = if line.is_empty() {
            0
        } else {
            line.chars().count() + 1
        };
        if need + word.chars().count() > width && !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// A line of [`WIDTH`] cells being drawn.
struct Canvas {
    cells: Vec<(char, Style)>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            cells: vec![(' ', Style::Plain); WIDTH],
        }
    }

    fn put(&mut self, at: usize, text: &str, style: Style) {
        for (k, c) in text.chars().enumerate() {
            if let Some(cell) = self.cells.get_mut(at + k) {
                *cell = (c, style);
            }
        }
    }

    fn lifelines(&mut self, c: char) {
        self.put(LEFT, &c.to_string(), Style::Plain);
        self.put(RIGHT, &c.to_string(), Style::Plain);
    }

    /// The pieces, runs of one style, without trailing blanks.
    fn line(self) -> Line {
        let mut out: Line = Vec::new();
        for (c, s) in self.cells {
            match out.last_mut() {
                Some((text, style)) if *style == s || c == ' ' => text.push(c),
                _ => out.push((c.to_string(), s)),
            }
        }
        if let Some((t, _)) = out.last_mut() {
            let trimmed = t.trim_end().len();
            t.truncate(trimmed);
        }
        out.retain(|(t, _)| !t.is_empty());
        out
    }
}

/// Text in a margin: the left one ends before the left lifeline, the right
/// one starts after the right lifeline.
fn margin(c: &mut Canvas, side: usize, text: &str, style: Style) {
    if side == 0 {
        c.put(0, text, style);
    } else {
        c.put(RIGHT + 2, text, style);
    }
}

/// Centers `text` on column `at`, kept within the width.
fn centered(c: &mut Canvas, at: usize, text: &str, style: Style) {
    let n = text.chars().count();
    let start = at.saturating_sub(n / 2).min(WIDTH.saturating_sub(n));
    c.put(start, text, style);
}

/// The diagram as text lines of [`WIDTH`] columns at most.
pub fn lines(l: &Ladder, g: &Glyphs) -> Vec<Line> {
    let mut out = Vec::new();
    let mut c = Canvas::new();
    centered(&mut c, LEFT, &l.names[0], Style::Name);
    centered(&mut c, RIGHT, &l.names[1], Style::Name);
    out.push(c.line());
    let mut c = Canvas::new();
    centered(&mut c, LEFT, &l.addrs[0], Style::Dim);
    centered(&mut c, RIGHT, &l.addrs[1], Style::Dim);
    out.push(c.line());
    let mut c = Canvas::new();
    c.lifelines(g.line);
    margin(&mut c, 0, &l.initial[0], Style::State);
    margin(&mut c, 1, &l.initial[1], Style::State);
    out.push(c.line());
    for step in &l.steps {
        match step {
            Step::Call { side, text, failed } => {
                for t in wrap(text, MARGIN) {
                    let mut c = Canvas::new();
                    c.lifelines(g.line);
                    margin(
                        &mut c,
                        *side,
                        &t,
                        if *failed { Style::Failed } else { Style::Call },
                    );
                    out.push(c.line());
                }
            }
            Step::Gap(text) => {
                for t in wrap(text, INNER) {
                    let mut c = Canvas::new();
                    c.lifelines(g.gap);
                    centered(&mut c, (LEFT + RIGHT) / 2, &t, Style::Dim);
                    out.push(c.line());
                }
            }
            Step::Arrow(a) => {
                let style = Style::Arrow(a.kind);
                let mut label = wrap(&format!("{} {}", a.flags, a.numbers), INNER);
                for n in &a.notes {
                    label.extend(wrap(n, INNER));
                }
                for t in label {
                    let mut c = Canvas::new();
                    c.lifelines(g.line);
                    if a.from == 0 {
                        c.put(LEFT + 2, &t, style);
                    } else {
                        c.put(RIGHT - 1 - t.chars().count(), &t, style);
                    }
                    out.push(c.line());
                }
                let mut c = Canvas::new();
                c.lifelines(g.line);
                let body: String = std::iter::repeat_n(g.dash, RIGHT - LEFT - 2).collect();
                let half = (RIGHT - LEFT) / 2;
                if a.kind == ArrowKind::Lost {
                    // It leaves its sender and stops halfway: nobody got it.
                    let part: String = std::iter::repeat_n(g.dash, half - 1).collect();
                    if a.from == 0 {
                        c.put(LEFT, &g.tee_right.to_string(), style);
                        c.put(LEFT + 1, &part, style);
                        c.put(LEFT + half, &g.lost.to_string(), style);
                    } else {
                        c.put(RIGHT - half, &g.lost.to_string(), style);
                        c.put(RIGHT - half + 1, &part, style);
                        c.put(RIGHT, &g.tee_left.to_string(), style);
                    }
                } else if a.from == 0 {
                    c.put(LEFT, &g.tee_right.to_string(), style);
                    c.put(LEFT + 1, &body, style);
                    c.put(RIGHT - 1, &g.right.to_string(), style);
                } else {
                    c.put(LEFT + 1, &g.left.to_string(), style);
                    c.put(LEFT + 2, &body, style);
                    c.put(RIGHT, &g.tee_left.to_string(), style);
                }
                for side in 0..2 {
                    if let Some(st) = &a.states[side] {
                        margin(&mut c, side, st, Style::State);
                    }
                }
                out.push(c.line());
            }
        }
    }
    out
}

/// Whether flags are those of a handshake or close step (for tests and the
/// SVG's legend).
pub fn is_control(flags: u8) -> bool {
    flags & (SYN | FIN | RST) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_and_long_names_break_at_a_capital() {
        assert_eq!(
            wrap("connect: ConnectionRefusedError", 17),
            vec!["connect:", "ConnectionRefused", "Error"]
        );
        assert_eq!(wrap("recv took #1 #2", 19), vec!["recv took #1 #2"]);
        assert_eq!(wrap("aaaaaaaaaa", 4), vec!["aaaa", "aaaa", "aa"]);
        assert!(wrap("", 5).is_empty());
    }

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
            .collect()
    }

    #[test]
    fn an_arrow_runs_from_lifeline_to_lifeline() {
        let l = Ladder {
            names: ["k".into(), "c".into()],
            addrs: ["127.0.0.1:40000".into(), "127.0.0.1:9900".into()],
            initial: ["CLOSED".into(), "LISTEN".into()],
            steps: vec![
                Step::Call {
                    side: 0,
                    text: "connect".into(),
                    failed: false,
                },
                Step::Arrow(Arrow {
                    t: 0,
                    from: 0,
                    flags: "SYN".into(),
                    numbers: "seq=0 win=65495".into(),
                    notes: vec![],
                    kind: ArrowKind::Control,
                    states: [Some("SYN_SENT".into()), Some("SYN_RECV".into())],
                }),
                Step::Arrow(Arrow {
                    t: 1,
                    from: 1,
                    flags: "SYN,ACK".into(),
                    numbers: "seq=0 ack=1 win=65483".into(),
                    notes: vec![],
                    kind: ArrowKind::Control,
                    states: [Some("ESTABLISHED".into()), None],
                }),
            ],
            notes: vec![],
        };
        let t = text(&lines(&l, &ASCII));
        assert!(t.iter().all(|l| l.chars().count() <= WIDTH), "{t:#?}");
        assert_eq!(
            t[2],
            format!("CLOSED{}|{}| LISTEN", " ".repeat(12), " ".repeat(40))
        );
        assert_eq!(
            t[3],
            format!("connect{}|{}|", " ".repeat(11), " ".repeat(40))
        );
        assert_eq!(
            t[4],
            format!("{}| SYN seq=0 win=65495{}|", " ".repeat(18), " ".repeat(20))
        );
        assert_eq!(
            t[5],
            format!("SYN_SENT{}+{}>| SYN_RECV", " ".repeat(10), "-".repeat(39))
        );
        assert_eq!(
            t[6],
            format!(
                "{}|{}SYN,ACK seq=0 ack=1 win=65483 |",
                " ".repeat(18),
                " ".repeat(10)
            )
        );
        assert_eq!(
            t[7],
            format!("ESTABLISHED{}|<{}+", " ".repeat(7), "-".repeat(39))
        );
        let u = text(&lines(&l, &UNICODE));
        assert!(u[5].contains('▶') && u[7].contains('◀'), "{u:#?}");
    }
}
