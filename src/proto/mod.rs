//! Debugging a protocol by hand, as one would with nc, socat or pwntools.
//!
//! In: the shell's sockets (through the executor's detached [`Ctx`]), and
//! the statements `recvuntil`, `recvline`, `recvn`, `recvall`, `log`.
//! Out: the same [`Item`]s every call reports; the bytes read past what a
//! receive returned, held per socket for the next receive ([`held`]); and
//! the traffic log, a file with every byte sent and received ([`log`]).
//!
//! [`Ctx`]: crate::exec::io::Ctx
//! [`Item`]: crate::exec::Item

pub mod held;
pub mod interactive;
pub mod log;
pub mod until;
