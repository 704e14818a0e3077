//! The sequence diagram as SVG, for slides: the textbook's ladder, with
//! arrows that slant down as time passes, each end's state in a label
//! beside its lifeline, and the calls that caused each segment.
//!
//! In: a [`Ladder`]. Out: the text of a standalone SVG file (no scripts,
//! no external references; any SVG viewer or browser shows it, and
//! rsvg-convert turns it into PNG).

use super::ladder::{ArrowKind, Ladder, Step};
use std::fmt::Write as _;

const W: f64 = 820.0;
const LEFT: f64 = 250.0;
const RIGHT: f64 = 570.0;
/// How far an arrow drops from one lifeline to the other.
const SLANT: f64 = 22.0;
const LINE: f64 = 15.0;

/// How wide a character is, as a share of the font size (DejaVu Sans
/// Bold's average is about 0.6; a little more, to be safe).
const EM: f64 = 0.62;
/// Room for a call's words in a margin (beside a lifeline, 14 px off it).
const MARGIN_TEXT: f64 = LEFT - 14.0 - 12.0;

/// The font size at which `text` fits in `room` pixels, from `size` down
/// to `least`; a text too long even then is cut, with an ellipsis.
fn fit(text: &str, room: f64, size: f64, least: f64) -> (String, f64) {
    let n = text.chars().count().max(1) as f64;
    let s = (room / (EM * n)).min(size);
    if s >= least {
        return (text.to_string(), s);
    }
    let keep = ((room / (EM * least)) as usize).saturating_sub(1);
    let mut cut: String = text.chars().take(keep).collect();
    cut.push('…');
    (cut, least)
}

/// How many characters of a font `size` fit in `room` pixels.
fn chars_in(room: f64, size: f64) -> usize {
    (room / (EM * size)) as usize
}

/// Text made safe inside XML.
fn esc(s: &str) -> String {
    crate::value::markup_escape(s)
}

fn colour(k: ArrowKind) -> &'static str {
    match k {
        ArrowKind::Control => "#222222",
        ArrowKind::Data => "#1565c0",
        ArrowKind::Reset => "#c62828",
        ArrowKind::Trouble => "#d97706",
        ArrowKind::Lost => "#8e24aa",
    }
}

fn marker_id(k: ArrowKind) -> &'static str {
    match k {
        ArrowKind::Control => "head-control",
        ArrowKind::Data => "head-data",
        ArrowKind::Reset => "head-reset",
        ArrowKind::Trouble => "head-trouble",
        ArrowKind::Lost => "head-lost",
    }
}

/// A state's label beside lifeline `side` at height `y`.
fn state(out: &mut String, side: usize, y: f64, text: &str) {
    if text.is_empty() {
        return;
    }
    let w = 12.0 + 8.2 * text.chars().count() as f64;
    let x = if side == 0 {
        LEFT - 14.0 - w
    } else {
        RIGHT + 14.0
    };
    let _ = write!(
        out,
        r##"<rect class="state" x="{x:.1}" y="{:.1}" width="{w:.1}" height="18" rx="9" fill="#fff3c4" stroke="#c9a227"/><text x="{:.1}" y="{:.1}" font-weight="bold" font-size="12" text-anchor="middle" fill="#5d4500">{}</text>"##,
        y - 9.0,
        x + w / 2.0,
        y + 4.0,
        esc(text)
    );
    out.push('\n');
}

/// The SVG text of `l`.
pub fn render(l: &Ladder) -> String {
    let mut body = String::new();
    let mut y = 96.0;
    // The ends' initial states.
    state(&mut body, 0, y, &l.initial[0]);
    state(&mut body, 1, y, &l.initial[1]);
    y += 30.0;
    for step in &l.steps {
        match step {
            Step::Call { side, text, failed } => {
                let (x, anchor) = if *side == 0 {
                    (LEFT - 14.0, "end")
                } else {
                    (RIGHT + 14.0, "start")
                };
                let fill = if *failed { "#c62828" } else { "#2e7d32" };
                // Wrapped to the margin (`connect:` `ConnectionRefused`
                // `Error`), as in the terminal: never cut by the edge.
                for (k, t) in super::ladder::wrap(text, chars_in(MARGIN_TEXT, 13.0))
                    .iter()
                    .enumerate()
                {
                    if k > 0 {
                        y += 16.0;
                    }
                    let _ = writeln!(
                        body,
                        r#"<text class="call" x="{x:.1}" y="{:.1}" font-size="13" font-weight="bold" text-anchor="{anchor}" fill="{fill}">{}</text>"#,
                        y + 4.0,
                        esc(t)
                    );
                }
                y += 22.0;
            }
            Step::Gap(text) => {
                // Between the lifelines.
                let lines = super::ladder::wrap(text, chars_in(RIGHT - LEFT - 24.0, 12.0) - 4);
                let last = lines.len().saturating_sub(1);
                for (k, t) in lines.iter().enumerate() {
                    let (open, close) = (
                        if k == 0 { "⋯ " } else { "" },
                        if k == last { " ⋯" } else { "" },
                    );
                    let _ = writeln!(
                        body,
                        r##"<text class="gap" x="{:.1}" y="{:.1}" font-size="12" font-style="italic" text-anchor="middle" fill="#757575">{open}{}{close}</text>"##,
                        (LEFT + RIGHT) / 2.0,
                        y + 6.0,
                        esc(t)
                    );
                    if k < last {
                        y += 15.0;
                    }
                }
                y += 26.0;
            }
            Step::Arrow(a) => {
                let c = colour(a.kind);
                // Wrapped as in the terminal: a long label stays between
                // the lifelines.
                let mut label = super::ladder::wrap(&format!("{} {}", a.flags, a.numbers), 38);
                for n in &a.notes {
                    label.extend(super::ladder::wrap(n, 44));
                }
                let mid = (LEFT + RIGHT) / 2.0;
                for (k, t) in label.iter().enumerate() {
                    let (size, weight) = if k == 0 { (13, "bold") } else { (11, "normal") };
                    let _ = writeln!(
                        body,
                        r#"<text class="label" x="{mid:.1}" y="{:.1}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{size}" font-weight="{weight}" text-anchor="middle" fill="{c}">{}</text>"#,
                        y + LINE * k as f64 + 2.0,
                        esc(t)
                    );
                }
                let y1 = y + LINE * (label.len() as f64 - 1.0) + 12.0;
                let y2 = y1 + SLANT;
                let (x1, x2) = if a.from == 0 {
                    (LEFT, RIGHT - 2.0)
                } else {
                    (RIGHT, LEFT + 2.0)
                };
                let dash = if a.kind == ArrowKind::Trouble {
                    r#" stroke-dasharray="7 4""#
                } else {
                    ""
                };
                if a.kind == ArrowKind::Lost {
                    // Halfway, then a cross: nobody got it.
                    let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
                    let _ = writeln!(
                        body,
                        r#"<line class="arrow lost" x1="{x1:.1}" y1="{y1:.1}" x2="{mx:.1}" y2="{my:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="7 4"/>
<path class="cross" d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}" stroke="{c}" stroke-width="3"/>"#,
                        mx - 7.0,
                        my - 7.0,
                        mx + 7.0,
                        my + 7.0,
                        mx - 7.0,
                        my + 7.0,
                        mx + 7.0,
                        my - 7.0
                    );
                } else {
                    let _ = writeln!(
                        body,
                        r#"<line class="arrow {}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{c}" stroke-width="2"{dash} marker-end="url(#{})"/>"#,
                        marker_id(a.kind).trim_start_matches("head-"),
                        marker_id(a.kind)
                    );
                }
                // The sender's state changes as it sends, the receiver's
                // as the segment arrives.
                let to = 1 - a.from;
                if let Some(s) = &a.states[a.from] {
                    state(&mut body, a.from, y1, s);
                }
                if let Some(s) = &a.states[to] {
                    state(&mut body, to, y2, s);
                }
                y = y2 + 24.0;
            }
        }
    }
    let bottom = y + 10.0;
    let mut notes = String::new();
    let mut ny = bottom + 24.0;
    for n in &l.notes {
        for t in super::ladder::wrap(n, chars_in(W - 48.0, 12.0)) {
            let _ = writeln!(
                notes,
                r##"<text class="note" x="24" y="{ny:.1}" font-size="12" fill="#616161">{}</text>"##,
                esc(&t)
            );
            ny += 18.0;
        }
    }
    let h = ny + 6.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0}" height="{h:.0}" viewBox="0 0 {W:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<title>{} and {}: the segments between them</title>
<defs>"#,
        esc(&l.names[0]),
        esc(&l.names[1])
    );
    for k in [
        ArrowKind::Control,
        ArrowKind::Data,
        ArrowKind::Reset,
        ArrowKind::Trouble,
        ArrowKind::Lost,
    ] {
        let _ = writeln!(
            out,
            r#"<marker id="{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"#,
            marker_id(k),
            colour(k)
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    for (k, x) in [LEFT, RIGHT].iter().enumerate() {
        // A long name gets a smaller font (then an ellipsis): it stays in
        // its box, which stays clear of the other's.
        let (name, name_size) = fit(&l.names[k], 180.0, 19.0, 10.0);
        let (addr, addr_size) = fit(&l.addrs[k], 180.0, 12.0, 9.0);
        let _ = writeln!(
            out,
            r##"<rect class="end" x="{:.1}" y="16" width="190" height="52" rx="8" fill="#e8eef7" stroke="#3b5b8c" stroke-width="1.5"/>
<text class="name" x="{x:.1}" y="40" font-size="{name_size:.1}" font-weight="bold" text-anchor="middle" fill="#1a2b48">{}</text>
<text class="addr" x="{x:.1}" y="58" font-size="{addr_size:.1}" text-anchor="middle" fill="#4a5a70">{}</text>
<line class="lifeline" x1="{x:.1}" y1="68" x2="{x:.1}" y2="{bottom:.1}" stroke="#8a99b0" stroke-width="2"/>"##,
            x - 95.0,
            esc(&name),
            esc(&addr)
        );
    }
    out.push_str(&body);
    out.push_str(&notes);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ladder::Arrow;

    #[test]
    fn the_svg_holds_an_arrow_per_segment_and_escapes_text() {
        let l = Ladder {
            names: ["k<".into(), "c".into()],
            addrs: ["127.0.0.1:1".into(), "127.0.0.1:2".into()],
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
                    notes: vec!["MSS=65495".into()],
                    kind: ArrowKind::Control,
                    states: [Some("SYN_SENT".into()), Some("SYN_RECV".into())],
                }),
                Step::Arrow(Arrow {
                    t: 1,
                    from: 1,
                    flags: "RST".into(),
                    numbers: "seq=0".into(),
                    notes: vec![],
                    kind: ArrowKind::Reset,
                    states: [Some("CLOSED".into()), None],
                }),
            ],
            notes: vec!["a & b".into()],
        };
        let s = render(&l);
        inside(&s);
        assert_eq!(s.matches("<line class=\"arrow").count(), 2);
        assert!(s.contains(">k&lt;<"), "{s}");
        assert!(s.contains("a &amp; b"));
        assert!(s.contains(r#"marker-end="url(#head-reset)""#));
        assert!(s.ends_with("</svg>\n"));
    }

    /// An attribute of an SVG element's text.
    fn attr<'a>(el: &'a str, name: &str) -> Option<&'a str> {
        let at = el.find(&format!(" {name}=\""))? + name.len() + 3;
        el[at..].split('"').next()
    }

    /// Checks that every text of `svg` lies inside the picture, and an
    /// end's name and address inside its box, measuring a character as
    /// 0.62 of the font size (DejaVu Sans Bold's average is about 0.6).
    fn inside(svg: &str) {
        for el in svg.split("<text").skip(1) {
            let (head, rest) = el.split_once('>').expect("a text element");
            let text = rest.split("</text>").next().expect("its end");
            let chars = text
                .replace("&lt;", "<")
                .replace("&amp;", "&")
                .chars()
                .count() as f64;
            let x: f64 = attr(head, "x").and_then(|v| v.parse().ok()).expect("x");
            let size: f64 = attr(head, "font-size")
                .and_then(|v| v.parse().ok())
                .expect("font-size");
            let w = chars * size * 0.62;
            let (from, to) = match attr(head, "text-anchor") {
                Some("end") => (x - w, x),
                Some("middle") => (x - w / 2.0, x + w / 2.0),
                _ => (x, x + w),
            };
            assert!(
                from >= 0.0 && to <= W,
                "{text:?} runs out of the picture ({from:.0} to {to:.0})"
            );
            if matches!(attr(head, "class"), Some("name") | Some("addr")) {
                assert!(w <= 186.0, "{text:?} runs out of its box ({w:.0} px)");
            }
        }
    }

    #[test]
    fn long_words_stay_inside_the_picture_and_names_inside_their_boxes() {
        let l = Ladder {
            names: [
                "client_connection".into(),
                "a_rather_long_socket_name_for_a_slide".into(),
            ],
            addrs: [
                "127.0.0.1:40000".into(),
                "[fe80::1234:5678:9abc:def0]:65535".into(),
            ],
            initial: ["CLOSED".into(), "CLOSED".into()],
            steps: vec![
                Step::Call {
                    side: 0,
                    text: "connect: ConnectionRefusedError".into(),
                    failed: true,
                },
                Step::Call {
                    side: 1,
                    text: "recv: ConnectionResetError (after close with SO_LINGER 0)".into(),
                    failed: true,
                },
                Step::Gap(
                    "2146 more segments of a burst, counted, not drawn, and more words".into(),
                ),
            ],
            notes: vec![format!(
                "seq and ack relative to each side's ISN ({})",
                "x".repeat(150)
            )],
        };
        let s = render(&l);
        inside(&s);
        // Nothing is lost: the words are all there, wrapped.
        for w in [
            "ConnectionRefused",
            "SO_LINGER",
            "2146",
            "client_connection",
        ] {
            assert!(s.contains(w), "{w}");
        }
    }
}
