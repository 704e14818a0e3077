//! What a peer received, kept in bounded memory.
//!
//! Every chunk a peer reads from a client is one entry (so `peers log`
//! shows the recv boundaries a server would see: two sends may arrive as
//! one chunk), together with connections, closes and notes. The log keeps
//! the newest entries within [`LOG_BUDGET`] bytes and counts what it
//! dropped. Bytes are stored raw and escaped only when shown.

use std::collections::VecDeque;

/// At most this many bytes of log per peer (the newest are kept).
pub const LOG_BUDGET: usize = 64 * 1024;
/// At most this many bytes of one chunk are kept (the rest is counted).
pub const CHUNK_KEEP: usize = 1024;
/// What one entry costs besides its bytes (so a flood of tiny chunks is
/// bounded too).
const ENTRY_COST: usize = 64;

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
    /// One read: the first bytes kept, and how many were read in all.
    Data { bytes: Vec<u8>, total: usize },
    /// The connection ended, and why.
    Closed(String),
    /// Something the peer did or decided (text from the network inside is
    /// escaped by the renderer).
    Note(String),
}

impl LogEntry {
    fn cost(&self) -> usize {
        ENTRY_COST
            + match &self.what {
                What::Data { bytes, .. } => bytes.len(),
                What::Connected(s) | What::Closed(s) | What::Note(s) => s.len(),
            }
    }
}

/// The bounded log of one peer.
#[derive(Debug, Default)]
pub struct Log {
    entries: VecDeque<LogEntry>,
    cost: usize,
    /// Entries dropped to stay within the budget.
    pub dropped: u64,
}

impl Log {
    pub fn push(&mut self, client: Option<u64>, what: What) {
        let e = LogEntry { client, what };
        self.cost += e.cost();
        self.entries.push_back(e);
        while self.cost > LOG_BUDGET {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.cost = self.cost.saturating_sub(old.cost());
            self.dropped += 1;
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
        assert!(!kept.is_empty());
        assert_eq!(log.dropped + kept.len() as u64, 1000);
        // Tiny entries are bounded too.
        for _ in 0..100_000 {
            log.data(1, b"");
        }
        assert!(log.entries().len() <= LOG_BUDGET / ENTRY_COST);
    }
}
