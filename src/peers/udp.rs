//! The UDP peers' thread (`serve echo udp`, `daytime`, `discard`): one
//! `poll()` loop over a datagram socket and the wake-up socket. Each
//! datagram is handled whole and logged under its sender; nothing waits for
//! a slow sender, and a datagram that would make two echo peers answer each
//! other forever is dropped. Apart from the stream peers' loop
//! (`server.rs`) because there are no connections: no clients, no accepts,
//! nothing queued.

use super::Shared;
use super::log::What;
use super::server::{TICK_MS, as_uninit, daytime, describe, drain_wake, pollfd};
use crate::syntax::ast::PeerKind;
use socket2::Socket;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Senders a UDP peer tells apart (numbered as its clients are); the
/// datagrams of later ones are answered, and logged as sender 0.
pub const MAX_SENDERS: usize = 1024;
/// Datagrams a UDP peer takes per pass, at most, so that a flood does not
/// keep it from answering the shell.
pub(super) const DATAGRAMS_PER_PASS: usize = 64;

/// Runs a UDP peer until the shell asks it to stop. Each datagram is logged
/// under its sender; echo sends it back to that sender, daytime answers it
/// with the date and time (RFC 867), discard drops it. A datagram is
/// handled whole (up to 64 KiB, the most UDP carries), and nothing waits
/// for a slow sender: an answer the kernel cannot take now is dropped, as
/// UDP may drop any datagram. Returns 0: there are no connections to close.
pub(super) fn run_udp(
    sock: &Socket,
    wake: &UnixStream,
    kind: PeerKind,
    siblings: &super::Siblings,
    shared: &Shared,
) -> usize {
    let mut senders: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut told_full = false;
    // Senders told why they get no answer (once each).
    let mut told_unanswered: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut answered = 0;
    loop {
        drain_wake(wake);
        let pass = shared.sync_req.load(Ordering::SeqCst);
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let mut fds = [
            pollfd(wake.as_raw_fd(), libc::POLLIN),
            pollfd(sock.as_raw_fd(), libc::POLLIN),
        ];
        let timeout = if pass > answered { 0 } else { TICK_MS };
        // SAFETY: `fds` is a valid array of fds.len() pollfd structures.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if rc < 0 {
            if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                std::thread::sleep(Duration::from_millis(u64::from(TICK_MS.unsigned_abs())));
            }
            continue;
        }
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if fds[1].revents == 0 {
            // A quiet pass answers the shell's request (see `run`).
            shared.done(pass);
            answered = pass;
            continue;
        }
        for _ in 0..DATAGRAMS_PER_PASS {
            let (n, from) = match sock.recv_from(as_uninit(&mut buf)) {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ECONNREFUSED: an earlier answer met a closed port
                    // (ICMP); the error is the socket's, not a datagram's.
                    shared.note(None, What::Note(format!("recvfrom: {}", describe(&e))));
                    continue;
                }
            };
            let n = n.min(buf.len());
            let key = if from.as_socket().is_some() || from.as_pathname().is_some() {
                crate::value::addr_short(&from)
            } else {
                "a UNIX socket without a name".into()
            };
            let id = match senders.get(&key) {
                Some(id) => *id,
                None if senders.len() < MAX_SENDERS => {
                    let id = senders.len() as u64 + 1;
                    senders.insert(key.clone(), id);
                    shared.served.fetch_add(1, Ordering::SeqCst);
                    shared.note(Some(id), What::Sender(key));
                    id
                }
                None => {
                    if !told_full {
                        told_full = true;
                        shared.note(
                            None,
                            What::Note(format!(
                                "more than {MAX_SENDERS} senders: the datagrams of new ones are logged as sender 0"
                            )),
                        );
                    }
                    0
                }
            };
            shared.bytes_in.fetch_add(n as u64, Ordering::SeqCst);
            shared.data(id, &buf[..n]);
            let answer: Option<Vec<u8>> = match kind {
                PeerKind::Echo => Some(buf[..n].to_vec()),
                PeerKind::Daytime => Some(daytime().into_bytes()),
                PeerKind::Discard | PeerKind::Chat | PeerKind::Http => None,
            };
            let Some(answer) = answer else { continue };
            if from.as_socket().is_none() && from.as_pathname().is_none() {
                shared.note(
                    Some(id),
                    What::Note(
                        "no answer: an unnamed UNIX socket cannot be answered (bind it to a path)"
                            .into(),
                    ),
                );
                continue;
            }
            if let Some(why) = loop_risk(&from, siblings) {
                if told_unanswered.insert(id) {
                    shared.note(Some(id), What::Note(format!("not answered: {why}")));
                }
                continue;
            }
            match sock.send_to(&answer, &from) {
                Ok(m) => {
                    shared.bytes_out.fetch_add(m as u64, Ordering::SeqCst);
                }
                Err(e) => shared.note(
                    Some(id),
                    What::Note(format!("the answer was dropped: {}", describe(&e))),
                ),
            }
        }
    }
    0
}

/// Source ports of the services that answer every datagram (echo,
/// discard, daytime, qotd, chargen, time) and port 0, which nothing sends
/// from: an answer to one of them could start a loop (as inetd refuses).
pub(super) const LOOP_PORTS: [u16; 7] = [0, 7, 9, 13, 17, 19, 37];

/// Why a datagram from `from` must not be answered: it comes (or seems to
/// come: a source address can be forged) from a peer of this shell, this
/// one included, or from a port of a service that answers every datagram.
pub(super) fn loop_risk(from: &socket2::SockAddr, siblings: &super::Siblings) -> Option<String> {
    if let Some(sa) = from.as_socket()
        && LOOP_PORTS.contains(&sa.port())
    {
        return Some(format!(
            "it came from port {}, a service that answers every datagram (or no port at all): answering could start a loop",
            sa.port()
        ));
    }
    let list = siblings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (n, _) = list.iter().find(|(_, a)| same_endpoint(from, a))?;
    Some(format!(
        "it came from peer {n} of this shell (or seemed to): two peers answering each other would never stop"
    ))
}

/// `from` is the address `peer` listens on (a peer on 0.0.0.0 or :: is on
/// every address of its port).
pub(super) fn same_endpoint(from: &socket2::SockAddr, peer: &socket2::SockAddr) -> bool {
    match (from.as_socket(), peer.as_socket()) {
        (Some(f), Some(p)) => {
            let canon = |ip: std::net::IpAddr| ip.to_canonical();
            f.port() == p.port() && (p.ip().is_unspecified() || canon(f.ip()) == canon(p.ip()))
        }
        (None, None) => match (from.as_pathname(), peer.as_pathname()) {
            (Some(f), Some(p)) => f == p,
            _ => match (from.as_abstract_namespace(), peer.as_abstract_namespace()) {
                (Some(f), Some(p)) => f == p,
                _ => false,
            },
        },
        _ => false,
    }
}
