//! The bytes a receive took from the kernel and did not return: what came
//! after the delimiter of a `recvuntil` or `recvline`, or what a receive
//! that ran out of time had gathered. They belong to the socket (as a
//! pwntools tube keeps its buffer): every receive of the shell takes them
//! first, `sockets` shows them in RECV-Q (`3+12`: 3 held here, 12 in the
//! kernel), and `close` says when some are dropped.
//!
//! Held bytes keep their provenance (the sends of this shell they came
//! from), so a line taken later is still shown as `b'..' + b'..'` by send.

use crate::exec::Piece;
use socket2::SockAddr;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Bytes and the sends they came from. The pieces cover the bytes from the
/// start, in order; bytes past the last piece come from no recorded send.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributed {
    pub bytes: Vec<u8>,
    pub pieces: Vec<Piece>,
}

impl Attributed {
    pub fn new(bytes: Vec<u8>, pieces: Vec<Piece>) -> Self {
        Attributed { bytes, pieces }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether every byte belongs to a piece (only then may the pieces of
    /// bytes appended after be kept: a piece has no position of its own).
    fn covered(&self) -> bool {
        self.pieces.iter().map(|p| p.len).sum::<usize>() >= self.bytes.len()
    }

    /// Appends `other` after these bytes.
    pub fn append(&mut self, other: Attributed) {
        let keep = self.covered();
        self.bytes.extend_from_slice(&other.bytes);
        if keep {
            self.pieces.extend(other.pieces);
        }
    }

    /// Splits at byte `k`: self keeps the first `k` bytes, the rest is
    /// returned (each piece cut where it straddles `k`).
    pub fn split_off(&mut self, k: usize) -> Attributed {
        let k = k.min(self.bytes.len());
        let rest_bytes = self.bytes.split_off(k);
        let mut head = Vec::new();
        let mut tail = Vec::new();
        let mut at = 0usize;
        for p in self.pieces.drain(..) {
            if at + p.len <= k {
                head.push(p.clone());
            } else if at >= k {
                tail.push(p.clone());
            } else {
                let cut = k - at;
                head.push(Piece { len: cut, ..p });
                tail.push(Piece {
                    len: p.len - cut,
                    offset: p.offset + cut,
                    ..p
                });
            }
            at += p.len;
        }
        self.pieces = head;
        Attributed {
            bytes: rest_bytes,
            pieces: tail,
        }
    }
}

/// A socket's held bytes.
#[derive(Debug, Default)]
pub struct Held {
    bytes: VecDeque<u8>,
    pieces: VecDeque<Piece>,
    /// Who sent them, for a datagram socket (recvfrom returns it). Boxed:
    /// every socket has a `Held` from birth, almost always empty, and a
    /// SockAddr inline is 128 bytes (10,000 sockets: 1.3 MB for nothing).
    from: Option<Box<SockAddr>>,
}

/// Shared by the table and the calls in flight (background jobs too).
pub type SharedHeld = Arc<Mutex<Held>>;

impl Held {
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The sender of the held bytes (datagram sockets).
    pub fn from(&self) -> Option<SockAddr> {
        self.from.as_deref().cloned()
    }

    /// Takes (or, to peek, copies) up to `n` bytes from the front.
    pub fn take(&mut self, n: usize, peek: bool) -> Attributed {
        let n = n.min(self.bytes.len());
        let mut all = Attributed::new(
            self.bytes.iter().take(n).copied().collect(),
            self.pieces.iter().cloned().collect(),
        );
        // The pieces beyond n go back (or stay, for a peek).
        let rest = all.split_off(n);
        if !peek {
            self.bytes.drain(..n);
            self.pieces = rest.pieces.into();
            if self.bytes.is_empty() {
                self.from = None;
            }
        }
        all
    }

    /// Takes everything.
    pub fn take_all(&mut self) -> Attributed {
        self.take(usize::MAX, false)
    }

    /// Puts bytes back in front of what is held (what a receive gathered
    /// and did not return).
    pub fn put_front(&mut self, mut a: Attributed, from: Option<SockAddr>) {
        if a.is_empty() {
            return;
        }
        let old = Attributed::new(
            self.bytes.drain(..).collect(),
            self.pieces.drain(..).collect(),
        );
        a.append(old);
        self.bytes = a.bytes.into();
        self.pieces = a.pieces.into();
        if let Some(from) = from {
            self.from = Some(Box::new(from));
        }
    }

    /// Drops everything (the socket closed); returns how many bytes.
    pub fn clear(&mut self) -> usize {
        let n = self.bytes.len();
        self.bytes.clear();
        self.pieces.clear();
        self.from = None;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_held_is_small_as_every_socket_has_one() {
        // Two deques and a pointer: the sender's address is boxed, not
        // 128 bytes inline in every socket's table entry.
        assert!(
            std::mem::size_of::<Held>() <= 72,
            "{}",
            std::mem::size_of::<Held>()
        );
        let mut h = Held::default();
        let from = SockAddr::from("127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap());
        h.put_front(Attributed::new(b"ab".to_vec(), vec![]), Some(from.clone()));
        assert_eq!(h.from().and_then(|a| a.as_socket()), from.as_socket());
        h.take(2, false);
        assert!(h.from().is_none());
    }

    fn piece(send_no: u64, len: usize, send_len: usize, offset: usize) -> Piece {
        Piece {
            send_no,
            len,
            send_len,
            offset,
        }
    }

    #[test]
    fn split_cuts_the_piece_that_straddles() {
        let mut a = Attributed::new(
            b"hello world".to_vec(),
            vec![piece(1, 5, 5, 0), piece(2, 6, 6, 0)],
        );
        let rest = a.split_off(7);
        assert_eq!(a.bytes, b"hello w");
        assert_eq!(a.pieces, vec![piece(1, 5, 5, 0), piece(2, 2, 6, 0)]);
        assert_eq!(rest.bytes, b"orld");
        assert_eq!(rest.pieces, vec![piece(2, 4, 6, 2)]);
    }

    #[test]
    fn take_and_put_back_keep_order_and_provenance() {
        let mut h = Held::default();
        h.put_front(
            Attributed::new(b"world".to_vec(), vec![piece(2, 5, 5, 0)]),
            None,
        );
        h.put_front(
            Attributed::new(b"hi ".to_vec(), vec![piece(1, 3, 3, 0)]),
            None,
        );
        assert_eq!(h.len(), 8);
        let peeked = h.take(4, true);
        assert_eq!(peeked.bytes, b"hi w");
        assert_eq!(h.len(), 8);
        let got = h.take(4, false);
        assert_eq!(got.bytes, b"hi w");
        assert_eq!(got.pieces, vec![piece(1, 3, 3, 0), piece(2, 1, 5, 0)]);
        let rest = h.take_all();
        assert_eq!(rest.bytes, b"orld");
        assert_eq!(rest.pieces, vec![piece(2, 4, 5, 1)]);
        assert!(h.is_empty());
    }

    #[test]
    fn bytes_without_a_send_stop_the_attribution() {
        let mut a = Attributed::new(b"ab".to_vec(), Vec::new());
        a.append(Attributed::new(b"cd".to_vec(), vec![piece(1, 2, 2, 0)]));
        assert!(a.pieces.is_empty());
    }
}
