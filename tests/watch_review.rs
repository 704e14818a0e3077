//! A watched program runs as it would unwatched, and sockplay stands
//! whatever it does (found by using and attacking `watch` and `run`): its
//! prints stay whole lines, its timeouts and exceptions are its own, its
//! descriptor limit is the one it was given, and a program that breaks the
//! report channel, prints a lot or forks under load neither hangs nor
//! loses its output; nothing of sockplay's stays on disk after a signal.
//!
//! Ports are the kernel's (port 0); everything in a scratch directory;
//! every wait bounded.

mod common;

use common::Scratch;
use common::proc::{Proc, assert_has};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

fn watch(scratch: &Scratch, name: &str, program: &str, flags: &[&str]) -> Proc {
    std::fs::write(scratch.path().join(name), program).expect("write program");
    let mut v: Vec<&str> = vec!["watch"];
    v.extend(flags);
    v.push("python3");
    v.push(name);
    let mut cmd = common::command(scratch.path(), &v);
    Proc::spawn_merged(&format!("sockplay watch {name}"), &mut cmd, LIMIT)
}

/// Watches `program` to its end: its status and all it and sockplay said.
fn watched(tag: &str, program: &str, flags: &[&str]) -> (Option<i32>, String) {
    let scratch = Scratch::new(tag);
    let mut w = watch(&scratch, "p.py", program, flags);
    let (status, out, _) = w.end();
    (status, out)
}

/// Threads that print while another thread's calls are reported: print()
/// writes its words and its end apart, and a report shown in between
/// would land inside the program's line.
const PRINTS_AND_CALLS: &str = r#"import socket, threading, time
a, b = socket.socketpair()
def sender():
    for i in range(300):
        a.send(b'x')
        time.sleep(0.001)
def receiver():
    for i in range(300):
        b.recv(1)
def printer(name):
    for i in range(300):
        print('line', i, 'of', name)
ts = [threading.Thread(target=sender), threading.Thread(target=receiver)]
ts += [threading.Thread(target=printer, args=(n,)) for n in ('P', 'Q')]
for t in ts:
    t.start()
for t in ts:
    t.join()
print('all', 'done')
"#;

#[test]
fn a_program_s_lines_stay_whole_beside_its_threads_reports() {
    if !common::have_peer("python3") {
        return;
    }
    let (status, out) = watched("review-lines", PRINTS_AND_CALLS, &[]);
    assert_eq!(status, Some(0), "{out}");
    let mut seen = 0;
    for line in out.lines() {
        if let Some(k) = line.find("line ") {
            // The program's own line, whole: nothing before it, nothing
            // after it (a header of sockplay's is `p.py:N ...`).
            if line.starts_with("p.py:") && k > 0 {
                continue;
            }
            let words: Vec<&str> = line.split(' ').collect();
            assert!(
                k == 0
                    && words.len() == 4
                    && words[1].parse::<u32>().is_ok()
                    && (words[3] == "P" || words[3] == "Q"),
                "a line of the program was cut: {line:?}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 600, "{out}");
    assert!(out.contains("\nall done\n"), "{out}");
}

/// A thread that reports all the time while the main thread forks: the
/// child must not inherit a lock the reporting thread held at the fork
/// (it would wait for it for ever, at its first report).
const FORKS_UNDER_LOAD: &str = r#"import os, socket, threading
a, b = socket.socketpair()
stop = []
def busy():
    while not stop:
        socket.htons(1)
t = threading.Thread(target=busy, daemon=True)
t.start()
for i in range(40):
    pid = os.fork()
    if pid == 0:
        a.send(b'c')
        os._exit(0)
    os.waitpid(pid, 0)
    b.recv(1)
stop.append(1)
print('forked', i + 1, 'children')
"#;

#[test]
fn a_child_forked_while_a_thread_reports_does_not_hang() {
    if !common::have_peer("python3") {
        return;
    }
    let (status, out) = watched("review-forks", FORKS_UNDER_LOAD, &["-q"]);
    assert_eq!(status, Some(0), "{}", common::proc::tail_of(&out, 3000));
    assert!(
        out.contains("forked 40 children"),
        "{}",
        common::proc::tail_of(&out, 3000)
    );
}

/// A program that writes on sockplay's channel itself (its number is in
/// the environment), then goes on calling: sockplay stops showing its
/// calls, but goes on reading what comes, so the program never waits on a
/// full channel.
const BREAKS_THE_CHANNEL: &str = r#"import os, socket
fd = int(os.environ['SOCKPLAY_WATCH'].split(':')[0])
os.write(fd, b'\xff\xff\xff\x7f')
for i in range(200000):
    socket.htons(1)
print('still going')
s = socket.socket()
print('done', s.fileno())
"#;

#[test]
fn a_program_that_breaks_the_channel_goes_on_to_its_end() {
    if !common::have_peer("python3") {
        return;
    }
    let (status, out) = watched("review-broken", BREAKS_THE_CHANNEL, &[]);
    assert_eq!(status, Some(0), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "its calls are not shown from here on",
            "still going\n",
            "done 3\n",
            "p.py exited with status 0",
        ],
    );
    assert!(!out.contains("p.py:7"), "{out}");
}

/// A background program that prints more than any report holds in one
/// line (2,000,000 characters), then calls: its text comes in pieces, and
/// its calls after it are still shown.
#[test]
fn a_background_program_s_long_print_keeps_the_channel() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("review-longprint");
    std::fs::write(
        scratch.path().join("long.py"),
        "import socket\nprint('x' * 2000000)\ns = socket.socket()\nprint('end', s.fileno())\n",
    )
    .expect("write");
    std::fs::write(scratch.path().join("s.sp"), "run python3 long.py &\nwait\n").expect("write");
    let run = common::run_in(scratch.path(), &["--allow-run", "s.sp"], None);
    assert_eq!(
        run.status,
        Some(0),
        "{}",
        common::proc::tail_of(&run.output, 2000)
    );
    let xs: usize = run
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("[1] | "))
        .map(|l| l.chars().filter(|&c| c == 'x').count())
        .sum();
    assert_eq!(xs, 2_000_000);
    assert_has(
        "the script",
        &run.output,
        &[
            "[1] long.py:3  s = socket.socket()",
            "[1] | end 3",
            "long.py exited with status 0",
        ],
    );
    assert!(
        !run.output.contains("not a report"),
        "{}",
        common::proc::tail_of(&run.output, 2000)
    );
}

/// Runs `program` with python3 alone, in `scratch`: its output.
fn unwatched(scratch: &Scratch, program: &str) -> String {
    let path = scratch.path().join("alone.py");
    std::fs::write(&path, program).expect("write");
    let out = std::process::Command::new("python3")
        .arg(&path)
        .current_dir(scratch.path())
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The lines of `out` that start with `OUT:` (the program's own).
fn own(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("OUT:")).collect()
}

/// A UDP socket with a timeout, and a datagram that comes after it: the
/// receive gives up after the socket's timeout, as it does unwatched, not
/// after twice that (the datagram would then have come).
const UDP_TIMEOUT: &str = r#"import socket, threading, time
def socket_after(t):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(('127.0.0.1', 0))
    u.settimeout(1.0)
    def late():
        time.sleep(t)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'late', u.getsockname())
    threading.Thread(target=late, daemon=True).start()
    return u
for call in ('recvfrom', 'recv'):
    u = socket_after(1.6)
    try:
        print('OUT:', call, 'got', getattr(u, call)(100))
    except TimeoutError as e:
        print('OUT:', call, 'raised', repr(e))
"#;

#[test]
fn a_udp_timeout_is_the_socket_s_own() {
    if !common::have_peer("python3") {
        return;
    }
    let (status, out) = watched("review-udp-timeout", UDP_TIMEOUT, &[]);
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(
        own(&out),
        [
            "OUT: recvfrom raised TimeoutError('timed out')",
            "OUT: recv raised TimeoutError('timed out')"
        ],
        "{out}"
    );
    assert_has("watch", &out, &["TimeoutError: timed out"]);
}

/// What a program sees of the calls it gets wrong, and of its exceptions'
/// tracebacks, is what python3 alone shows.
const MISTAKES: &str = r#"import os, select, socket, traceback
a, b = socket.socketpair()
for call, args in (('send', ('text',)), ('sendall', ('text',)), ('sendto', ('text', ('127.0.0.1', 9))),
                   ('recv_into', ('not a buffer',))):
    try:
        getattr(a, call)(*args)
    except TypeError as e:
        print('OUT:', call, e)
ep = select.epoll()
print('OUT: epoll', ep.poll(timeout=0, maxevents=4))
ep.close()
b.close()
try:
    a.send(b'x')
except OSError:
    text = traceback.format_exc()
    print('OUT: traceback of', len(text.splitlines()), 'lines:', 'sitecustomize' in text)
s = socket.socket()
os.close(s.fileno())
try:
    s.close()
except OSError as e:
    print('OUT: close', e)
t = socket.socket()
print('OUT: then', t.fileno())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1.5)
for call, args, k in (('recvfrom', (-1,), {}), ('recv', (-1,), {}), ('recv', (10, 'x'), {}),
                      ('recv', (), {'bufsize': 10}), ('send', (b'x', 'x'), {}),
                      ('recv_into', (bytearray(2), 5), {}), ('recv_into', (b'ro',), {}),
                      ('settimeout', ('x',), {}), ('setsockopt', ('a', 1, 1), {})):
    try:
        getattr(u, call)(*args, **k)
    except (TypeError, ValueError, OSError) as e:
        print('OUT:', call, type(e).__name__, e)
c, d = socket.socketpair()
c.send(b'ready')
for t in ('x', -1, float('nan')):
    try:
        print('OUT: select', select.select([d], [], [], t))
    except (TypeError, ValueError) as e:
        print('OUT: select', t, type(e).__name__, e)
p = select.poll()
try:
    p.register(object())
except TypeError as e:
    print('OUT: register', e)
buf = bytearray(4)
u.settimeout(0.05)
try:
    u.recv_into(buf)
except TimeoutError as e:
    buf.extend(b'more')
    print('OUT: grown to', len(buf), 'frames', len(traceback.extract_tb(e.__traceback__)))
"#;

#[test]
fn a_program_s_mistakes_and_tracebacks_are_python_s() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("review-mistakes");
    let alone = unwatched(&scratch, MISTAKES);
    let mut w = watch(&scratch, "p.py", MISTAKES, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(own(&out), own(&alone), "{out}\n---\n{alone}");
    assert_eq!(own(&alone).len(), 22, "{alone}");
    assert_has(
        "watch",
        &out,
        &[
            // The mistake is shown, with the shell's hint for it.
            "p.py:6  getattr(a, call)(*args)",
            "TypeError: a bytes-like object is required, not 'str'",
            "sockets send bytes",
            "recv_into fills a buffer it can write into",
            // Watching goes on after a close that raised.
            "p.py:24  t = socket.socket()",
        ],
    );
}

/// Calls given a wrong count of arguments, or keywords (the learner's
/// `bind('127.0.0.1', 9000)`): refused as python3 refuses them, in the
/// same words (not a message naming sockplay's module), and shown.
const WRONG_ARGS: &str = r#"import socket
s = socket.socket()
for call, a, k in (('bind', ('127.0.0.1', 9000), {}), ('connect', ('127.0.0.1', 9000), {}),
                   ('connect_ex', (), {}), ('bind', (), {'address': ('127.0.0.1', 0)}),
                   ('listen', (1, 2), {}), ('listen', (), {'backlog': 1}),
                   ('shutdown', (), {}), ('setsockopt', (1, 2), {}), ('getsockopt', (), {}),
                   ('settimeout', (), {}), ('setblocking', (1, 2), {}), ('getsockname', (1,), {}),
                   ('getpeername', (), {'x': 1}), ('fileno', (1,), {}), ('accept', (1,), {}),
                   ('sendfile', (), {}), ('close', (1,), {})):
    try:
        getattr(s, call)(*a, **k)
    except Exception as e:
        print('OUT:', call, type(e).__name__, e)
try:
    socket.socketpair(1, 2, 3, 4)
except Exception as e:
    print('OUT: socketpair', type(e).__name__, e)
try:
    socket.gethostbyname()
except Exception as e:
    print('OUT: gethostbyname', type(e).__name__, e)
try:
    import time; time.sleep('x')
except Exception as e:
    print('OUT: sleep', type(e).__name__, e)
try:
    time.sleep(-1)
except Exception as e:
    print('OUT: sleep', type(e).__name__, e)
import threading
t = threading.Thread(target=lambda: None); t.start()
try:
    t.join(1, 2)
except Exception as e:
    print('OUT: join', type(e).__name__, e)
t.join(timeout=1)
try:
    input(1, 2)
except Exception as e:
    print('OUT: input', type(e).__name__, e)
"#;

#[test]
fn a_call_given_wrong_arguments_is_refused_in_python_s_words() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("review-wrong-args");
    let alone = unwatched(&scratch, WRONG_ARGS);
    let mut w = watch(&scratch, "p.py", WRONG_ARGS, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(own(&out), own(&alone), "{out}\n---\n{alone}");
    assert_eq!(own(&alone).len(), 23, "{alone}");
    assert!(!out.contains("sockplay"), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            "TypeError: socket.bind() takes exactly one argument (2 given)",
            "an address is one tuple (host, port): bind(('127.0.0.1', 9000))",
        ],
    );
}

/// sendmsg and recvmsg given what the C calls refuse (a str buffer, a
/// keyword, a wrong count, a negative size, ancillary data that is not a
/// list) fail as they do under python3 alone, in the same words, and are
/// shown; what they take (lists, tuples, a generator the call reads
/// itself, SCM_RIGHTS) runs as it does alone. recvmsg_into and
/// sendmsg_afalg are python3's own. A UDP receive on a socket nothing
/// bound waits where the shell says it does; a close whose number was
/// closed by os.close says so.
const MSG_CALLS: &str = r#"import os, socket
a, b = socket.socketpair()
def gen():
    yield b'g1'
    yield b'g2'
def bad():
    yield b'x'
    yield 'y'
for call, x, k in (('sendmsg', ('text',), {}), ('sendmsg', (['text'],), {}),
                   ('sendmsg', (bad(),), {}), ('sendmsg', (), {}),
                   ('sendmsg', (), {'buffers': [b'x']}), ('sendmsg', ([b'x'],), {'flags': 0}),
                   ('sendmsg', ([b'x'], [], 'x'), {}), ('sendmsg', ([b'x'], [(1, 1, 'str')]), {}),
                   ('sendmsg', ([b'x'], None), {}), ('sendmsg', ([b'x'], 5), {}),
                   ('sendmsg', ([b'x'], [], 0, None, 9), {}),
                   ('recvmsg', (), {}), ('recvmsg', (), {'bufsize': 10}), ('recvmsg', ('10',), {}),
                   ('recvmsg', (-1,), {}), ('recvmsg', (10, -1), {}), ('recvmsg', (10, 'x'), {}),
                   ('recvmsg', (10, 0, 'x'), {}), ('recvmsg', (10, 0, 0, 0), {}),
                   ('recvmsg_into', (['text'],), {}), ('recvmsg_into', ([b'ro'],), {}),
                   ('recvmsg_into', (), {'buffers': [bytearray(2)]}),
                   ('sendmsg', ([b'li', bytearray(b'st')],), {}), ('sendmsg', ((b'tu', memoryview(b'ple')), ()), {}),
                   ('sendmsg', (gen(),), {})):
    try:
        print('OUT:', call, getattr(a, call)(*x, **k))
    except Exception as e:
        print('OUT:', call, type(e).__name__, e)
print('OUT: got', b.recvmsg(100, 0, 0))
socket.send_fds(b, [b'fd'], [a.fileno()])
msg, fds, flags, addr = socket.recv_fds(a, 10, 1)
print('OUT: recv_fds', msg, len(fds), flags, addr)
b.send(b'into')
buf = bytearray(8)
print('OUT: recvmsg_into', a.recvmsg_into([buf]), buf)
print('OUT: afalg', hasattr(a, 'sendmsg_afalg'))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.2)
try:
    u.recvfrom(10)
except TimeoutError as e:
    print('OUT: recvfrom', e)
s = socket.socket()
os.close(s.fileno())
try:
    s.close()
except OSError as e:
    print('OUT: close', e)
"#;

#[test]
fn sendmsg_and_recvmsg_are_refused_and_taken_as_python_s() {
    if !common::have_peer("python3") {
        return;
    }
    let scratch = Scratch::new("review-msg-calls");
    let alone = unwatched(&scratch, MSG_CALLS);
    let mut w = watch(&scratch, "p.py", MSG_CALLS, &[]);
    let (status, out, _) = w.end();
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(own(&out), own(&alone), "{out}\n---\n{alone}");
    assert_eq!(own(&alone).len(), 31, "{alone}");
    assert!(!out.contains("sockplay"), "{out}");
    assert_has(
        "watch",
        &out,
        &[
            // Refused in the C call's words, and shown as a failed call.
            "TypeError: sendmsg() takes no keyword arguments",
            "TypeError: recvmsg() takes no keyword arguments",
            "ValueError: negative buffer size in recvmsg()",
            "TypeError: sendmsg() argument 2 must be an iterable",
            "TypeError: a bytes-like object is required, not 'str'",
            "sockets send bytes",
            // Taken: reported with their bytes.
            "sendmsg: 4 bytes: b'list'",
            "sendmsg: 5 bytes: b'tuple'",
            "sendmsg: 2 bytes and 1 descriptor",
            // The shell's words for a receive on an unbound UDP socket.
            "u has no address yet, so no datagram can reach it: bind it first",
            "recvfrom(fd 6) waits for a datagram on 0.0.0.0:0",
            // A close whose number another call closed.
            "fd 7 was closed behind the socket object's back (os.close(7)",
        ],
    );
    assert!(!out.contains("datagram on ?"), "{out}");
}
