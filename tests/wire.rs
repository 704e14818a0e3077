//! The wire view through the real binary: `states` (numbers, states, a
//! reset and why), `states save` read back by tshark, `diagram` as text
//! (golden, variable parts masked) and as SVG (rendered by rsvg-convert),
//! and `--lab` as an unprivileged user.
//!
//! The capture needs root, or `--lab`: as root each test runs as it is;
//! otherwise with `--lab` when the kernel allows user namespaces; else it
//! says `skipped` (the lab tests say why). Ports are the kernel's; every
//! run is bounded (30 s).

mod common;

use common::Scratch;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::wire::{flat, root, run, section};

/// One segment row of `states`: from, to, flags, seq, ack (None for `-`),
/// len, win, and the rest of the row (with its continuation lines).
#[derive(Debug, Clone)]
struct SegRow {
    from: String,
    flags: String,
    seq: u64,
    ack: Option<u64>,
    len: u64,
    win: u64,
    what: String,
}

fn seg_rows(lines: &[&str]) -> Vec<SegRow> {
    let mut rows: Vec<SegRow> = Vec::new();
    for l in lines {
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() >= 10 && t[1] == "ms" && t[4] == "->" {
            let num = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|_| panic!("{s:?} in {l:?}"))
            };
            rows.push(SegRow {
                from: t[3].to_string(),
                flags: t[2].to_string(),
                seq: num(t[6]),
                ack: (t[7] != "-").then(|| num(t[7])),
                len: num(t[8]),
                win: num(t[9]),
                what: t[10..].join(" "),
            });
        } else if let Some(last) = rows.last_mut()
            && l.starts_with("          ")
            && !l.contains(" ... ")
        {
            // A continuation of the last row's notes.
            last.what.push(' ');
            last.what.push_str(l.trim());
        }
    }
    rows
}

const PAIR: &str = "s = socket tcp
bind s 127.0.0.1 0
listen s
k = socket tcp
connect k s
c = accept s
";

/// The report of the issue: a connection that ends in RST keeps its rows,
/// with the RST and why it came, and the BrokenPipeError it caused.
#[test]
fn a_reset_connection_keeps_its_rows_and_says_why() {
    let scratch = Scratch::new("wire-rst");
    let Some(out) = run(
        &scratch,
        "s = socket tcp
bind s 127.0.0.1 0
listen s
a = socket tcp
connect a s
b = accept s
close b
send a b\"1\"
send a b\"2\"
states a",
    ) else {
        return;
    };
    let st = section(&out, "states a");
    let text = st.join("\n");
    assert!(!text.contains("no TCP connection"), "{out}");
    assert!(!text.contains("1 bytes"), "{out}");
    let rows = seg_rows(&st);
    let rst = rows
        .iter()
        .find(|r| r.flags.contains("RST"))
        .unwrap_or_else(|| panic!("an RST row:\n{out}"));
    assert_eq!(rst.from, "b", "{rst:?}");
    assert!(rst.what.contains("data to a closed socket"), "{rst:?}");
    assert!(
        rst.what.contains("then a's send: BrokenPipeError"),
        "{rst:?}"
    );
    let data = rows
        .iter()
        .find(|r| r.from == "a" && r.len == 1)
        .unwrap_or_else(|| panic!("a's one byte:\n{out}"));
    assert!(data.what.contains("1 byte of data"), "{data:?}");
    assert!(
        rst.what.contains("a CLOSED") || text.contains("a CLOSED, b CLOSED"),
        "{out}"
    );
}

/// tshark, reading the pcap that `states save` wrote, finds the numbers
/// `states` shows: relative and absolute seq and ack, lengths, scaled
/// windows, a SYN's MSS and window scale; the pcapng's comments are the
/// steps.
#[test]
fn the_numbers_are_those_tshark_reads_from_the_pcap() {
    if !common::have_peer("tshark") {
        return;
    }
    let scratch = Scratch::new("wire-tshark");
    let Some(out) = run(
        &scratch,
        &format!(
            "{PAIR}send k b\"hello\"
recv c
send c b\"hi there\"
recv k
close k
recv c
close c
sleep 0.1
states k
states k absolute
states save w.pcap
states save w.pcapng
states save w.pcap"
        ),
    ) else {
        return;
    };
    let rel = seg_rows(&section(&out, "states k"));
    let abs = seg_rows(&section(&out, "states k absolute"));
    assert!(rel.len() >= 9, "handshake, data, acks, close:\n{out}");
    assert_eq!(rel.len(), abs.len(), "{out}");
    // Never replaced: the second save of w.pcap fails and says why.
    let again = section(&out, "states save w.pcap").join("\n");
    assert!(again.contains("wrote"), "{out}");
    let tail = &out[out.rfind("sockplay> states save w.pcap").expect("again")..];
    assert!(tail.contains("FileExistsError"), "{tail}");
    assert!(tail.contains("never replaces a file"), "{tail}");

    let fields = [
        "tcp.srcport",
        "tcp.flags",
        "tcp.seq",
        "tcp.ack",
        "tcp.len",
        "tcp.window_size",
        "tcp.seq_raw",
        "tcp.ack_raw",
        "tcp.options.mss_val",
        "tcp.options.wscale.shift",
        "frame.comment",
    ];
    let read = |file: &str| -> Vec<Vec<String>> {
        let mut cmd = Command::new("tshark");
        cmd.args(["-r", file, "-T", "fields", "-E", "occurrence=f"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let o = cmd
            .current_dir(scratch.path())
            .stderr(Stdio::null())
            .output()
            .expect("tshark runs");
        assert!(o.status.success(), "tshark -r {file}");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    };
    let frames = read("w.pcap");
    assert_eq!(
        frames.len(),
        rel.len(),
        "one frame a row:\n{frames:?}\n{out}"
    );
    let title = section(&out, "states k").join("\n");
    let k_port = common::proc::port_after(&title, "connection k 127.0.0.1:");
    for (k, ((f, r), a)) in frames.iter().zip(&rel).zip(&abs).enumerate() {
        let n = |i: usize| -> u64 { f[i].parse().unwrap_or(0) };
        let from_k = n(0) == u64::from(k_port);
        assert_eq!(from_k, r.from == "k", "frame {}: {f:?} {r:?}", k + 1);
        let bits = u64::from_str_radix(f[1].trim_start_matches("0x"), 16).expect("flags");
        for (name, bit) in [("SYN", 2), ("FIN", 1), ("RST", 4), ("PSH", 8), ("ACK", 16)] {
            assert_eq!(
                bits & bit != 0,
                r.flags.split(',').any(|x| x == name),
                "frame {}: {name} in {f:?} vs {r:?}",
                k + 1
            );
        }
        assert_eq!(r.seq, n(2), "relative seq, frame {}", k + 1);
        if let Some(ack) = r.ack {
            assert_eq!(ack, n(3), "relative ack, frame {}", k + 1);
            assert_eq!(a.ack, Some(n(7)), "absolute ack, frame {}", k + 1);
        }
        assert_eq!(r.len, n(4), "len, frame {}", k + 1);
        assert_eq!(r.win, n(5), "scaled window, frame {}", k + 1);
        assert_eq!(a.seq, n(6), "absolute seq, frame {}", k + 1);
        if r.flags.contains("SYN") {
            assert!(r.what.contains(&format!("MSS {}", f[8])), "{f:?} {r:?}");
            assert!(
                r.what.contains(&format!("window scale {} ", f[9])),
                "{f:?} {r:?}"
            );
        }
    }
    let ng = read("w.pcapng");
    assert_eq!(ng.len(), frames.len());
    assert!(ng[0][10].contains("handshake 1/3"), "{:?}", ng[0]);
    assert!(
        ng.iter().any(|f| f[10].contains("close 1/4: FIN from k")),
        "{ng:?}"
    );
}

/// What the kernel says of the connection at the other end (TCP_INFO of
/// a python3 server's socket) is what the SYNs and ACKs `states` shows
/// say: the window scales each side announced, timestamps and SACK, and
/// the bytes it received and had acknowledged.
#[test]
fn the_syn_options_and_acks_agree_with_tcp_info() {
    if !root() {
        eprintln!("skipped: the python3 peer is outside --lab's network; this needs root");
        return;
    }
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("wire-tcpinfo");
    let server = r#"
import socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print("port", s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(b"bye")
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
options, wscale = info[5], info[6]
acked, received = struct.unpack_from("QQ", info, 120)
print("info", n, options, wscale & 15, wscale >> 4, acked, received, "end", flush=True)
c.close()
"#;
    let mut py = common::proc::Proc::spawn(
        "python3",
        &mut common::proc::python_command(scratch.path(), "srv.py", server, &[]),
        Duration::from_secs(30),
    );
    let first = py.wait_for("\n");
    let port = common::proc::port_after(&first, "port ");
    let Some(out) = run(
        &scratch,
        &format!(
            "k = socket tcp
connect k 127.0.0.1 {port}
send k b\"x\" * 1000
recv k 3
close k
sleep 0.3
states k"
        ),
    ) else {
        return;
    };
    let line = py.wait_for(" end");
    let info: Vec<u64> = line[line.find("info ").expect("info") + 5..]
        .split_whitespace()
        .take_while(|x| *x != "end")
        .map(|x| x.parse().expect("a number"))
        .collect();
    let (n, options, snd_wscale, rcv_wscale, acked, received) =
        (info[0], info[1], info[2], info[3], info[4], info[5]);
    assert_eq!(n, 1000);
    let rows = seg_rows(&section(&out, "states k"));
    let syn = rows
        .iter()
        .find(|r| r.flags == "SYN")
        .unwrap_or_else(|| panic!("k's SYN:\n{out}"));
    let syn_ack = rows
        .iter()
        .find(|r| r.flags == "SYN,ACK")
        .unwrap_or_else(|| panic!("the SYN-ACK:\n{out}"));
    // The server's kernel shifts what k sends by k's scale (snd_wscale),
    // and announced its own (rcv_wscale) in the SYN-ACK.
    assert!(
        syn.what.contains(&format!("window scale {snd_wscale} ")),
        "{syn:?} vs snd_wscale {snd_wscale}"
    );
    assert!(
        syn_ack
            .what
            .contains(&format!("window scale {rcv_wscale} ")),
        "{syn_ack:?} vs rcv_wscale {rcv_wscale}"
    );
    // TCPI_OPT_TIMESTAMPS 1, TCPI_OPT_SACK 2.
    assert_eq!(options & 1 != 0, syn_ack.what.contains("timestamps"));
    assert_eq!(options & 2 != 0, syn_ack.what.contains("SACK permitted"));
    // The server's kernel counts what it received in sequence space: the
    // 1000 bytes and k's FIN. Its highest ACK is one more (the SYN), as
    // the relative numbers count. k had 3 bytes acknowledged: its highest
    // ACK is 4, or 5 once the server's FIN came.
    assert_eq!(received, 1001);
    let from_server = rows
        .iter()
        .filter(|r| r.from != "k")
        .filter_map(|r| r.ack)
        .max();
    assert_eq!(from_server, Some(received + 1), "{rows:#?}");
    assert_eq!(acked, 3);
    let from_k = rows
        .iter()
        .filter(|r| r.from == "k")
        .filter_map(|r| r.ack)
        .max();
    assert!(
        from_k == Some(acked + 1) || from_k == Some(acked + 2),
        "{from_k:?}: {rows:#?}"
    );
    assert_eq!(py.end().0, Some(0));
}

/// The three causes of a reset a course meets, each named: a SYN to a
/// closed port (and the ConnectionRefusedError), a close with SO_LINGER 0,
/// a close with data unread.
#[test]
fn each_reset_names_its_cause() {
    let scratch = Scratch::new("wire-causes");
    let Some(out) = run(
        &scratch,
        &format!(
            "p = socket tcp
bind p 127.0.0.1 0
a = getsockname p
r = socket tcp
connect r a
states r
diagram r
{PAIR}setsockopt c SO_LINGER 1 0
close c
states k
k2 = socket tcp
connect k2 s
c2 = accept s
send k2 b\"never read\"
sleep 0.05
close c2
states k2"
        ),
    ) else {
        return;
    };
    let refused = flat(&out, "states r");
    assert!(refused.contains("a SYN to a closed port"), "{out}");
    assert!(
        refused.contains("then r's connect: ConnectionRefusedError"),
        "{refused}"
    );
    let d = section(&out, "diagram r").join("\n");
    assert!(d.contains("SYN to a closed port"), "{d}");
    assert!(d.contains("ConnectionRefused"), "{d}");
    let linger = seg_rows(&section(&out, "states k"));
    let rst = linger
        .iter()
        .find(|r| r.flags.contains("RST"))
        .expect("RST");
    assert!(rst.what.contains("c closed with SO_LINGER 0"), "{rst:?}");
    let unread = seg_rows(&section(&out, "states k2"));
    let rst = unread
        .iter()
        .find(|r| r.flags.contains("RST"))
        .expect("RST");
    assert!(
        rst.what.contains("c2 closed with 10 bytes unread"),
        "{rst:?}"
    );
}

/// A datagram to a port where nothing listens comes back as ICMP port
/// unreachable, and `states` ties it to the ConnectionRefusedError of the
/// next call.
#[test]
fn a_port_unreachable_explains_the_refused_recv() {
    let scratch = Scratch::new("wire-udp");
    let Some(out) = run(
        &scratch,
        "p = socket udp
bind p 127.0.0.1 0
a = getsockname p
close p
u = socket udp
connect u a
send u b\"anyone?\"
recv u
states u
diagram u",
    ) else {
        return;
    };
    let st = flat(&out, "states u");
    assert!(st.contains("a datagram of 7 bytes"), "{out}");
    assert!(st.contains("ICMP port unreachable"), "{out}");
    assert!(
        st.contains("then u's recv: ConnectionRefusedError"),
        "{out}"
    );
    let d = section(&out, "diagram u").join("\n");
    assert!(d.contains("UDP len=7"), "{d}");
    assert!(d.contains("ICMP port unreachable"), "{d}");
}

/// Wireshark's names for what went wrong, on real segments: a SYN sent
/// again because the accept queue was full, a zero window, its probe, a
/// window update and a full window; tshark flags the same frames.
#[test]
fn retransmissions_and_windows_are_flagged_as_tshark_flags_them() {
    if !common::have_peer("tshark") {
        return;
    }
    let scratch = Scratch::new("wire-expert");
    let Some(out) = run(
        &scratch,
        "s = socket tcp
setsockopt s SO_RCVBUF 4096
bind s 127.0.0.1 0
listen s 0
a = socket tcp
connect a s
b = socket tcp
settimeout b 10
connect b s &
sleep 1.3
x = accept s
wait
y = accept s
setblocking b false
send b b\"z\" * 300000
sleep 0.6
data = recv y 100000
sleep 0.2
states b
states save e.pcap",
    ) else {
        return;
    };
    let st = section(&out, "states b");
    let rows = seg_rows(&st);
    let title = st.join("\n");
    let b_port = common::proc::port_after(&title, "connection b 127.0.0.1:");
    let o = Command::new("tshark")
        .args(["-r", "e.pcap", "-Y", &format!("tcp.port == {b_port}")])
        .args(["-T", "fields", "-E", "occurrence=f"])
        .args(["-e", "tcp.analysis.retransmission"])
        .args(["-e", "tcp.analysis.zero_window"])
        .args(["-e", "tcp.analysis.window_update"])
        .args(["-e", "tcp.analysis.window_full"])
        .args(["-e", "tcp.analysis.keep_alive"])
        .current_dir(scratch.path())
        .stderr(Stdio::null())
        .output()
        .expect("tshark");
    let frames: Vec<Vec<bool>> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').map(|f| !f.is_empty()).collect())
        .collect();
    // The pcap was written after `states`: the window is still closed,
    // and a probe and its answer may have come in between.
    assert!(frames.len() >= rows.len(), "{frames:?}\n{out}");
    assert!(frames.len() <= rows.len() + 6, "{frames:?}\n{out}");
    let names = [
        "[TCP Retransmission]",
        "[TCP ZeroWindow]",
        "[TCP Window Update]",
        "[TCP Window Full]",
        "[TCP Keep-Alive]",
    ];
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (k, (f, r)) in frames.iter().zip(&rows).enumerate() {
        for (j, name) in names.iter().enumerate() {
            assert_eq!(
                f.get(j).copied().unwrap_or(false),
                r.what.contains(name),
                "frame {}: tshark and states disagree on {name}: {r:?}\n{out}",
                k + 1
            );
            if r.what.contains(name) {
                *seen.entry(name).or_default() += 1;
            }
        }
    }
    // The story happened: the SYN was sent again, the window closed and
    // opened.
    for name in [
        "[TCP Retransmission]",
        "[TCP ZeroWindow]",
        "[TCP Window Update]",
    ] {
        assert!(seen.contains_key(name), "no {name}:\n{out}");
    }
}

/// Masks what changes from run to run (ports, ISNs, windows, scales) and
/// the runs of blanks that align them.
fn mask(text: &str) -> String {
    let re = |p: &str| regex_lite(p);
    let mut t = text.to_string();
    for (pat, with) in [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"win=\d+", "win=W"),
        (r"WS=\d+", "WS=S"),
        (r"MSS=\d+", "MSS=M"),
        (r"ISN \(k \d+, c \d+\)", "ISN (k N, c N)"),
    ] {
        t = re(pat).replace_all(&t, with).into_owned();
    }
    t.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn regex_lite(p: &str) -> regex::Regex {
    regex::Regex::new(p).expect("pattern")
}

/// The diagram of a handshake, a data exchange and a four-way close, as
/// text (ASCII: no colour), against its expected form with the variable
/// parts masked; every line fits 80 columns, and the lifelines stand in
/// the same two columns all the way down.
#[test]
fn the_diagram_of_a_whole_connection_reads_as_the_textbook_draws_it() {
    let scratch = Scratch::new("wire-diagram");
    // The pauses let each delayed ACK go on its own, so that the segments
    // are the same on a loaded machine.
    let Some(out) = run(
        &scratch,
        &format!(
            "{PAIR}sleep 0.3
send k b\"hello\"
sleep 0.3
recv c
send c b\"hi\"
sleep 0.3
recv k
close k
sleep 0.3
recv c
close c
sleep 0.3
diagram k"
        ),
    ) else {
        return;
    };
    let lines = section(&out, "diagram k");
    for l in &lines {
        assert!(l.chars().count() <= 80, "{l:?} is over 80 columns");
        if l.contains("|") && !l.trim_start().starts_with('#') {
            let cols: Vec<usize> = l
                .char_indices()
                .filter(|(_, c)| matches!(c, '|' | '+'))
                .map(|(k, _)| k)
                .collect();
            assert!(
                cols.iter().all(|c| *c == 20 || *c == 61),
                "lifelines at 20 and 61: {l:?}"
            );
        }
    }
    let got = mask(&lines.join("\n"));
    let want = "k c
127.0.0.1:PORT 127.0.0.1:PORT
CLOSED | | LISTEN
connect | |
| SYN seq=0 win=W |
| MSS=M SACK_PERM TS WS=S |
SYN_SENT +--------------------------------------->| SYN_RECV
| SYN,ACK seq=0 ack=1 win=W |
| MSS=M SACK_PERM TS WS=S |
ESTABLISHED |<---------------------------------------+
| ACK seq=1 ack=1 win=W |
+--------------------------------------->| ESTABLISHED
connect returned | |
| | accept returned
send #1 | |
| PSH,ACK seq=1 ack=1 len=5 win=W |
+--------------------------------------->|
| ACK seq=1 ack=6 win=W |
|<---------------------------------------+
| | recv took #1
| | send #1
| PSH,ACK seq=1 ack=6 len=2 win=W |
|<---------------------------------------+
| ACK seq=6 ack=3 win=W |
+--------------------------------------->|
recv took #1 | |
close | |
| FIN,ACK seq=6 ack=3 win=W |
FIN_WAIT1 +--------------------------------------->| CLOSE_WAIT
| ACK seq=3 ack=7 win=W |
FIN_WAIT2 |<---------------------------------------+
| | recv -> b''
| | close
| FIN,ACK seq=3 ack=7 win=W |
TIME_WAIT |<---------------------------------------+ LAST_ACK
| ACK seq=7 ack=4 win=W |
+--------------------------------------->| CLOSED
# seq and ack relative to each side's ISN (k N, c N)";
    assert_eq!(got, want, "\n--- got:\n{got}\n--- output:\n{out}");
}

/// `diagram save` writes an SVG that rsvg-convert renders: a picture of a
/// sensible size that is not blank, with an arrow for each segment and
/// their labels; it never replaces a file.
#[test]
fn the_svg_renders_with_an_arrow_per_segment() {
    if !common::have_peer("rsvg-convert") || !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("wire-svg");
    let Some(out) = run(
        &scratch,
        &format!(
            "{PAIR}send k b\"hello\"
recv c
close k
recv c
close c
sleep 0.1
states k
diagram k save talk.svg
diagram k save talk.svg"
        ),
    ) else {
        return;
    };
    let rows = seg_rows(&section(&out, "states k"));
    assert!(out.contains("wrote the diagram of k <-> c"), "{out}");
    let tail = &out[out.rfind("sockplay> diagram k save").expect("again")..];
    assert!(tail.contains("FileExistsError"), "{tail}");
    let svg = std::fs::read_to_string(scratch.path().join("talk.svg")).expect("the svg");
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<line class=\"arrow").count(),
        rows.len(),
        "an arrow per segment:\n{svg}"
    );
    for want in [
        ">k</text>",
        ">c</text>",
        ">SYN seq=0 win=",
        ">SYN,ACK seq=0 ack=1 win=",
        "len=5",
        ">FIN,ACK seq=",
        ">ESTABLISHED</text>",
        ">TIME_WAIT</text>",
        ">connect</text>",
        ">close</text>",
    ] {
        assert!(svg.contains(want), "{want} in the svg:\n{svg}");
    }
    let png = scratch.path().join("talk.png");
    let st = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(scratch.path().join("talk.svg"))
        .status()
        .expect("rsvg-convert runs");
    assert!(st.success());
    // The picture: its size from the PNG header, and how much of it is
    // not white (python3's zlib reads the pixels).
    let check = r#"
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, color = struct.unpack(">IIBB", b[16:26])
assert depth == 8 and color in (2, 6), (depth, color)
bpp = 3 if color == 2 else 4
at, data = 8, b""
while at < len(b):
    n, kind = struct.unpack(">I4s", b[at:at + 8])
    if kind == b"IDAT":
        data += b[at + 8:at + 8 + n]
    at += 12 + n
raw = zlib.decompress(data)
stride = w * bpp
prev = bytearray(stride)
ink = 0
for y in range(h):
    kind = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = row[x - bpp] if x >= bpp else 0
        up = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if kind == 1:
            row[x] = (row[x] + a) & 255
        elif kind == 2:
            row[x] = (row[x] + up) & 255
        elif kind == 3:
            row[x] = (row[x] + (a + up) // 2) & 255
        elif kind == 4:
            p = a + up - c
            pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (up if pb <= pc else c)
            row[x] = (row[x] + pred) & 255
    for x in range(0, stride, bpp):
        if min(row[x:x + 3]) < 200:
            ink += 1
    prev = row
print(w, h, w * h, ink)
"#;
    let o = common::proc::python_command(scratch.path(), "png.py", check, &["talk.png"])
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    let (w, h, total, ink) = (v[0], v[1], v[2], v[3]);
    assert!((600..=1200).contains(&w), "width {w}");
    assert!(h > 400 && h < 4000, "height {h}");
    assert!(
        ink > total / 200 && ink < total / 2,
        "some ink, mostly white: {ink} of {total}"
    );
}

/// `--lab` as an unprivileged user: the shell says its loopback is its
/// own, and captures there (states shows the handshake, diagram draws
/// it). Without `--lab` the same user is told that it exists.
#[test]
fn lab_captures_without_root() {
    if !root() || !common::have_peer("setpriv") {
        eprintln!("skipped: needs root to become nobody with setpriv");
        return;
    }
    let scratch = Scratch::new("wire-lab");
    let as_nobody = |args: &[&str]| -> String {
        let out_path = scratch.path().join(".out");
        let f = std::fs::File::create(&out_path).expect("out");
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(common::BIN)
            .args(["--color", "never", "--no-rc"])
            .args(args)
            .current_dir("/")
            .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
            .env("SOCKPLAY_HISTORY", scratch.path().join(".history"))
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("clone"))
            .stderr(f);
        let mut child = cmd.spawn().expect("setpriv");
        let st = common::wait_bounded(&mut child, Duration::from_secs(30));
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        assert!(st.is_some(), "killed:\n{text}");
        text
    };
    let script = format!(
        "{PAIR}send k b\"hi\"
recv c
states k
diagram k
set"
    );
    let plain = as_nobody(&["--keep-going", "-c", &script]);
    assert!(plain.contains("no capture of the segments"), "{plain}");
    assert!(plain.contains("sockplay --lab"), "{plain}");
    let lab = as_nobody(&["--lab", "--keep-going", "-c", &script]);
    if lab.contains("lab: no network of this shell's own") {
        eprintln!("skipped: this kernel refuses user namespaces:\n{lab}");
        return;
    }
    assert!(
        lab.starts_with("  # lab: this shell runs in a network of its own"),
        "said first:\n{lab}"
    );
    assert!(lab.contains("cannot be reached from here"), "{lab}");
    let st = section(&lab, "states k").join("\n");
    assert!(st.contains("handshake 1/3: connect sends SYN"), "{lab}");
    assert!(st.contains("2 bytes of data"), "{lab}");
    let d = section(&lab, "diagram k").join("\n");
    assert!(d.contains("SYN seq=0"), "{d}");
    assert!(
        section(&lab, "set").join("\n").contains("lab = on"),
        "{lab}"
    );
}

/// Where the kernel refuses user namespaces (here: a user namespace whose
/// limit on more of them is 0), `--lab` says why and the shell goes on as
/// it was, with the sampled states.
#[test]
fn lab_refused_says_why_and_falls_back() {
    if !root() || !common::have_peer("python3") {
        eprintln!("skipped: needs root to make the refusing namespace");
        return;
    }
    let scratch = Scratch::new("wire-lab-refused");
    // A child in a user namespace of its own (uids 0 and 65534 mapped by
    // its parent), where user.max_user_namespaces is set to 0; it becomes
    // 65534 and runs sockplay --lab.
    let helper = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
go_r, go_w = os.pipe()
ready_r, ready_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(go_w); os.close(ready_r)
    if libc.unshare(0x10000000) != 0:
        sys.exit("unshare: %d" % ctypes.get_errno())
    os.write(ready_w, b"x")
    os.read(go_r, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    os.execv(sys.argv[1], sys.argv[1:])
os.close(go_r); os.close(ready_w)
os.read(ready_r, 1)
for name in ("uid_map", "gid_map"):
    with open("/proc/%d/%s" % (pid, name), "w") as f:
        f.write("0 0 1\n65534 65534 1\n")
os.write(go_w, b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let script = "states
k = socket tcp
listen k
set";
    let mut cmd = common::proc::python_command(
        scratch.path(),
        "refuse.py",
        helper,
        &[
            common::BIN,
            "--lab",
            "--color",
            "never",
            "--no-rc",
            "--keep-going",
            "-c",
            script,
        ],
    );
    cmd.current_dir("/")
        .env("SOCKPLAY_CONFIG_DIR", scratch.path().join(".config"))
        .env("SOCKPLAY_HISTORY", scratch.path().join(".history"));
    let mut p = common::proc::Proc::spawn_merged("refuse.py", &mut cmd, Duration::from_secs(30));
    // The command holds a copy of the pipe's write end: gone, the reader
    // sees the end when the child exits.
    drop(cmd);
    let (status, out) = p.end_bytes();
    let out = String::from_utf8_lossy(&out).into_owned();
    if out.contains("unshare:") {
        eprintln!("skipped: no user namespace for the helper:\n{out}");
        return;
    }
    assert_eq!(status, Some(0), "{out}");
    assert!(out.contains("lab: no network of this shell's own"), "{out}");
    assert!(out.contains("max_user_namespaces = 0"), "says why:\n{out}");
    assert!(
        section(&out, "states")
            .join("\n")
            .contains("no capture of the segments"),
        "{out}"
    );
    // The shell is as it was: the machine's loopback works.
    assert!(
        section(&out, "listen k").join("\n").contains("LISTEN"),
        "{out}"
    );
}

/// `help diagram` and `help states` say what they show.
#[test]
fn help_tells_of_the_wire_view() {
    let scratch = Scratch::new("wire-help");
    let run = common::run_in(scratch.path(), &["-c", "help diagram\nhelp states"], None);
    assert_eq!(run.status, Some(0), "{}", run.output);
    for want in [
        "diagram [sock] [absolute] [save FILE]",
        "recv took #1 #2",
        "states [sock] [absolute] [save FILE]",
        "SO_LINGER 0",
        "sockplay --lab",
    ] {
        assert!(run.output.contains(want), "{want}:\n{}", run.output);
    }
}
