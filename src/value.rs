//! Values the shell computes and binds to names, shown the way Python shows
//! them (`b'hi\r\n'`, `('127.0.0.1', 9900)`, `None`), so a learner can
//! compare with the course's programs line by line.

use crate::errors::ExecError;
use crate::syntax::ast::{Family, SockKind};
use socket2::SockAddr;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

/// The most bytes (or bytes of text) one value may hold, however it is
/// built: a literal repeated (`*`), joined (`+`), received, zeros made
/// real. Checked before the memory is taken, so a typo like
/// `"x" * 10**12` or `a = a + a` in a loop of lines fails at once.
pub const MAX_DATA: usize = 256 << 20;

/// MemoryError for a value over [`MAX_DATA`]; `what` says what, with its
/// verb (`268435456 x 2 bytes is`, `300 zero bytes are`).
pub fn too_large(what: &str) -> ExecError {
    ExecError::new(
        "MemoryError",
        format!("{what} more than this shell builds at once (256 MiB)"),
    )
}

/// MemoryError when the machine (or `ulimit -v`) has no room left.
pub fn no_room(n: usize) -> ExecError {
    ExecError::new(
        "MemoryError",
        format!(
            "cannot allocate {} for this value: the machine (or ulimit -v) has no room left",
            human_size(n as u64)
        ),
    )
    .hint("values bound to names keep their memory: rebind or drop some (x = None)")
}

/// The most bytes all values alive at once may hold together (1 GiB: three
/// of the largest and more besides): a lesson of a hundred lines `aN = b"x" * 268435456`, each
/// value within [`MAX_DATA`], would otherwise take 25 GiB and end in the
/// OOM killer, where no allocation ever fails to say MemoryError.
pub const MAX_HELD: usize = 4 * MAX_DATA;

/// Bytes held by every [`Bytes`] and [`Text`] alive (by their length).
static HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What the values alive hold together, in bytes.
pub fn held() -> usize {
    HELD.load(std::sync::atomic::Ordering::Relaxed)
}

/// MemoryError unless `n` more bytes for a value fit beside what the
/// values alive hold (see [`MAX_HELD`]).
pub fn room_for(n: usize) -> Result<(), ExecError> {
    let now = held();
    if now.saturating_add(n) <= MAX_HELD {
        return Ok(());
    }
    Err(ExecError::new(
        "MemoryError",
        format!(
            "{} more for a value, beside the {} that the values alive hold, is more than this shell keeps at once (1 GiB)",
            human_size(n as u64),
            human_size(now as u64)
        ),
    )
    .hint("values bound to names keep their memory: rebind or drop some (x = None); `vars` lists them"))
}

/// Counts bytes into [`HELD`] while a value holds them.
fn hold(n: usize) {
    HELD.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

fn release(n: usize) {
    HELD.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
}

/// An empty buffer with room for `n` bytes, or MemoryError: over
/// [`MAX_DATA`], beyond what all values may hold together ([`MAX_HELD`]),
/// or when the allocation fails (never an abort).
pub fn buffer(n: usize) -> Result<Vec<u8>, ExecError> {
    if n > MAX_DATA {
        return Err(too_large(&format!("{n} bytes are")));
    }
    room_for(n)?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| no_room(n))?;
    Ok(v)
}

/// Bytes held by a value. Shared: the name bound to them, the item that
/// shows them, a send that sends them and a job that returns them all hold
/// the same bytes (a clone is a counted reference, never a copy).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(Arc<Counted<Vec<u8>>>);

/// A value's memory, counted in [`HELD`] from its making to its drop.
#[derive(Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counted<T: AsRef<[u8]> + Default>(T);

impl<T: AsRef<[u8]> + Default> Counted<T> {
    fn new(v: T) -> Self {
        hold(v.as_ref().len());
        Counted(v)
    }

    /// The memory, no longer counted.
    fn take(mut self) -> T {
        release(self.0.as_ref().len());
        std::mem::take(&mut self.0)
    }
}

impl<T: AsRef<[u8]> + Default> Drop for Counted<T> {
    fn drop(&mut self) {
        release(self.0.as_ref().len());
    }
}

impl Bytes {
    /// The bytes as a Vec of their own: taken when this is the only
    /// holder, else copied (MemoryError when there is no room).
    pub fn into_vec(self) -> Result<Vec<u8>, ExecError> {
        match Arc::try_unwrap(self.0) {
            Ok(v) => Ok(v.take()),
            Err(shared) => {
                let mut v = buffer(shared.0.len())?;
                v.extend_from_slice(&shared.0);
                Ok(v)
            }
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(Arc::new(Counted::new(v)))
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Bytes {
        Bytes(Arc::new(Counted::new(v.to_vec())))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

/// The text of a str value, shared as [`Bytes`] are.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<Counted<String>>);

impl Text {
    /// The text as a String of its own (see [`Bytes::into_vec`]).
    pub fn into_string(self) -> Result<String, ExecError> {
        match Arc::try_unwrap(self.0) {
            Ok(s) => Ok(s.take()),
            Err(shared) => {
                room_for(shared.0.len())?;
                let mut s = String::new();
                s.try_reserve_exact(shared.0.len())
                    .map_err(|_| no_room(shared.0.len()))?;
                s.push_str(&shared.0);
                Ok(s)
            }
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Arc::new(Counted::new(s)))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::new(Counted::new(s.to_string())))
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() > 64 {
            write!(f, "Text({} bytes)", self.len())
        } else {
            fmt::Debug::fmt(self.0.0.as_str(), f)
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.0)
    }
}

/// An epoll instance held by a name: its descriptor, and which of the
/// session's instances it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EpollRef {
    pub fd: i32,
    pub id: u64,
}

/// A socket held by a name. The serial tells apart two sockets that got the
/// same descriptor number one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SockHandle {
    pub fd: i32,
    pub serial: u64,
}

#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Bytes(Bytes),
    Addr(SockAddr),
    Socket(SockHandle),
    Family(Family),
    Kind(SockKind),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A constant shown as Python shows it (`<SocketKind.SOCK_RAW: 3>`).
    Named(String),
    /// `zeros 1G`: that many zero bytes, generated as they are sent.
    Zeros(u64),
    /// `ep = epoll`: an epoll instance (Python's select.epoll).
    Epoll(EpollRef),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Addr(a), Addr(b)) => a.family() == b.family() && addr_repr(a) == addr_repr(b),
            (Socket(a), Socket(b)) => a == b,
            (Family(a), Family(b)) => a == b,
            (Kind(a), Kind(b)) => a == b,
            (Tuple(a), Tuple(b)) | (List(a), List(b)) => a == b,
            (Named(a), Named(b)) => a == b,
            (Zeros(a), Zeros(b)) => a == b,
            (Epoll(a), Epoll(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Python's name for the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Addr(_) => "address",
            Value::Socket(_) => "socket",
            Value::Family(_) => "AddressFamily",
            Value::Kind(_) => "SocketKind",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Named(_) => "constant",
            Value::Zeros(_) => "bytes",
            Value::Epoll(_) => "select.epoll",
        }
    }

    /// Python's `repr()`. Sockets are shown by the renderer, which knows
    /// the table; here they are `<socket fd=N>`. Unbounded: for a value
    /// that may be large, [`Value::repr_cut`].
    pub fn repr(&self) -> String {
        let mut s = String::new();
        let _ = self.write_repr(&mut s);
        s
    }

    /// The repr, at most `limit` bytes of it; true when it was cut.
    pub fn repr_cut(&self, limit: usize) -> (String, bool) {
        let mut c = Capped::new(limit);
        let _ = self.write_repr(&mut c);
        (c.text, c.cut)
    }

    /// Writes the repr (stopping at the writer's first error).
    pub fn write_repr(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Value::None => out.write_str("None"),
            Value::Bool(true) => out.write_str("True"),
            Value::Bool(false) => out.write_str("False"),
            Value::Int(n) => write!(out, "{n}"),
            Value::Float(f) => out.write_str(&float_repr(*f)),
            Value::Str(s) => write_str_repr(out, s),
            Value::Bytes(b) => write_bytes_repr(out, b),
            Value::Addr(a) => out.write_str(&addr_repr(a)),
            Value::Socket(h) => write!(out, "<socket fd={}>", h.fd),
            Value::Family(f) => write!(out, "<AddressFamily.{f}: {}>", family_number(*f)),
            Value::Kind(k) => write!(out, "<SocketKind.{k}: {}>", kind_number(*k)),
            Value::Tuple(items) => {
                out.write_char('(')?;
                for (k, v) in items.iter().enumerate() {
                    if k > 0 {
                        out.write_str(", ")?;
                    }
                    v.write_repr(out)?;
                }
                if items.len() == 1 {
                    out.write_char(',')?;
                }
                out.write_char(')')
            }
            Value::List(items) => {
                out.write_char('[')?;
                for (k, v) in items.iter().enumerate() {
                    if k > 0 {
                        out.write_str(", ")?;
                    }
                    v.write_repr(out)?;
                }
                out.write_char(']')
            }
            Value::Named(s) => out.write_str(&escape_controls(s)),
            Value::Zeros(n) if *n < 1024 => write!(out, "<{n} zero bytes, made as they are sent>"),
            Value::Zeros(n) => write!(
                out,
                "<{n} zero bytes ({}), made as they are sent>",
                human_size(*n)
            ),
            Value::Epoll(r) => write!(out, "<select.epoll fd={}>", r.fd),
        }
    }

    /// Python's `str()`: like repr, but a str is shown bare (its control
    /// characters still escaped: this goes to a terminal). Unbounded: for
    /// a value that may be large, [`Value::write_display`] into a
    /// [`Capped`].
    pub fn display(&self) -> String {
        let mut s = String::new();
        let _ = self.write_display(&mut s);
        s
    }

    pub fn write_display(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Value::Str(s) => write_escaped(out, s, false),
            other => other.write_repr(out),
        }
    }

    /// The bytes or text the value holds, when it is large enough to
    /// count against memory (a str or bytes); 0 otherwise.
    pub fn data_len(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Tuple(items) | Value::List(items) => items.iter().map(Value::data_len).sum(),
            _ => 0,
        }
    }
}

/// Text written up to a limit, and never past the memory there is: a
/// write that would go over the limit (or find no room) writes what fits
/// and fails from then on, and `cut` says so. For text made from values
/// that may be large (a repr of 256 MiB of bytes is up to 1 GiB).
pub struct Capped {
    pub text: String,
    limit: usize,
    /// It stopped short: the limit, or no memory.
    pub cut: bool,
}

impl Capped {
    pub fn new(limit: usize) -> Capped {
        Capped {
            text: String::new(),
            limit,
            cut: false,
        }
    }
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        let room = self.limit.saturating_sub(self.text.len());
        let take = if s.len() <= room {
            s.len()
        } else {
            (0..=room)
                .rev()
                .find(|&k| s.is_char_boundary(k))
                .unwrap_or(0)
        };
        if self.text.try_reserve(take).is_err() {
            self.cut = true;
            return Err(fmt::Error);
        }
        self.text.push_str(&s[..take]);
        if take < s.len() {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// A byte count in binary units, for people: `512 bytes`, `64.0 KiB`,
/// `1.5 GiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in UNITS {
        if n >= 1 << shift {
            return format!("{:.1} {unit}", n as f64 / (1u64 << shift) as f64);
        }
    }
    plural(n, "byte", "bytes")
}

/// A count with its noun, singular for one only: `1 frame`, `2 frames`,
/// `0 frames` (the words differ too much for a suffix: `byte was`/`bytes
/// were`).
pub fn plural(n: impl fmt::Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1 byte`, `2 bytes`.
pub fn bytes_count(n: usize) -> String {
    plural(n, "byte", "bytes")
}

/// "an int", "a str": the type with its article.
pub fn a_type(v: &Value) -> String {
    let t = v.type_name();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

pub fn family_number(f: Family) -> i32 {
    match f {
        Family::Inet => libc::AF_INET,
        Family::Inet6 => libc::AF_INET6,
        Family::Unix => libc::AF_UNIX,
    }
}

pub fn kind_number(k: SockKind) -> i32 {
    match k {
        SockKind::Stream => libc::SOCK_STREAM,
        SockKind::Dgram => libc::SOCK_DGRAM,
        SockKind::SeqPacket => libc::SOCK_SEQPACKET,
        SockKind::Raw => libc::SOCK_RAW,
    }
}

fn float_repr(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Python's repr of bytes: printable ASCII as is, `\t \n \r` named, the
/// quote and backslash escaped, everything else `\xNN`. Never a raw control
/// byte, so a peer cannot drive the terminal.
pub fn bytes_repr(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().min(1 << 20) + 3);
    let _ = write_bytes_repr(&mut out, b);
    out
}

/// [`bytes_repr`] of at most `max` bytes of `b`, then `...` when cut: for
/// messages that quote data a peer or a script chose.
pub fn bytes_repr_cut(b: &[u8], max: usize) -> String {
    if b.len() <= max {
        return bytes_repr(b);
    }
    format!("{}...", bytes_repr(&b[..max]))
}

/// The longest run of plain characters written at once by the writers
/// below.
const RUN: usize = 4096;

/// [`bytes_repr`] into a writer, runs of plain characters at once.
pub fn write_bytes_repr(out: &mut dyn fmt::Write, b: &[u8]) -> fmt::Result {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.write_char('b')?;
    out.write_char(quote as char)?;
    let mut run = 0;
    for (k, &c) in b.iter().enumerate() {
        let plain = (0x20..=0x7e).contains(&c) && c != b'\\' && c != quote;
        if plain {
            // Long runs go out in pieces, so a writer that is full (a
            // Capped) stops the walk early.
            if k - run >= RUN {
                out.write_str(std::str::from_utf8(&b[run..k]).unwrap_or(""))?;
                run = k;
            }
            continue;
        }
        if run < k {
            // Printable ASCII: always valid UTF-8.
            out.write_str(std::str::from_utf8(&b[run..k]).unwrap_or(""))?;
        }
        run = k + 1;
        match c {
            b'\\' => out.write_str("\\\\")?,
            b'\t' => out.write_str("\\t")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            c if c == quote => {
                out.write_char('\\')?;
                out.write_char(quote as char)?;
            }
            c => write!(out, "\\x{c:02x}")?,
        }
    }
    if run < b.len() {
        out.write_str(std::str::from_utf8(&b[run..]).unwrap_or(""))?;
    }
    out.write_char(quote as char)
}

/// Python's repr of a path it decoded with surrogateescape: valid UTF-8 as
/// characters, every other byte as `\udcXX` (what Python shows for a UNIX
/// socket bound to a name that is not UTF-8).
pub fn path_repr(b: &[u8]) -> String {
    let valid: String = b.utf8_chunks().map(|c| c.valid()).collect();
    let quote = quote_for(&valid);
    let mut out = String::with_capacity(b.len() + 2);
    out.push(quote);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            let _ = write_str_char(&mut out, c, quote);
        }
        for &x in chunk.invalid() {
            let _ = write!(out, "\\udc{x:02x}");
        }
    }
    out.push(quote);
    out
}

/// The quote Python's repr picks: single, unless the text has a single
/// quote and no double one.
fn quote_for(s: &str) -> char {
    if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    }
}

/// One character of a str repr.
fn write_str_char(out: &mut dyn fmt::Write, c: char, quote: char) -> fmt::Result {
    match c {
        '\\' => out.write_str("\\\\"),
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        c if c == quote => {
            out.write_char('\\')?;
            out.write_char(quote)
        }
        c if is_unsafe_char(c) => write_char_escape(out, c),
        c => out.write_char(c),
    }
}

/// Python's repr of a str.
pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(1 << 20) + 2);
    let _ = write_str_repr(&mut out, s);
    out
}

/// [`str_repr`] into a writer, runs of plain characters at once.
pub fn write_str_repr(out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
    let quote = quote_for(s);
    out.write_char(quote)?;
    let mut run = 0;
    for (k, c) in s.char_indices() {
        if !(matches!(c, '\\' | '\t' | '\n' | '\r') || c == quote || is_unsafe_char(c)) {
            if k - run >= RUN {
                out.write_str(&s[run..k])?;
                run = k;
            }
            continue;
        }
        out.write_str(&s[run..k])?;
        run = k + c.len_utf8();
        write_str_char(out, c, quote)?;
    }
    out.write_str(&s[run..])?;
    out.write_char(quote)
}

/// Characters a terminal would act on rather than show: C0 and C1 controls,
/// DEL, and the bidirectional overrides that can reorder what is seen.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn write_char_escape(out: &mut dyn fmt::Write, c: char) -> fmt::Result {
    let n = c as u32;
    if n < 0x100 {
        write!(out, "\\x{n:02x}")
    } else {
        write!(out, "\\u{n:04x}")
    }
}

/// Text made safe inside HTML or XML (the http peer's pages, the SVG
/// diagram): the five markup characters as entities, and a control
/// character (none is allowed in XML 1.0 but tab and line ends, and none
/// belongs in a name) as U+FFFD.
pub fn markup_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn push_char_escape(out: &mut String, c: char) {
    let _ = write_char_escape(out, c);
}

/// Text with every control character escaped (tabs and newlines
/// included): the one function that makes text from outside (a path, a
/// host name, a lesson's line, a peer's words) safe for the terminal.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let _ = write_escaped(&mut out, s, false);
    out
}

/// [`escape_controls`] into a writer; `keep_newlines` leaves `\n` as a line
/// break (text shown on several lines).
pub fn write_escaped(out: &mut dyn fmt::Write, s: &str, keep_newlines: bool) -> fmt::Result {
    let mut run = 0;
    for (k, c) in s.char_indices() {
        if !is_unsafe_char(c) || (keep_newlines && c == '\n') {
            if k - run >= RUN {
                out.write_str(&s[run..k])?;
                run = k;
            }
            continue;
        }
        out.write_str(&s[run..k])?;
        run = k + c.len_utf8();
        match c {
            '\t' => out.write_str("\\t")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            c => write_char_escape(out, c)?,
        }
    }
    out.write_str(&s[run..])
}

/// Received bytes decoded as text for the `text` view: valid UTF-8 shown as
/// characters, invalid bytes and controls as escapes; newlines kept as line
/// breaks so a page of HTTP reads naturally.
pub fn bytes_as_text(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push('\n'),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if is_unsafe_char(c) => push_char_escape(&mut out, c),
                c => out.push(c),
            }
        }
        for &x in chunk.invalid() {
            let _ = write!(out, "\\x{x:02x}");
        }
    }
    out
}

/// A path, an address or a name that came from outside, as text for the
/// terminal: valid UTF-8 as characters; control characters (newlines too),
/// bidi overrides and bytes that are not UTF-8 as escapes
/// (`./a\x1b[31m\xff.sock`). Every path shown goes through here.
pub fn path_text(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(&escape_controls(chunk.valid()));
        for &x in chunk.invalid() {
            let _ = write!(out, "\\x{x:02x}");
        }
    }
    out
}

/// A hexdump: offset, 16 bytes in hex, and printable ASCII.
pub fn hexdump(b: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in b.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", row * 16);
        for k in 0..16 {
            match chunk.get(k) {
                Some(x) => {
                    let _ = write!(out, "{x:02x} ");
                }
                None => out.push_str("   "),
            }
            if k == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        for &x in chunk {
            out.push(if (0x20..0x7f).contains(&x) {
                x as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// An address as Python returns it: `('127.0.0.1', 9900)` for IPv4,
/// `('::1', 9900, 0, 0)` for IPv6, the path string for a UNIX socket, and
/// `b'\x00name'` for an abstract one.
pub fn addr_repr(a: &SockAddr) -> String {
    match a.as_socket() {
        Some(SocketAddr::V4(v4)) => format!("('{}', {})", v4.ip(), v4.port()),
        Some(SocketAddr::V6(v6)) => format!(
            "('{}', {}, {}, {})",
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id()
        ),
        None => {
            if let Some(p) = a.as_pathname() {
                path_repr(p.as_os_str().as_encoded_bytes())
            } else if let Some(name) = a.as_abstract_namespace() {
                let mut b = vec![0u8];
                b.extend_from_slice(name);
                bytes_repr(&b)
            } else {
                "''".into()
            }
        }
    }
}

/// An address the short way, for tables: `127.0.0.1:9900`, `[::1]:9900`,
/// `./app.sock`, `@name`, `-`.
pub fn addr_short(a: &SockAddr) -> String {
    match a.as_socket() {
        Some(s) => s.to_string(),
        None => {
            if let Some(p) = a.as_pathname() {
                path_text(p.as_os_str().as_encoded_bytes())
            } else if let Some(name) = a.as_abstract_namespace() {
                format!("@{}", path_text(name))
            } else {
                "-".into()
            }
        }
    }
}

/// Python's words for bytes that are not UTF-8 (`bytes.decode()`):
/// `'utf-8' codec can't decode byte 0xff in position 2: invalid start byte`,
/// or for a sequence of several bytes `can't decode bytes in position
/// 3-4: unexpected end of data`, as CPython's decoder says them.
pub fn utf8_error_text(bytes: &[u8], e: std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or(0);
    let (len, why) = match e.error_len() {
        None => (bytes.len().saturating_sub(at), "unexpected end of data"),
        Some(n)
            if n == 1
                && ((0x80..0xc0).contains(&byte)
                    || byte >= 0xf5
                    || byte == 0xc0
                    || byte == 0xc1) =>
        {
            (1, "invalid start byte")
        }
        Some(n) => (n, "invalid continuation byte"),
    };
    if len <= 1 {
        format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: {why}")
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {at}-{}: {why}",
            at + len - 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"hello\r\n"), r"b'hello\r\n'");
        assert_eq!(bytes_repr(&[0xc0, 0xa8, 1, 2]), r"b'\xc0\xa8\x01\x02'");
        assert_eq!(bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(bytes_repr(b"\x1b[31m"), r"b'\x1b[31m'");
        assert_eq!(bytes_repr(b""), "b''");
    }

    #[test]
    fn str_repr_escapes_controls() {
        assert_eq!(str_repr("a\x1bb"), r"'a\x1bb'");
        assert_eq!(str_repr("你好"), "'你好'");
        assert_eq!(escape_controls("x\u{9b}y"), r"x\x9by");
        assert_eq!(escape_controls("\u{202e}evil"), r"\u202eevil");
    }

    #[test]
    fn paths_repr_like_python_surrogateescape() {
        assert_eq!(path_repr(b"./a.sock"), "'./a.sock'");
        assert_eq!(
            path_repr(b"./c\x1b[31m\xff\x07"),
            r"'./c\x1b[31m\udcff\x07'"
        );
        assert_eq!(path_repr("./套接字".as_bytes()), "'./套接字'");
    }

    #[test]
    fn values_repr_like_python() {
        let a = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9900));
        assert_eq!(Value::Addr(a).repr(), "('127.0.0.1', 9900)");
        assert_eq!(Value::Float(2.5).repr(), "2.5");
        assert_eq!(Value::Float(2.0).repr(), "2.0");
        assert_eq!(Value::Tuple(vec![Value::Int(1)]).repr(), "(1,)");
        assert_eq!(
            Value::Family(Family::Inet).repr(),
            "<AddressFamily.AF_INET: 2>"
        );
        assert_eq!(
            Value::Kind(SockKind::Stream).repr(),
            "<SocketKind.SOCK_STREAM: 1>"
        );
    }

    #[test]
    fn text_view_escapes_but_keeps_lines() {
        assert_eq!(
            bytes_as_text(b"GET /\r\nHost: x\r\n"),
            "GET /\\r\nHost: x\\r\n"
        );
        assert_eq!(bytes_as_text(b"\xff\x1b"), r"\xff\x1b");
    }

    #[test]
    fn hexdump_rows() {
        let d = hexdump(b"hello world, hi!xyz");
        assert!(d.starts_with(
            "00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 2c 20 68 69 21  |hello world, hi!|"
        ));
        assert!(d.ends_with("|xyz|"));
    }
}
