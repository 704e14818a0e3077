//! The `http` peer's answers: the request head in, a response out, as the
//! course's HTTP server does it (request line parsed, `200 OK` or
//! `404 Not Found`, `Content-Type`, a blank line, the body), made safe:
//! `Content-Length` and `Connection: close` on every response, HEAD
//! answered without a body, and no path can leave the served directory
//! (`..` is refused with 403, and so is a symlink that points outside);
//! hidden files and folders (`.ssh`, `.git`) are neither served nor listed.
//!
//! No I/O on sockets here; files are opened non-blocking so a FIFO in the
//! directory cannot stall the peer.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A request head may be at most this long (then 431 and close).
pub const MAX_HEAD: usize = 64 * 1024;
/// A directory listing shows at most this many names.
const MAX_LISTING: usize = 1000;

/// The page served at `/` when no directory is given.
pub const INDEX_PAGE: &str = "<!DOCTYPE html>\n\
<html><head><title>sockplay</title></head>\n\
<body><h1>Hello from sockplay</h1>\n\
<p>This page was sent by the built-in http peer.</p></body></html>\n";

/// What follows the head.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A regular file, sent as the client reads (`left` bytes to go).
    File {
        file: File,
        left: u64,
    },
}

pub struct Response {
    pub head: Vec<u8>,
    pub body: Body,
    /// For the log: `GET /x -> 200 OK (text/plain, 12 bytes)`.
    pub note: String,
}

/// Where the head of a request ends (just after its blank line), if it has
/// ended. Empty lines before the request line are skipped, as RFC 9112
/// asks, and a bare `\n` ends a line too (netcat without -C sends those).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let mut k = start;
    while let Some(off) = buf[k..].iter().position(|&b| b == b'\n') {
        let nl = k + off;
        let next = nl + 1;
        match buf.get(next) {
            Some(b'\n') => return Some(next + 1),
            Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => return Some(next + 2),
            _ => k = next,
        }
    }
    None
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

fn head(code: u16, ctype: &str, len: u64, extra: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {code} {}\r\nServer: sockplay\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: close\r\n",
        reason(code)
    );
    for (k, v) in extra {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

const HTML: &str = "text/html; charset=utf-8";

/// A response with a small HTML body (an error page, a listing).
fn page(
    code: u16,
    body: String,
    head_only: bool,
    extra: &[(&str, String)],
    what: &str,
) -> Response {
    let len = body.len() as u64;
    Response {
        head: head(code, HTML, len, extra),
        body: if head_only {
            Body::Empty
        } else {
            Body::Bytes(body.into_bytes())
        },
        note: format!("{what} -> {code} {} ({len} bytes)", reason(code)),
    }
}

fn error(code: u16, head_only: bool, what: &str, why: &str) -> Response {
    let mut r = page(
        code,
        format!("<h1>{code} {}</h1>\n", reason(code)),
        head_only,
        &[],
        what,
    );
    if !why.is_empty() {
        r.note.push_str(": ");
        r.note.push_str(why);
    }
    r
}

/// The answer to 431: the head did not end within [`MAX_HEAD`] bytes.
pub fn too_large() -> Response {
    error(431, false, "a request head", "longer than 64 KiB")
}

/// The answer 408: the head did not end within the deadline.
pub fn timed_out(deadline: std::time::Duration) -> Response {
    error(
        408,
        false,
        "a request head",
        &format!(
            "not complete {} after the connection",
            crate::wait::human(deadline)
        ),
    )
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => HTML,
        "txt" | "text" | "md" | "py" | "rs" | "c" | "h" | "sp" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// `%XX` decoded; None for a bad escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'%' {
            let hex = s.get(k + 1..k + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            k += 3;
        } else {
            out.push(b[k]);
            k += 1;
        }
    }
    Some(out)
}

/// Bytes safe in a URL path (and so in a header or an href).
fn percent_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// A status to answer and why.
type Refusal = (u16, &'static str);

/// Why a hidden name (`.ssh`, `.git`, `.env`) is neither served nor listed:
/// `serve http .` in a home folder, from a lesson or on every address,
/// would hand out the keys and settings kept there.
const HIDDEN: &str = "a hidden file or folder (its name starts with `.`) is not served";

/// The path of a request target, as segments (no empty ones, no `.`), and
/// whether it ended with `/`. Err is the status to answer.
fn target_segments(target: &str) -> Result<(Vec<Vec<u8>>, bool), Refusal> {
    // absolute-form: http://host/path
    let path = match target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        Some(rest) => rest.find('/').map_or("/", |k| &rest[k..]),
        None => target,
    };
    if !path.starts_with('/') {
        return Err((400, "the target does not start with /"));
    }
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path).ok_or((400, "a bad %-escape in the path"))?;
    if decoded.contains(&0) {
        return Err((400, "a NUL byte in the path"));
    }
    let trailing = decoded.ends_with(b"/");
    let mut segs = Vec::new();
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => return Err((403, "`..` would leave the served directory")),
            s if s.starts_with(b".") => return Err((403, HIDDEN)),
            s => segs.push(s.to_vec()),
        }
    }
    Ok((segs, trailing))
}

/// The response to one request head. `root` is the served directory,
/// already canonical; None serves the built-in page.
pub fn respond(head_bytes: &[u8], root: Option<&Path>) -> Response {
    let text = String::from_utf8_lossy(head_bytes);
    let line = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let shown: String = line.chars().take(200).collect();
    let parts: Vec<&str> = line.split(' ').filter(|p| !p.is_empty()).collect();
    let [method, target, version] = parts[..] else {
        return error(400, false, &shown, "not `METHOD /path HTTP/1.1`");
    };
    let what = format!("{method} {}", target.chars().take(200).collect::<String>());
    if !version.starts_with("HTTP/") {
        return error(400, false, &what, "no HTTP/1.x version");
    }
    if !version.starts_with("HTTP/1.") {
        return error(505, false, &what, "");
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let mut r = page(
                405,
                format!("<h1>405 {}</h1>\n", reason(405)),
                false,
                &[("Allow", "GET, HEAD".into())],
                &what,
            );
            r.note.push_str(": this peer answers GET and HEAD");
            return r;
        }
    };
    let (segs, trailing) = match target_segments(target) {
        Ok(x) => x,
        Err((code, why)) => return error(code, head_only, &what, why),
    };
    let Some(root) = root else {
        if segs.is_empty() || segs == [b"index.html".to_vec()] {
            let body = INDEX_PAGE.to_string();
            let len = body.len() as u64;
            return Response {
                head: head(200, HTML, len, &[]),
                body: if head_only {
                    Body::Empty
                } else {
                    Body::Bytes(body.into_bytes())
                },
                note: format!("{what} -> 200 OK (the built-in page, {len} bytes)"),
            };
        }
        return error(404, head_only, &what, "");
    };
    let mut path = root.to_path_buf();
    for s in &segs {
        path.push(OsStr::from_bytes(s));
    }
    let real = match fs::canonicalize(&path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return error(403, head_only, &what, "permission denied");
        }
        Err(_) => return error(404, head_only, &what, ""),
    };
    let Ok(inside) = real.strip_prefix(root) else {
        return error(
            403,
            head_only,
            &what,
            "a link that leads outside the served directory",
        );
    };
    if inside
        .components()
        .any(|c| c.as_os_str().as_bytes().starts_with(b"."))
    {
        return error(403, head_only, &what, HIDDEN);
    }
    if real.is_dir() {
        if !trailing && !segs.is_empty() {
            let mut loc = String::new();
            for s in &segs {
                loc.push('/');
                loc.push_str(&percent_encode(s));
            }
            loc.push('/');
            let body = format!("<a href=\"{loc}\">{loc}</a>\n");
            let mut r = page(301, body, head_only, &[("Location", loc.clone())], &what);
            r.note.push_str(&format!(": a directory, see {loc}"));
            return r;
        }
        let index = real.join("index.html");
        if index.is_file() {
            return file(&index, head_only, &what);
        }
        return listing(&real, &segs, head_only, &what);
    }
    file(&real, head_only, &what)
}

fn file(path: &Path, head_only: bool, what: &str) -> Response {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let f = match opened {
        Ok(f) => File::from(super::move_high(f.into())),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return error(403, head_only, what, "permission denied");
        }
        Err(_) => return error(404, head_only, what, ""),
    };
    let meta = match f.metadata() {
        Ok(m) if m.is_file() => m,
        _ => return error(403, head_only, what, "not a regular file"),
    };
    let len = meta.len();
    let ctype = content_type(path);
    Response {
        head: head(200, ctype, len, &[]),
        body: if head_only || len == 0 {
            Body::Empty
        } else {
            Body::File { file: f, left: len }
        },
        note: format!("{what} -> 200 OK ({ctype}, {len} bytes)"),
    }
}

fn listing(dir: &Path, segs: &[Vec<u8>], head_only: bool, what: &str) -> Response {
    let mut names: Vec<(Vec<u8>, bool)> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().as_bytes().starts_with(b"."))
            .map(|e| {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                (e.file_name().as_bytes().to_vec(), is_dir)
            })
            .collect(),
        Err(_) => return error(403, head_only, what, "the directory cannot be read"),
    };
    names.sort();
    let mut shown = String::from("/");
    for s in segs {
        shown.push_str(&String::from_utf8_lossy(s));
        shown.push('/');
    }
    let title = crate::value::markup_escape(&shown);
    let mut body = format!(
        "<!DOCTYPE html>\n<title>Index of {title}</title>\n<h1>Index of {title}</h1>\n<ul>\n"
    );
    if !segs.is_empty() {
        body.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in names.iter().take(MAX_LISTING) {
        let slash = if *is_dir { "/" } else { "" };
        body.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            percent_encode(name),
            crate::value::markup_escape(&String::from_utf8_lossy(name))
        ));
    }
    if names.len() > MAX_LISTING {
        body.push_str(&format!(
            "<li>... and {} more</li>\n",
            names.len() - MAX_LISTING
        ));
    }
    body.push_str("</ul>\n");
    let mut r = page(200, body, head_only, &[], what);
    r.note.push_str(": a directory listing");
    r
}

/// The served directory, canonical (so links can be checked against it).
pub fn root_of(dir: &Path) -> io::Result<PathBuf> {
    let real = fs::canonicalize(dir)?;
    if !real.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Response) -> String {
        let mut t = String::from_utf8_lossy(&r.head).into_owned();
        if let Body::Bytes(b) = &r.body {
            t.push_str(&String::from_utf8_lossy(b));
        }
        t
    }

    #[test]
    fn the_head_ends_at_a_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"\r\nGET / HTTP/1.0\r\n\r\n"), Some(20));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_end(b"\r\n\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn the_built_in_page_and_404() {
        let r = respond(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", None);
        let t = text(&r);
        assert!(
            t.starts_with(
                "HTTP/1.1 200 OK\r\nServer: sockplay\r\nContent-Type: text/html; charset=utf-8\r\n"
            ),
            "{t}"
        );
        assert!(t.contains(&format!("Content-Length: {}\r\n", INDEX_PAGE.len())));
        assert!(t.contains("Connection: close\r\n\r\n<!DOCTYPE html>"));
        let r = respond(b"GET /missing HTTP/1.1\r\n\r\n", None);
        assert!(text(&r).starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert_eq!(r.note, "GET /missing -> 404 Not Found (23 bytes)");
        let r = respond(b"HEAD / HTTP/1.0\r\n\r\n", None);
        assert!(matches!(r.body, Body::Empty));
        assert!(text(&r).contains(&format!("Content-Length: {}\r\n", INDEX_PAGE.len())));
    }

    #[test]
    fn bad_requests() {
        for (req, code) in [
            (&b"GARBAGE\r\n\r\n"[..], "400"),
            (b"GET /\r\n\r\n", "400"),
            (b"GET / FTP/1.0\r\n\r\n", "400"),
            (b"GET / HTTP/2.0\r\n\r\n", "505"),
            (b"POST / HTTP/1.1\r\n\r\n", "405"),
            (b"GET nopath HTTP/1.1\r\n\r\n", "400"),
            (b"GET /%zz HTTP/1.1\r\n\r\n", "400"),
            (b"GET /%+f HTTP/1.1\r\n\r\n", "400"),
            (b"GET /%e4%b HTTP/1.1\r\n\r\n", "400"),
            (b"GET /%00 HTTP/1.1\r\n\r\n", "400"),
            (b"GET /../etc/passwd HTTP/1.1\r\n\r\n", "403"),
            (b"GET /%2e%2e/etc/passwd HTTP/1.1\r\n\r\n", "403"),
            (b"\xff\xfe \x00 \x1b\r\n\r\n", "400"),
        ] {
            let t = text(&respond(req, None));
            assert!(t.starts_with(&format!("HTTP/1.1 {code} ")), "{req:?}: {t}");
        }
        let t = text(&respond(b"POST / HTTP/1.1\r\n\r\n", None));
        assert!(t.contains("Allow: GET, HEAD\r\n"));
    }

    #[test]
    fn files_stay_inside_the_directory() {
        let base = std::env::temp_dir().join(format!("sockplay-http-unit-{}", std::process::id()));
        let www = base.join("www");
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(www.join("sub")).expect("dirs");
        fs::write(www.join("hello.txt"), "hi\n").expect("file");
        fs::write(base.join("secret"), "no").expect("secret");
        std::os::unix::fs::symlink(base.join("secret"), www.join("link")).expect("link");
        let root = root_of(&www).expect("root");

        let r = respond(b"GET /hello.txt HTTP/1.1\r\n\r\n", Some(&root));
        assert!(text(&r).starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(
            text(&r).contains("Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n")
        );
        assert!(matches!(r.body, Body::File { left: 3, .. }));
        assert!(
            text(&respond(b"GET /link HTTP/1.1\r\n\r\n", Some(&root))).starts_with("HTTP/1.1 403 ")
        );
        assert!(
            text(&respond(b"GET /nope HTTP/1.1\r\n\r\n", Some(&root))).starts_with("HTTP/1.1 404 ")
        );
        let t = text(&respond(b"GET /sub HTTP/1.1\r\n\r\n", Some(&root)));
        assert!(
            t.starts_with("HTTP/1.1 301 ") && t.contains("Location: /sub/\r\n"),
            "{t}"
        );
        let t = text(&respond(b"GET / HTTP/1.1\r\n\r\n", Some(&root)));
        assert!(t.contains("<a href=\"hello.txt\">hello.txt</a>"), "{t}");
        assert!(t.contains("<a href=\"sub/\">sub/</a>"), "{t}");
        fs::write(www.join(".env"), "KEY=1").expect("dotfile");
        let t = text(&respond(b"GET / HTTP/1.1\r\n\r\n", Some(&root)));
        assert!(!t.contains(".env"), "{t}");
        assert!(
            text(&respond(b"GET /.env HTTP/1.1\r\n\r\n", Some(&root))).starts_with("HTTP/1.1 403 ")
        );
        let _ = fs::remove_dir_all(&base);
    }
}
