//! What a peer received, kept in bounded memory.
//!
//! Every chunk a peer reads from a client is one entry (so `peers log`
//! shows the recv boundaries a server would see: two sends may arrive as
//! one chunk), together with connections, closes and notes. Chunks are
//! kept within [`LOG_BUDGET`] bytes and events up to [`MAX_EVENTS`], each
//! dropping its oldest first, so that a flood of data does not push out
//! the connections and closes around it. Bytes are stored raw and escaped
//! only when shown.

use std::collections::VecDeque;

/// At most this many bytes of chunks per peer (the newest are kept).
pub const LOG_BUDGET: usize = 64 * 1024;
/// At most this many bytes of one chunk are kept (the rest is counted).
pub const CHUNK_KEEP: usize = 512;
/// At most this many connections, closes and notes per peer.
pub const MAX_EVENTS: usize = 1000;
/// What a chunk costs besides its bytes (so a flood of tiny chunks is
/// bounded too).
const CHUNK_COST: usize = 64;

/// One thing that happened at a peer.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The client it concerns (numbered from 1 in each peer), if any.
    pub client: Option<u64>,
    pub what: What,
}

#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// A client connected from this address.
    Connected(String),
    /// A UDP peer's first datagram from this address: a new sender.
    Sender(String),
    /// One read: the first bytes kept, and how many were read in all.
    Data { bytes: Vec<u8>, total: usize },
    /// The connection ended, and why.
    Closed(String),
    /// Something the peer did or decided (text from the network inside is
    /// escaped by the renderer).
    Note(String),
}

fn chunk_cost(e: &LogEntry) -> Option<usize> {
    match &e.what {
        What::Data { bytes, .. } => Some(CHUNK_COST + bytes.len()),
        _ => None,
    }
}

/// The bounded log of one peer.
#[derive(Debug, Default)]
pub struct Log {
    entries: VecDeque<LogEntry>,
    /// What the chunks kept cost, and how many events are kept.
    chunk_cost: usize,
    events: usize,
    /// Chunks (and the bytes they held) and events dropped to stay
    /// within the bounds.
    pub dropped_chunks: u64,
    pub dropped_bytes: u64,
    pub dropped_events: u64,
}

impl Log {
    pub fn push(&mut self, client: Option<u64>, what: What) {
        let e = LogEntry { client, what };
        match chunk_cost(&e) {
            Some(c) => self.chunk_cost += c,
            None => self.events += 1,
        }
        self.entries.push_back(e);
        while self.chunk_cost > LOG_BUDGET {
            let Some(k) = self.entries.iter().position(|e| chunk_cost(e).is_some()) else {
                break;
            };
            let Some(old) = self.entries.remove(k) else {
                break;
            };
            if let What::Data { total, .. } = &old.what {
                self.dropped_bytes += *total as u64;
            }
            self.chunk_cost = self
                .chunk_cost
                .saturating_sub(chunk_cost(&old).unwrap_or(0));
            self.dropped_chunks += 1;
        }
        while self.events > MAX_EVENTS {
            let Some(k) = self.entries.iter().position(|e| chunk_cost(e).is_none()) else {
                break;
            };
            self.entries.remove(k);
            self.events -= 1;
            self.dropped_events += 1;
        }
    }

    /// A chunk read from a client.
    pub fn data(&mut self, client: u64, chunk: &[u8]) {
        let keep = chunk.len().min(CHUNK_KEEP);
        self.push(
            Some(client),
            What::Data {
                bytes: chunk[..keep].to_vec(),
                total: chunk.len(),
            },
        );
    }

    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_stays_within_its_budget() {
        let mut log = Log::default();
        log.push(Some(1), What::Connected("127.0.0.1:5000".into()));
        let chunk = vec![b'x'; 64 * 1024];
        for k in 0..1000 {
            log.data(k % 3, &chunk);
        }
        let kept = log.entries();
        let bytes: usize = kept
            .iter()
            .map(|e| match &e.what {
                What::Data { bytes, total } => {
                    assert_eq!(*total, 64 * 1024);
                    bytes.len()
                }
                _ => 0,
            })
            .sum();
        assert!(bytes <= LOG_BUDGET, "{bytes}");
        assert_eq!(log.dropped_chunks + kept.len() as u64 - 1, 1000);
        // The flood did not push out the connection.
        assert_eq!(kept[0].what, What::Connected("127.0.0.1:5000".into()));
        // Tiny chunks are bounded too, and so are events.
        for _ in 0..100_000 {
            log.data(1, b"");
            log.push(None, What::Note("n".into()));
        }
        let kept = log.entries();
        assert!(kept.len() <= LOG_BUDGET / CHUNK_COST + MAX_EVENTS);
        assert_eq!(log.dropped_events, 100_001 - MAX_EVENTS as u64);
    }
}
