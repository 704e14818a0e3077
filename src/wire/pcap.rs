//! Captured frames to a file Wireshark and tshark open: classic pcap
//! (LINKTYPE_ETHERNET, nanosecond times) or, for a name ending in
//! `.pcapng`, pcapng, whose packets can carry a comment each (what the
//! shell knows of them: the call that sent them, why a reset came).
//!
//! The bytes only: the file is written by the shell's one set of file
//! rules ([`crate::files`], through `Session::save_file`): a new file,
//! never through a symbolic link, whole or not at all.

use super::capture::SNAP;
use super::packet::Frame;
use std::path::Path;

/// LINKTYPE_ETHERNET: loopback frames carry a (zero) Ethernet header.
const LINKTYPE_ETHERNET: u16 = 1;

/// One frame to write: when it passed (ns since the epoch), its bytes, and
/// a comment (pcapng only).
pub struct Record<'a> {
    pub t: u64,
    pub frame: &'a Frame,
    pub comment: Option<String>,
}

/// Which file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

impl Format {
    /// pcapng for `.pcapng`, classic pcap for anything else.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => Format::PcapNg,
            _ => Format::Pcap,
        }
    }
}

/// A classic pcap file: the global header, then each record's header and
/// bytes. The nanosecond magic number (0xa1b23c4d) keeps the kernel's
/// times whole.
pub fn pcap(records: &[Record]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24 + records.len() * (16 + SNAP));
    b.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    b.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    b.extend_from_slice(&(SNAP as u32).to_le_bytes()); // snaplen
    b.extend_from_slice(&u32::from(LINKTYPE_ETHERNET).to_le_bytes());
    for r in records {
        let secs = u32::try_from(r.t / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = (r.t % 1_000_000_000) as u32;
        let cap = r.frame.bytes.len() as u32;
        b.extend_from_slice(&secs.to_le_bytes());
        b.extend_from_slice(&nanos.to_le_bytes());
        b.extend_from_slice(&cap.to_le_bytes());
        b.extend_from_slice(&r.frame.len.max(cap).to_le_bytes());
        b.extend_from_slice(&r.frame.bytes);
    }
    b
}

/// Pads `b` to a multiple of 4 bytes.
fn pad4(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// Appends a pcapng option (code, value), padded.
fn option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(value.len() as u16).to_le_bytes());
    b.extend_from_slice(value);
    pad4(b);
}

/// Appends a block of `kind` with `body` (already padded).
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

/// A pcapng file: a section header, one interface (Ethernet, nanosecond
/// times), and an enhanced packet block per record, with its comment.
pub fn pcapng(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    // Section header block.
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
    option(&mut shb, 4, b"sockplay"); // shb_userappl
    option(&mut shb, 0, &[]);
    block(&mut out, 0x0a0d_0d0a, &shb);
    // Interface description block.
    let mut idb = Vec::new();
    idb.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&(SNAP as u32).to_le_bytes());
    option(&mut idb, 2, b"lo"); // if_name
    option(&mut idb, 9, &[9]); // if_tsresol: 10^-9 s
    option(&mut idb, 0, &[]);
    block(&mut out, 1, &idb);
    for r in records {
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        epb.extend_from_slice(&((r.t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(r.t as u32).to_le_bytes());
        let cap = r.frame.bytes.len() as u32;
        epb.extend_from_slice(&cap.to_le_bytes());
        epb.extend_from_slice(&r.frame.len.max(cap).to_le_bytes());
        epb.extend_from_slice(&r.frame.bytes);
        pad4(&mut epb);
        if let Some(c) = &r.comment {
            // An option holds at most 65535 bytes; a comment is short.
            let text = &c.as_bytes()[..c.len().min(60_000)];
            option(&mut epb, 1, text); // opt_comment
            option(&mut epb, 0, &[]);
        }
        block(&mut out, 6, &epb);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            bytes: vec![0u8; 54].into(),
            len: 54 + 5,
        }
    }

    #[test]
    fn a_pcap_has_its_header_and_records() {
        let f = frame();
        let b = pcap(&[Record {
            t: 1_700_000_000_123_456_789,
            frame: &f,
            comment: None,
        }]);
        assert_eq!(b.len(), 24 + 16 + 54);
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes([b[20], b[21], b[22], b[23]]), 1);
        assert_eq!(
            u32::from_le_bytes([b[24], b[25], b[26], b[27]]),
            1_700_000_000
        );
        assert_eq!(
            u32::from_le_bytes([b[28], b[29], b[30], b[31]]),
            123_456_789
        );
        assert_eq!(u32::from_le_bytes([b[36], b[37], b[38], b[39]]), 59);
    }

    #[test]
    fn pcapng_blocks_are_whole_and_aligned() {
        let f = frame();
        let b = pcapng(&[Record {
            t: 5,
            frame: &f,
            comment: Some("send #1".into()),
        }]);
        // Walk the blocks: each one's length is at both ends.
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < b.len() {
            let word = |k: usize| u32::from_le_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]);
            let len = word(at + 4) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(word(at + len - 4) as usize, len);
            kinds.push(word(at));
            at += len;
        }
        assert_eq!(kinds, vec![0x0a0d_0d0a, 1, 6]);
        assert!(b.windows(7).any(|w| w == b"send #1"));
    }
}
