# sockplay's start-up module for a watched Python program.
#
# sockplay writes this file (embedded in its binary) to a private temporary
# directory, puts that directory first on PYTHONPATH and starts the learner's
# program unchanged. Python imports `sitecustomize` at start-up, before the
# program's first line: this module then replaces `socket.socket` with a
# subclass whose methods report each call to sockplay, and wraps the select
# module and the socket module's functions the course uses. It chains to any
# other sitecustomize (a virtualenv's, the distribution's) and leaves the
# program's sys.path as it would have been.
#
# The reports go over a SOCK_STREAM socket inherited from sockplay (its
# number and inode in SOCKPLAY_WATCH, "FD:INODE": a process that does not
# hold that very socket stays unwatched), one frame each: its length in 4
# bytes, then the message. A stream rather than SOCK_SEQPACKET because a
# datagram queue holds 10 messages: a program calling in a loop would wait
# for sockplay at every tenth call.
#
# Cost. A call that does not wait queues its report in this process, and the
# queue is written in one go: before any call that will wait (so sockplay
# shows the wait while it lasts), before the program writes to the terminal
# (in the foreground), when 64 reports are queued, and every 10 ms by a
# thread of this module's (a bare _thread, so threading.enumerate() and
# active_count() do not see it). Whether a call will wait is learnt without
# an extra system call where possible: a blocking socket's recv and send are
# first tried with MSG_DONTWAIT (that try *is* the call when data or buffer
# space is there); other calls look with a zero-timeout select first.
#
# Message: fields separated by TAB, ended by a newline, then the bytes the
# call moved (received or sent data, at most DATA_MAX of them). Strings are
# escaped (\\ \t \n \r) so that a field never holds a TAB or a newline.
#
#   H pid ppid cwd                      a process starts (or was forked)
#   L pid id file line source           a place in the program, named once
#   W pid tid thread loc via call fd t0 args...       a call that will wait
#   B pid tid thread loc via call fd t0 args...       a call that may wait
#   R pid tid thread loc via call fd t0 t1 waited_us status args... results...
#   Y pid tid                           sync: sockplay answers one byte once
#                                       it has shown every report before it
#   O pid fd                            what the program printed (then the
#                                       text), in a background job
#
# t0 and t1: the wall clock (ns since the epoch, as the capture stamps
# packets) when the call began and when it returned, so that `diagram` draws
# each call beside the segments it caused.
# status: ok (the call's results follow its args) or err (exception class,
# errno, message follow the args). `via` is FILE:FUNCTION of the library
# function the program called when that is not the call itself
# (socketserver.py:serve_forever calling accept). Nothing here may raise
# into the program: a failure of this module turns it off, and the program
# goes on unwatched.

import os as _os
import sys as _sys


def _sockplay_install():
    spec = _os.environ.get("SOCKPLAY_WATCH", "")
    try:
        fd_text, ino_text = spec.split(":")
        FD = int(fd_text)
        st = _os.fstat(FD)
        import stat as _stat
        if not _stat.S_ISSOCK(st.st_mode) or st.st_ino != int(ino_text):
            return
    except (ValueError, OSError):
        return

    import atexit
    import builtins
    from bisect import bisect_right
    import fcntl
    import socket as _sm
    import select as _sel
    import selectors as _sels
    import threading as _th
    import time as _time
    import _socket
    import _thread
    from collections import deque

    # How the program's own prints reach the screen: "sync" (it writes to
    # the terminal itself, after sockplay has shown every report before),
    # "report" (they go over the channel, in order with the reports: a
    # background job), or "" (as they are).
    OUT = _os.environ.get("SOCKPLAY_WATCH_OUT", "")
    SYNC = OUT == "sync"
    DATA_MAX = 65536
    BATCH = 64
    MSG_DONTWAIT = int(getattr(_sm, "MSG_DONTWAIT", 0))
    MSG_WAITALL = int(getattr(_sm, "MSG_WAITALL", 0))
    FIONREAD = 0x541B
    SIOCOUTQ = 0x5411
    ORDER = _sys.byteorder

    writev = _os.writev
    write = _os.write
    now = _time.monotonic_ns
    wall = _time.time_ns
    orig_sleep = _time.sleep
    getframe = _sys._getframe
    import types
    get_ident = _thread.get_ident
    active = _th._active
    ioctl = fcntl.ioctl
    C = _socket.socket
    c_recv = C.recv
    c_recv_into = C.recv_into
    c_recvfrom = C.recvfrom
    c_recvfrom_into = C.recvfrom_into
    c_send = C.send
    c_sendall = C.sendall
    c_sendto = C.sendto
    c_sendmsg = C.sendmsg
    c_recvmsg = C.recvmsg
    SOL_SOCKET = int(_sm.SOL_SOCKET)
    SCM_RIGHTS = int(getattr(_sm, "SCM_RIGHTS", 1))
    c_connect = C.connect
    c_connect_ex = C.connect_ex
    c_bind = C.bind
    c_listen = C.listen
    c_shutdown = C.shutdown
    c_setsockopt = C.setsockopt
    c_getsockopt = C.getsockopt
    c_settimeout = C.settimeout
    c_setblocking = C.setblocking
    c_getsockname = C.getsockname
    c_getpeername = C.getpeername
    c_gettimeout = C.gettimeout
    c_fileno = C.fileno
    # The C type's own attributes: ints, without the enum conversion of
    # socket.socket's properties.
    ctype = C.type.__get__
    cfamily = C.family.__get__
    STREAM = int(_sm.SOCK_STREAM)
    DGRAM = int(_sm.SOCK_DGRAM)
    INET = (int(_sm.AF_INET), int(_sm.AF_INET6))
    orig_select = _sel.select
    Orig = _sm.socket
    py_accept = Orig.accept

    # state[0]: on; the pid (updated after fork); thread caches' generation
    on = [True]
    me = [_os.getpid(), 0]
    sync_on = [SYNC]
    dirty = [False]
    queue = deque()

    class Lock:
        # A lock its own thread never waits for: a signal handler that runs
        # while its thread holds one (and prints, or calls a socket) goes
        # on without it, instead of waiting for itself for ever.
        __slots__ = ("_l", "_o")

        def __init__(self):
            self._l = _thread.allocate_lock()
            self._o = 0

        def take(self):
            t = get_ident()
            if self._o == t:
                return False
            self._l.acquire()
            self._o = t
            return True

        def give(self):
            self._o = 0
            self._l.release()

    # Replaced in a forked child (see forked()).
    flush_lock = Lock()
    sync_lock = Lock()

    def off():
        on[0] = False

    def esc(s):
        if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
            s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return s

    def b(s):
        return esc(s).encode("utf-8", "backslashreplace")

    # --- writing ---------------------------------------------------------------
    def flush():
        # Under the lock, so that two threads write their frames in order.
        if not queue or not flush_lock.take():
            return
        try:
            parts = []
            n = 0
            while queue and n < 1024:
                parts.extend(queue.popleft())
                n += 1
            if not parts:
                return
            try:
                total = sum(len(p) for p in parts)
                done = writev(FD, parts)
                if done < total:
                    # A signal cut the write short: the rest, so each frame
                    # arrives whole, even when the signal's handler raises
                    # (Ctrl-C): the exception waits for the frame's end.
                    rest = b"".join(parts)[done:]
                    raised = None
                    while rest:
                        try:
                            rest = rest[write(FD, rest):]
                        except OSError:
                            raise
                        except BaseException as e:
                            raised = e
                    if raised is not None:
                        raise raised
                dirty[0] = True
            except OSError:
                # sockplay is gone: the program goes on unwatched.
                off()
                queue.clear()
        finally:
            flush_lock.give()

    wake = _thread.allocate_lock()
    wake.acquire()

    def put(msg, data=None):
        if data is None:
            queue.append(((len(msg)).to_bytes(4, "little"), msg))
        else:
            queue.append(((len(msg) + len(data)).to_bytes(4, "little"), msg, data))
        n = len(queue)
        if n >= BATCH:
            flush()
        elif n == 1 and wake.locked():
            # The flusher sleeps until there is something to write.
            try:
                wake.release()
            except RuntimeError:
                pass

    def put_now(msg):
        put(msg)
        flush()

    def flusher():
        # Idle (no CPU) until a report is queued; then writes the queue
        # 10 ms later, in one go.
        while on[0]:
            wake.acquire()
            orig_sleep(0.01)
            if queue:
                try:
                    flush()
                except Exception:
                    pass

    # --- where a call comes from -------------------------------------------------
    # The first frame outside the standard library and installed packages
    # is the program's: its file and line are shown.
    sep = _os.sep
    libs = {_os.path.dirname(_os.__file__) + sep}
    for p in _sys.path:
        if p.endswith(("site-packages", "dist-packages")):
            libs.add(p + sep)
    libs = tuple(libs)
    here = __file__
    kinds = {}   # code -> 0 this module, 1 library, 2 the program
    locs = {}    # code -> {line: id}
    vias = {}
    sources = {}
    nlocs = [0]

    sock_py = _sm.__file__

    def kind_of(code):
        # 0: this module; 1: the library; 2: the program; 3: socket.py (the
        # library, but part of the call itself, never its place).
        fn = code.co_filename
        if fn == here:
            k = 0
        elif fn == sock_py:
            k = 3
        elif fn.startswith(libs) or fn.startswith("<frozen"):
            k = 1
        else:
            k = 2
        kinds[code] = k
        return k

    def source_line(fn, n):
        text = sources.get(fn)
        if text is None:
            if fn == "<string>":
                # python3 -c CODE: the code is on the command line.
                argv = getattr(_sys, "orig_argv", [])
                code = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else ""
                text = code.splitlines()
            else:
                try:
                    with open(fn, "rb") as f:
                        text = f.read(1 << 22).decode("utf-8", "replace").splitlines()
                except (OSError, ValueError):
                    text = []
            if len(sources) < 256:
                sources[fn] = text
        if 0 < n <= len(text):
            return text[n - 1].strip()[:400]
        return ""

    # Places are found by the instruction (f_lasti: one attribute), not by
    # f_lineno, which Python computes by walking the code's line table from
    # its start: in a long module that is most of a call's cost.
    lines_of = {}  # code -> (instruction starts, their lines)
    by_line = {}   # code -> {line: id}

    def line_at(code, lasti):
        m = lines_of.get(code)
        if m is None:
            starts, nums = [], []
            for start, _end, line in code.co_lines():
                starts.append(start)
                nums.append(line)
            m = (starts, nums)
            lines_of[code] = m
        k = bisect_right(m[0], lasti) - 1
        line = m[1][k] if k >= 0 else None
        return line if line is not None else code.co_firstlineno

    def new_loc(f, d):
        code = f.f_code
        lasti = f.f_lasti
        line = line_at(code, lasti)
        lines = by_line.setdefault(code, {})
        i = lines.get(line)
        if i is None:
            nlocs[0] += 1
            i = nlocs[0]
            lines[line] = i
            fn = code.co_filename
            put(b"L\t%d\t%d\t%b\t%d\t%b\n" % (me[0], i, b(fn), line, b(source_line(fn, line))))
        d[lasti] = i
        return i

    def where(f):
        # (location id, via) of a call whose caller's frame is `f`.
        code = f.f_code
        k = kinds.get(code)
        if k is None:
            k = kind_of(code)
        lib = None
        inner = None
        while k != 2:
            if k == 1 or k == 3:
                lib = code
            if k == 1 and inner is None:
                inner = f
            f = f.f_back
            if f is None:
                # No frame of the program (a library's thread, as
                # socketserver's handler finishing a request): the library's
                # line that made the call.
                if inner is None:
                    return 0, b""
                f = inner
                code = f.f_code
                lib = None
                break
            code = f.f_code
            k = kinds.get(code)
            if k is None:
                k = kind_of(code)
        d = locs.get(code)
        if d is None:
            d = locs[code] = {}
        i = d.get(f.f_lasti)
        if i is None:
            i = new_loc(f, d)
        if lib is None:
            return i, b""
        via = vias.get(lib)
        if via is None:
            via = b("%s:%s" % (_os.path.basename(lib.co_filename), lib.co_name))
            vias[lib] = via
        return i, via

    tls = _thread._local()

    def who():
        # b"\tPID\tTID\tNAME" of the calling thread (cached per thread).
        try:
            if tls.gen == me[1]:
                return tls.who
        except AttributeError:
            pass
        t = active.get(get_ident())
        if t is None:
            t = _th.current_thread()
        tls.who = b"\t%d\t%d\t%b" % (me[0], t.native_id or 0, b(t.name))
        tls.gen = me[1]
        return tls.who

    def head(kind, call, fd, f):
        # The wall clock when the call began (the capture stamps packets
        # with it: a call is drawn beside the segments it caused).
        loc, via = where(f)
        return b"%b%b\t%d\t%b\t%b\t%d\t%d" % (kind, who(), loc, via, call, fd, wall())

    def end(h):
        # A finished call's head: the wall clock when it returned follows.
        return h + b"\t%d" % wall()

    def field(a):
        c = a.__class__
        if c is bytes:
            return a
        if c is int:
            return b"%d" % a
        return b(str(a))

    def fields(args):
        return b"\t".join([field(a) for a in args])

    def begin(kind, call, fd, args, f):
        # A call that will (W) or may (B) wait: said at once.
        h = head(kind, call, fd, f)
        put_now(h + (b"\t" + fields(args) if args else b"") + b"\n")
        return b"R" + h[1:]

    def done(h, t0, waited, args, results, data=None):
        w = (now() - t0) // 1000 if waited else -1
        msg = end(h) + b"\t%d\tok" % w
        if args:
            msg += b"\t" + fields(args)
        if results:
            msg += b"\t" + fields(results)
        if data is not None and len(data) > DATA_MAX:
            data = data[:DATA_MAX]
        put(msg + b"\n", data)

    def failed(h, t0, waited, args, e):
        # The caller re-raises `e`: nothing here may replace it (not even a
        # second Ctrl-C arriving meanwhile).
        try:
            w = (now() - t0) // 1000 if waited else -1
            errno = getattr(e, "errno", None)
            msg = end(h) + b"\t%d\terr" % w
            if args:
                msg += b"\t" + fields(args)
            put(msg + b"\t%b\t%b\t%b\n" % (
                b(type(e).__name__), b"" if errno is None else str(errno).encode(), b(str(e)[:500])))
            # An exception may end the program: said now.
            flush()
        except BaseException:
            pass

    # --- values -------------------------------------------------------------------
    def addr(a):
        if a is None:
            return b"-"
        if a.__class__ is tuple:
            if len(a) == 2:
                return b"4|%b|%d" % (b(str(a[0])), a[1] if a[1].__class__ is int else -1)
            if len(a) == 4:
                return b"6|%b|%d" % (b(str(a[0])), a[1] if a[1].__class__ is int else -1)
            return b"?|" + b(repr(a))
        if isinstance(a, str):
            return b"u|" + b(a)
        if isinstance(a, (bytes, bytearray)):
            if a[:1] == b"\0":
                return b"a|" + bytes(a[1:]).hex().encode()
            return b"p|" + bytes(a).hex().encode()
        return b"?|" + b(repr(a))

    def timeout_text(t):
        # Never raises: a timeout the call will refuse is the call's to say.
        if t is None:
            return b""
        try:
            return repr(float(t)).encode()
        except Exception:
            return b"?"

    def num(x):
        # An int argument as shown (what is not one is the call's to refuse).
        return int(x) if isinstance(x, int) else -1

    def ioctl_int(fd, req):
        try:
            return int.from_bytes(ioctl(fd, req, b"\0\0\0\0"), ORDER, signed=True)
        except (OSError, ValueError, TypeError):
            return -1

    def tcp_info(sock):
        # state, and (for a listener) the accept queue and its limit.
        try:
            info = c_getsockopt(sock, int(_sm.IPPROTO_TCP), 11, 32)
            return info[0], int.from_bytes(info[24:28], ORDER), int.from_bytes(info[28:32], ORDER)
        except (OSError, ValueError):
            return -1, -1, -1

    def ready(fd, for_write=False):
        try:
            if for_write:
                return bool(orig_select([], [fd], [], 0)[1])
            return bool(orig_select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def is_tcp(sock):
        return ctype(sock) == STREAM and cfamily(sock) in INET

    def rem(sock, fd, n, size):
        # Bytes still queued after a stream recv that filled its buffer.
        if n >= size and n and ctype(sock) == STREAM:
            return ioctl_int(fd, FIONREAD)
        return 0

    def dgram_size(sock, fd):
        # A datagram's real size, before it is received (to tell a cut).
        if ctype(sock) == DGRAM and ready(fd):
            return ioctl_int(fd, FIONREAD)
        return -1

    def dgram_when_ready(sock, fd):
        # A datagram's size once it is there, before the call takes it. The
        # wait is select's, with the socket's own timeout, and it is the
        # call's wait: the call that follows finds the datagram at once.
        # When none came in time, the timeout is raised here as the socket
        # module raises it (the call would wait its timeout once more).
        to = c_gettimeout(sock)
        try:
            ready = orig_select([fd], [], [], to)[0]
        except (OSError, ValueError):
            return -1
        if ready:
            return ioctl_int(fd, FIONREAD)
        if to is not None:
            raise _sm.timeout("timed out")
        return -1

    def local_of(sock):
        try:
            return addr(c_getsockname(sock))
        except OSError:
            return b"-"

    def wait_local(sock):
        # A receive that waits on a socket that is not a stream's says
        # where it waits: its address now, which is the port 0 of a socket
        # no datagram can reach (nothing bound it).
        if ctype(sock) == STREAM:
            return ()
        return (local_of(sock),)

    def describe_fd(fd):
        # A descriptor another process passed: (family, type, local, peer)
        # of a socket; (-1, -1, what it is, -) of anything else.
        try:
            s = C(fileno=fd)
        except OSError:
            try:
                what = _os.readlink("/proc/self/fd/%d" % fd)
            except OSError:
                what = "?"
            return (-1, -1, b"?|" + b(what), b"-")
        try:
            try:
                local = addr(c_getsockname(s))
            except OSError:
                local = b"-"
            try:
                peer = addr(c_getpeername(s))
            except OSError:
                peer = b"-"
            return (cfamily(s), ctype(s), local, peer)
        finally:
            s.detach()

    PARTIAL = object()

    def misuse(h, args, fn):
        # A call given what it cannot take (a str to send, a buffer that is
        # not one, a flag that is not an int, a keyword it has not): the
        # real call, given exactly what the program gave, says so in its own
        # words at once (before any wait of this module's), and the error is
        # reported as any other. What the checks below send here and the
        # call takes after all (an int-like that is not an int) runs as the
        # program asked, unreported.
        try:
            return fn()
        except BaseException as e:
            failed(h, 0, False, args, e)
            raise

    def cint(x):
        # A flags argument C takes as an int without a word.
        return isinstance(x, int) and -0x80000000 <= x <= 0x7FFFFFFF

    def csize(x):
        # A size C takes without a word (a negative one is refused).
        return isinstance(x, int) and 0 <= x <= 0x7FFFFFFFFFFFFFFF

    def named(a, k, names, need):
        # The arguments of a call that takes keywords, by name; None when
        # the call itself must say what is wrong with them.
        if len(a) > len(names):
            return None
        got = dict(zip(names, a))
        for key, v in k.items():
            if key not in names or key in got:
                return None
            got[key] = v
        for n in names[:need]:
            if n not in got:
                return None
        return got

    def writable(buffer, nbytes):
        # The bytes of a buffer that recv_into may fill, or None.
        try:
            mv = memoryview(buffer).cast("B")
        except Exception:
            return None
        if mv.readonly or not csize(nbytes) or nbytes > mv.nbytes:
            mv.release()
            return None
        return mv

    def readable(data):
        try:
            return memoryview(data).cast("B")
        except Exception:
            return None

    NOT_SHOWN = (-1, 0, -1)

    def msg_views(a, k):
        # The bytes of a sendmsg's buffers, when every argument is one the C
        # call takes as it is: buffers and ancillary data as a list or a
        # tuple (an iterator would be used up here), each item (level,
        # type, bytes) with C ints, flags a C int. None otherwise: the call
        # itself says what is wrong.
        if k or not 1 <= len(a) <= 4 or (len(a) > 2 and not cint(a[2])):
            return None
        if len(a) > 1:
            anc = a[1]
            if anc.__class__ not in (list, tuple):
                return None
            for item in anc:
                if (item.__class__ not in (list, tuple) or len(item) != 3 or not cint(item[0])
                        or not cint(item[1])):
                    return None
                body = readable(item[2])
                if body is None:
                    return None
                body.release()
        if a[0].__class__ not in (list, tuple):
            return None
        views = []
        for x in a[0]:
            v = readable(x)
            if v is None:
                for w in views:
                    w.release()
                return None
            views.append(v)
        return views

    # --- the socket class ------------------------------------------------------------
    class socket(Orig):
        __slots__ = ()

        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            Orig.__init__(self, family, type, proto, fileno)
            if fileno is None and on[0]:
                try:
                    h = head(b"R", b"socket", c_fileno(self), getframe(1))
                    put(end(h) + b"\t-1\tok\t%d\t%d\t%d\t%b\n" % (
                        cfamily(self), ctype(self), self.proto, timeout_text(c_gettimeout(self))))
                except Exception:
                    off()
            elif on[0]:
                # A socket object made of a descriptor the program holds
                # (one received with recv_fds, socket.fromfd): reported with
                # what it is. Not accept's, dup's or socketpair's own, which
                # their calls report.
                try:
                    f = getframe(1)
                    if f.f_code.co_filename != sock_py or f.f_code.co_name == "fromfd":
                        fd = c_fileno(self)
                        h = head(b"R", b"fromfd", fd, f)
                        local, peer = describe_fd(fd)[2:]
                        put(end(h) + b"\t-1\tok\t%d\t%d\t%d\t%b\t%b\t%b\n" % (
                            cfamily(self), ctype(self), self.proto,
                            timeout_text(c_gettimeout(self)), local, peer))
                except Exception:
                    off()

        def _wrap(self, f, call, args, fn, will_wait, results_of=None, data_of=None,
                  wait_args=None):
            # A call that is rare: generic. `will_wait()` says, before it
            # runs, whether it will wait; `wait_args()`, what its wait says
            # after its arguments.
            fd = c_fileno(self)
            t0 = now()
            waited = False
            try:
                if will_wait():
                    waited = True
                    h = begin(b"W", call, fd, args + wait_args() if wait_args else args, f)
                else:
                    h = head(b"R", call, fd, f)
            except Exception:
                off()
                return fn()
            try:
                r = fn()
            except BaseException as e:
                failed(h, t0, waited, args, e)
                raise
            done(h, t0, waited, args, results_of(r) if results_of else (),
                 data_of(r) if data_of else None)
            return r

        def _refused(self, cfn, call, a, k):
            # A call given a wrong count of arguments, or keywords it does
            # not take (bind('127.0.0.1', 9000)): the C call says so, in its
            # words, and the error is reported.
            if not on[0]:
                return cfn.__get__(self)(*a, **k)
            return misuse(head(b"R", call, c_fileno(self), getframe(2)), (),
                          lambda: cfn.__get__(self)(*a, **k))

        def accept(self):
            if not on[0]:
                return py_accept(self)
            f = getframe(1)
            st, q, mx = tcp_info(self) if is_tcp(self) else (-1, -1, -1)
            to = c_gettimeout(self)
            fd = c_fileno(self)

            def res(r):
                s, a = r
                return (c_fileno(s), addr(a), local_of(s))
            return self._wrap(f, b"accept", (q, mx), lambda: py_accept(self),
                              lambda: to != 0.0 and not ready(fd), res)

        def connect(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_connect, b"connect", a, k)
            address, = a
            if not on[0]:
                return c_connect(self, address)
            f = getframe(1)
            t0 = now()
            args = (addr(address),)
            try:
                h = begin(b"B", b"connect", c_fileno(self), args, f)
            except Exception:
                off()
                return c_connect(self, address)
            try:
                c_connect(self, address)
            except BaseException as e:
                failed(h, t0, True, args, e)
                raise
            done(h, t0, True, args, (local_of(self),))

        def connect_ex(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_connect_ex, b"connect_ex", a, k)
            address, = a
            if not on[0]:
                return c_connect_ex(self, address)
            f = getframe(1)
            t0 = now()
            args = (addr(address),)
            h = begin(b"B", b"connect_ex", c_fileno(self), args, f)
            try:
                rc = c_connect_ex(self, address)
            except BaseException as e:
                failed(h, t0, True, args, e)
                raise
            done(h, t0, True, args, (rc, local_of(self)))
            return rc

        def bind(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_bind, b"bind", a, k)
            address, = a
            if not on[0]:
                return c_bind(self, address)
            return self._wrap(getframe(1), b"bind", (addr(address),),
                              lambda: c_bind(self, address), bool,
                              lambda _: (local_of(self),))

        def listen(self, *a, **k):
            if k or not 0 <= len(a) <= 1:
                return self._refused(c_listen, b"listen", a, k)
            backlog = a
            if not on[0]:
                return c_listen(self, *backlog)
            return self._wrap(getframe(1), b"listen", (backlog[0] if backlog else "",),
                              lambda: c_listen(self, *backlog), bool,
                              lambda _: (local_of(self),))

        # --- the data calls: the fast paths ---------------------------------------
        def recv(self, *a, **k):
            if not on[0]:
                return c_recv.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"recv", fd, getframe(1))
            if k or not 1 <= len(a) <= 2 or not csize(a[0]) or (len(a) == 2 and not cint(a[1])):
                return misuse(h, NOT_SHOWN, lambda: c_recv.__get__(self)(*a, **k))
            bufsize = a[0]
            flags = a[1] if len(a) == 2 else 0
            dg = dgram_size(self, fd) if ctype(self) == DGRAM else -1
            waited = -1
            if c_gettimeout(self) is None and not flags & MSG_WAITALL:
                try:
                    d = c_recv(self, bufsize, flags | MSG_DONTWAIT)
                except BlockingIOError:
                    d = None
                except BaseException as e:
                    failed(h, 0, False, (bufsize, flags, dg), e)
                    raise
            else:
                d = None
                if c_gettimeout(self) == 0.0 or ready(fd):
                    try:
                        d = c_recv(self, bufsize, flags)
                    except BaseException as e:
                        failed(h, 0, False, (bufsize, flags, dg), e)
                        raise
            if d is None:
                t0 = now()
                begin(b"W", b"recv", fd, (bufsize, flags, dg) + wait_local(self), getframe(1))
                try:
                    if ctype(self) == DGRAM:
                        dg = dgram_when_ready(self, fd)
                    d = c_recv(self, bufsize, flags)
                except BaseException as e:
                    failed(h, t0, True, (bufsize, flags, dg), e)
                    raise
                waited = (now() - t0) // 1000
            n = len(d)
            put(end(h) + b"\t%d\tok\t%d\t%d\t%d\t%d\t%d\n" % (
                waited, bufsize, flags, dg, n, rem(self, fd, n, bufsize)),
                d if n <= DATA_MAX else d[:DATA_MAX])
            return d

        def recv_into(self, *a, **k):
            if not on[0]:
                return c_recv_into.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"recv_into", fd, getframe(1))
            got = named(a, k, ("buffer", "nbytes", "flags"), 1)
            mv = None
            if got is not None and cint(got.get("flags", 0)):
                mv = writable(got["buffer"], got.get("nbytes", 0))
            if mv is None:
                return misuse(h, NOT_SHOWN, lambda: c_recv_into.__get__(self)(*a, **k))
            # The view is let go however the call ends: a frame kept by a
            # traceback would otherwise keep the buffer from being resized.
            try:
                return self._recv_into(h, fd, mv, got["buffer"], got.get("nbytes", 0),
                                       got.get("flags", 0))
            finally:
                mv.release()

        def _recv_into(self, h, fd, mv, buffer, nbytes, flags):
            size = nbytes or mv.nbytes
            dg = dgram_size(self, fd) if ctype(self) == DGRAM else -1
            waited = -1
            args = (size, flags, dg)
            if c_gettimeout(self) is None and not flags & MSG_WAITALL:
                try:
                    n = c_recv_into(self, buffer, nbytes, flags | MSG_DONTWAIT)
                except BlockingIOError:
                    n = None
                except BaseException as e:
                    failed(h, 0, False, args, e)
                    raise
            else:
                n = None
                if c_gettimeout(self) == 0.0 or ready(fd):
                    try:
                        n = c_recv_into(self, buffer, nbytes, flags)
                    except BaseException as e:
                        failed(h, 0, False, args, e)
                        raise
            if n is None:
                t0 = now()
                begin(b"W", b"recv_into", fd, args + wait_local(self), getframe(2))
                try:
                    n = c_recv_into(self, buffer, nbytes, flags)
                except BaseException as e:
                    failed(h, t0, True, args, e)
                    raise
                waited = (now() - t0) // 1000
            put(end(h) + b"\t%d\tok\t%d\t%d\t%d\t%d\t%d\n" % (
                waited, size, flags, dg, n, rem(self, fd, n, size)),
                bytes(mv[:min(n, DATA_MAX)]))
            return n

        def recvfrom(self, *a, **k):
            if not on[0]:
                return c_recvfrom.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"recvfrom", fd, getframe(1))
            if k or not 1 <= len(a) <= 2 or not csize(a[0]) or (len(a) == 2 and not cint(a[1])):
                return misuse(h, NOT_SHOWN, lambda: c_recvfrom.__get__(self)(*a, **k))
            bufsize = a[0]
            flags = a[1] if len(a) == 2 else 0
            dg = dgram_size(self, fd)
            args = (bufsize, flags, dg)
            waited = -1
            if c_gettimeout(self) == 0.0 or ready(fd):
                t0 = 0
                try:
                    r = c_recvfrom(self, bufsize, flags)
                except BaseException as e:
                    failed(h, 0, False, args, e)
                    raise
            else:
                t0 = now()
                begin(b"W", b"recvfrom", fd, args + wait_local(self), getframe(1))
                try:
                    if ctype(self) == DGRAM:
                        dg = dgram_when_ready(self, fd)
                        args = (bufsize, flags, dg)
                    r = c_recvfrom(self, bufsize, flags)
                except BaseException as e:
                    failed(h, t0, True, args, e)
                    raise
                waited = (now() - t0) // 1000
            n = len(r[0])
            put(end(h) + b"\t%d\tok\t%d\t%d\t%d\t%d\t%b\t%d\n" % (
                waited, bufsize, flags, dg, n, addr(r[1]), rem(self, fd, n, bufsize)),
                r[0] if n <= DATA_MAX else r[0][:DATA_MAX])
            return r

        def recvfrom_into(self, *a, **k):
            if not on[0]:
                return c_recvfrom_into.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"recvfrom_into", fd, getframe(1))
            got = named(a, k, ("buffer", "nbytes", "flags"), 1)
            mv = None
            if got is not None and cint(got.get("flags", 0)):
                mv = writable(got["buffer"], got.get("nbytes", 0))
            if mv is None:
                return misuse(h, NOT_SHOWN, lambda: c_recvfrom_into.__get__(self)(*a, **k))
            try:
                return self._recvfrom_into(h, fd, mv, got["buffer"], got.get("nbytes", 0),
                                           got.get("flags", 0))
            finally:
                mv.release()

        def _recvfrom_into(self, h, fd, mv, buffer, nbytes, flags):
            size = nbytes or mv.nbytes
            dg = dgram_size(self, fd)
            args = (size, flags, dg)

            def res(r):
                return (r[0], addr(r[1]), rem(self, fd, r[0], size))
            t0 = now()
            will = c_gettimeout(self) != 0.0 and not ready(fd)
            if will:
                begin(b"W", b"recvfrom_into", fd, args + wait_local(self), getframe(2))
            try:
                r = c_recvfrom_into(self, buffer, nbytes, flags)
            except BaseException as e:
                failed(h, t0, will, args, e)
                raise
            done(h, t0, will, args, res(r), bytes(mv[:min(r[0], DATA_MAX)]))
            return r

        def send(self, *a, **k):
            if not on[0]:
                return c_send.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"send", fd, getframe(1))
            view = None
            if not k and 1 <= len(a) <= 2 and (len(a) == 1 or cint(a[1])):
                view = readable(a[0])
            if view is None:
                return misuse(h, NOT_SHOWN, lambda: c_send.__get__(self)(*a, **k))
            # Let go however the call ends (a traceback keeps the frame).
            try:
                return self._send(h, fd, view, a[0], a[1] if len(a) == 2 else 0)
            finally:
                view.release()

        def _send(self, h, fd, view, data, flags):
            total = len(view)
            n = None
            sent = 0
            if c_gettimeout(self) is None:
                try:
                    sent = c_send(self, data, flags | MSG_DONTWAIT)
                    # A blocking stream send takes everything: the rest waits.
                    if sent == total or ctype(self) != STREAM:
                        n = sent
                except BlockingIOError:
                    pass
                except BaseException as e:
                    failed(h, 0, False, (total, flags, -1), e)
                    raise
            elif c_gettimeout(self) == 0.0 or ready(fd, True):
                try:
                    n = c_send(self, data, flags)
                except BaseException as e:
                    failed(h, 0, False, (total, flags, -1), e)
                    raise
            waited = -1
            q = -1
            if n is None:
                t0 = now()
                q = ioctl_int(fd, SIOCOUTQ)
                begin(b"W", b"send", fd, (total, flags, q, sent), getframe(2))
                try:
                    n = sent + c_send(self, view[sent:], flags)
                except BaseException as e:
                    failed(h, t0, True, (total, flags, q), e)
                    raise
                waited = (now() - t0) // 1000
            put(end(h) + b"\t%d\tok\t%d\t%d\t%d\t%d\n" % (waited, total, flags, q, n),
                view[:min(n, DATA_MAX)].tobytes())
            return n

        def sendall(self, *a, **k):
            if not on[0]:
                return c_sendall.__get__(self)(*a, **k)
            fd = c_fileno(self)
            h = head(b"R", b"sendall", fd, getframe(1))
            view = None
            if not k and 1 <= len(a) <= 2 and (len(a) == 1 or cint(a[1])):
                view = readable(a[0])
            if view is None:
                return misuse(h, NOT_SHOWN, lambda: c_sendall.__get__(self)(*a, **k))
            try:
                return self._sendall(h, fd, view, a[0], a[1] if len(a) == 2 else 0)
            finally:
                view.release()

        def _sendall(self, h, fd, view, data, flags):
            total = len(view)
            sent = 0
            if c_gettimeout(self) is None:
                try:
                    sent = c_send(self, data, flags | MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                except BaseException as e:
                    failed(h, 0, False, (total, flags, -1), e)
                    raise
            waited = -1
            q = -1
            if sent < total:
                t0 = now()
                q = ioctl_int(fd, SIOCOUTQ)
                will = c_gettimeout(self) != 0.0 and (sent > 0 or not ready(fd, True))
                if will:
                    begin(b"W", b"sendall", fd, (total, flags, q, sent), getframe(2))
                try:
                    c_sendall(self, view[sent:], flags)
                except BaseException as e:
                    failed(h, t0, will, (total, flags, q), e)
                    raise
                if will:
                    waited = (now() - t0) // 1000
            put(end(h) + b"\t%d\tok\t%d\t%d\t%d\n" % (waited, total, flags, q),
                view[:min(total, DATA_MAX)].tobytes())

        def sendto(self, *a, **k):
            if not on[0]:
                return c_sendto.__get__(self)(*a, **k)
            f = getframe(1)
            fd = c_fileno(self)
            view = None
            if not k and 2 <= len(a) <= 3 and (len(a) == 2 or cint(a[1])):
                view = readable(a[0])
            if view is None:
                return misuse(head(b"R", b"sendto", fd, f), (-1, 0, b"-"),
                              lambda: c_sendto.__get__(self)(*a, **k))
            flags = a[1] if len(a) == 3 else 0
            args = (len(view), flags, addr(a[-1]))
            try:
                return self._wrap(f, b"sendto", args, lambda: c_sendto(self, *a),
                                  lambda: c_gettimeout(self) != 0.0 and not ready(fd, True),
                                  lambda n: (n, local_of(self)),
                                  lambda n: view[:min(n, DATA_MAX)].tobytes())
            finally:
                view.release()

        def sendfile(self, file, offset=0, count=None):
            if not on[0]:
                return Orig.sendfile(self, file, offset, count)
            return self._wrap(getframe(1), b"sendfile", (count if count is not None else "",),
                              lambda: Orig.sendfile(self, file, offset, count), bool,
                              lambda n: (n,))

        # sendmsg and recvmsg (so socket.send_fds and recv_fds): the bytes,
        # and the descriptors passed with SCM_RIGHTS; a socket received is
        # described (family, type, addresses), so sockplay follows it as
        # one of the program's own from its first call. Only arguments the
        # C call surely takes are read here (lists or tuples, which reading
        # does not use up); anything else goes to the real call as given.
        def sendmsg(self, *a, **k):
            if not on[0]:
                return c_sendmsg.__get__(self)(*a, **k)
            f = getframe(1)
            fd = c_fileno(self)
            views = msg_views(a, k)
            if views is None:
                return misuse(head(b"R", b"sendmsg", fd, f), NOT_SHOWN,
                              lambda: c_sendmsg.__get__(self)(*a, **k))
            try:
                data = b"".join(views)
            finally:
                for v in views:
                    v.release()
            passed = []
            for level, kind, body in (a[1] if len(a) > 1 else ()):
                if level == SOL_SOCKET and kind == SCM_RIGHTS:
                    raw = bytes(memoryview(body).cast("B"))
                    raw = raw[:len(raw) - len(raw) % 4]
                    passed.extend(int.from_bytes(raw[i:i + 4], ORDER, signed=True)
                                  for i in range(0, len(raw), 4))
            flags = a[2] if len(a) > 2 else 0
            args = (len(data), flags, ",".join(str(x) for x in passed[:64]))
            return self._wrap(f, b"sendmsg", args, lambda: c_sendmsg(self, *a),
                              lambda: c_gettimeout(self) != 0.0 and not ready(fd, True),
                              lambda n: (n,),
                              lambda n: data[:min(n, DATA_MAX)])

        def recvmsg(self, *a, **k):
            if not on[0]:
                return c_recvmsg.__get__(self)(*a, **k)
            f = getframe(1)
            fd = c_fileno(self)
            if (k or not 1 <= len(a) <= 3 or not csize(a[0])
                    or (len(a) > 1 and not csize(a[1])) or (len(a) > 2 and not cint(a[2]))):
                return misuse(head(b"R", b"recvmsg", fd, f), NOT_SHOWN,
                              lambda: c_recvmsg.__get__(self)(*a, **k))
            bufsize = a[0]
            anc = a[1] if len(a) > 1 else 0
            flags = a[2] if len(a) > 2 else 0

            def res(r):
                msg, ancdata, mflags, peer = r
                got = []
                for level, kind, body in ancdata:
                    if level == SOL_SOCKET and kind == SCM_RIGHTS:
                        body = body[:len(body) - len(body) % 4]
                        got.extend(int.from_bytes(body[i:i + 4], ORDER, signed=True)
                                   for i in range(0, len(body), 4))
                out = [len(msg), mflags, addr(peer), ",".join(str(x) for x in got[:64])]
                for x in got[:8]:
                    out.extend(describe_fd(x))
                return tuple(out)
            return self._wrap(f, b"recvmsg", (bufsize, anc, flags),
                              lambda: c_recvmsg(self, *a),
                              lambda: c_gettimeout(self) != 0.0 and not ready(fd),
                              res, lambda r: r[0][:DATA_MAX], lambda: wait_local(self))

        def _real_close(self, _ss=C):
            if on[0]:
                try:
                    fd = c_fileno(self)
                except Exception:
                    fd = -1
                if fd >= 0:
                    try:
                        st = -1
                        unread = 0
                        queued = 0
                        linger0 = 0
                        if is_tcp(self):
                            st, queued, _mx = tcp_info(self)
                            if st == 1:
                                unread = ioctl_int(fd, FIONREAD)
                            try:
                                lg = c_getsockopt(self, int(_sm.SOL_SOCKET), int(_sm.SO_LINGER), 8)
                                linger0 = int(lg[:4] != b"\0\0\0\0" and lg[4:] == b"\0\0\0\0")
                            except OSError:
                                pass
                        # The socket's inode: another process may hold it too
                        # (passed with SCM_RIGHTS), and then this close ends
                        # nothing.
                        try:
                            ino = _os.fstat(fd).st_ino
                        except OSError:
                            ino = 0
                        h = head(b"R", b"close", fd, getframe(1))
                    except Exception:
                        off()
                        return _ss.close(self)
                    # A close that raises (its descriptor was closed behind
                    # its back) is the program's error, said as any other.
                    args = (st, unread, queued, linger0, ino)
                    try:
                        _ss.close(self)
                    except BaseException as e:
                        failed(h, 0, False, args, e)
                        raise
                    put(end(h) + b"\t-1\tok\t%d\t%d\t%d\t%d\t%d\n" % args)
                    return
            _ss.close(self)

        def shutdown(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_shutdown, b"shutdown", a, k)
            how, = a
            if not on[0]:
                return c_shutdown(self, how)
            return self._wrap(getframe(1), b"shutdown", (num(how),),
                              lambda: c_shutdown(self, how), bool)

        def setsockopt(self, *a, **k):
            if k or not 3 <= len(a) <= 4:
                return self._refused(c_setsockopt, b"setsockopt", a, k)
            level, option, value = a[:3]
            rest = a[3:]
            if not on[0]:
                return c_setsockopt(self, level, option, value, *rest)
            if isinstance(value, (bytes, bytearray)):
                shown = "b:" + bytes(value).hex()
            elif value is None:
                shown = "none"
            else:
                shown = num(value)
            return self._wrap(getframe(1), b"setsockopt", (num(level), num(option), shown),
                              lambda: c_setsockopt(self, level, option, value, *rest), bool)

        # Queries: reported when the program asks, not when the library does.
        def getsockopt(self, *a, **k):
            if k or not 2 <= len(a) <= 3:
                return self._refused(c_getsockopt, b"getsockopt", a, k)
            level, option = a[:2]
            buflen = a[2:]
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return c_getsockopt(self, level, option, *buflen)
            return self._wrap(f, b"getsockopt", (num(level), num(option), num(buflen[0]) if buflen else ""),
                              lambda: c_getsockopt(self, level, option, *buflen), bool,
                              lambda r: (b(repr(r)),))

        def settimeout(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_settimeout, b"settimeout", a, k)
            value, = a
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return c_settimeout(self, value)
            return self._wrap(f, b"settimeout", (timeout_text(value),),
                              lambda: c_settimeout(self, value), bool)

        def setblocking(self, *a, **k):
            if k or len(a) != 1:
                return self._refused(c_setblocking, b"setblocking", a, k)
            flag, = a
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return c_setblocking(self, flag)
            return self._wrap(f, b"setblocking", (int(bool(flag)),),
                              lambda: c_setblocking(self, flag), bool)

        def fileno(self, *a, **k):
            if k or len(a) != 0:
                return self._refused(c_fileno, b"fileno", a, k)
            # Called all the time by the library (selectors, socket.py):
            # reported only when the program asks.
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs) or f.f_code.co_filename == here:
                return c_fileno(self)
            return self._wrap(f, b"fileno", (), lambda: c_fileno(self), bool,
                              lambda r: (r,))

        def getsockname(self, *a, **k):
            if k or len(a) != 0:
                return self._refused(c_getsockname, b"getsockname", a, k)
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return c_getsockname(self)
            return self._wrap(f, b"getsockname", (), lambda: c_getsockname(self), bool,
                              lambda r: (addr(r),))

        def getpeername(self, *a, **k):
            if k or len(a) != 0:
                return self._refused(c_getpeername, b"getpeername", a, k)
            f = getframe(1)
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return c_getpeername(self)
            return self._wrap(f, b"getpeername", (), lambda: c_getpeername(self), bool,
                              lambda r: (addr(r),))

    def named_as(fn, qualname):
        # A wrong call of a Python-level method is told with the code's
        # name (`socket.accept() takes 1 positional argument...`): the
        # socket module's, not this module's.
        try:
            fn.__code__ = fn.__code__.replace(co_qualname=qualname)
        except (AttributeError, TypeError, ValueError):
            pass
        fn.__qualname__ = qualname

    for name, fn in list(vars(socket).items()):
        if isinstance(fn, types.FunctionType):
            named_as(fn, "socket." + name)
    socket.__name__ = "socket"
    socket.__qualname__ = "socket"
    socket.__module__ = "socket"
    socket.__doc__ = Orig.__doc__
    _sm.socket = socket

    # socketpair: both ends.
    orig_socketpair = _sm.socketpair

    def socketpair(*a, **k):
        pair = orig_socketpair(*a, **k)
        if on[0]:
            try:
                h = head(b"R", b"socketpair", c_fileno(pair[0]), getframe(1))
                put(end(h) + b"\t-1\tok\t%d\t%d\t%d\n" % (
                    cfamily(pair[0]), ctype(pair[0]), c_fileno(pair[1])))
            except Exception:
                off()
        return pair
    socketpair.__doc__ = orig_socketpair.__doc__
    _sm.socketpair = socketpair

    # --- the module's functions the course uses ----------------------------------------
    def wrap_function(name):
        orig = getattr(_sm, name, None)
        if orig is None:
            return

        def fn(*a, **k):
            f = getframe(1)
            # Reported when the program asks, not when the library does
            # (create_connection's getaddrinfo).
            if not on[0] or f.f_code.co_filename.startswith(libs):
                return orig(*a, **k)
            try:
                h = head(b"R", name.encode(), -1, f)
                shown = ", ".join([repr(x) for x in a] + ["%s=%r" % kv for kv in k.items()])
            except Exception:
                off()
                return orig(*a, **k)
            args = (b(shown[:300]),)
            try:
                r = orig(*a, **k)
            except BaseException as e:
                failed(h, 0, False, args, e)
                raise
            done(h, 0, False, args, (b(repr(r)[:2000]),))
            return r
        fn.__name__ = name
        fn.__doc__ = orig.__doc__
        setattr(_sm, name, fn)

    for name in ("gethostname", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                 "getservbyname", "getservbyport", "inet_aton", "inet_ntoa", "inet_pton",
                 "inet_ntop", "htons", "ntohs", "htonl", "ntohl", "getfqdn", "getaddrinfo"):
        wrap_function(name)

    # --- waiting on several sockets -----------------------------------------------------
    def fds_text(objs):
        out = []
        for o in objs:
            try:
                out.append(str(o if isinstance(o, int) else o.fileno()))
            except Exception:
                out.append("?")
        return ",".join(out).encode()

    def select(*a, **k):
        # The arguments as the program gave them; a timeout that select
        # refuses (not a number, negative, NaN, too large) is refused by
        # select itself, with no look first that could answer before.
        if not on[0]:
            return orig_select(*a, **k)
        timeout = a[3] if len(a) == 4 else None
        if k or len(a) not in (3, 4) or not (
                timeout is None or (isinstance(timeout, (int, float))
                                    and 0 <= timeout <= 0x7FFFFFFF // 1000)):
            return misuse(head(b"R", b"select", -1, getframe(1)), (b"", b"", b"", b""),
                          lambda: orig_select(*a, **k))
        r, w, x = a[:3]
        t0 = now()
        try:
            args = (fds_text(r), fds_text(w), fds_text(x), timeout_text(timeout))
            h = head(b"R", b"select", -1, getframe(1))
        except Exception:
            off()
            return orig_select(r, w, x, timeout)
        try:
            res = orig_select(r, w, x, 0)
        except BaseException as e:
            failed(h, t0, False, args, e)
            raise
        waited = False
        if not (res[0] or res[1] or res[2]) and timeout != 0:
            waited = True
            begin(b"W", b"select", -1, args, getframe(1))
            try:
                res = orig_select(r, w, x, timeout)
            except BaseException as e:
                failed(h, t0, True, args, e)
                raise
        nread = []
        for o in res[0]:
            try:
                fd = o if isinstance(o, int) else o.fileno()
                nread.append("%d:%d" % (fd, ioctl_int(fd, FIONREAD)))
            except Exception:
                pass
        done(h, t0, waited, args, (fds_text(res[0]), fds_text(res[1]), fds_text(res[2]),
                                   ",".join(nread)))
        return res
    select.__doc__ = orig_select.__doc__
    _sel.select = select
    try:
        _sels.SelectSelector._select = staticmethod(select)
    except AttributeError:
        pass

    def poll_like(Base, call):
        # select.poll and select.epoll: the registered fds are remembered
        # so that a wait can say what it waits for.
        class Poll:
            __slots__ = ("_p", "_fds", "__weakref__")

            def __init__(self, *a, **k):
                self._p = Base(*a, **k)
                self._fds = {}

            # The real call first, with what the program gave: it says what
            # is wrong with it; only what it took is remembered.
            def register(self, *a, **k):
                r = self._p.register(*a, **k)
                self._note(a, k, 7)
                return r

            def modify(self, *a, **k):
                r = self._p.modify(*a, **k)
                self._note(a, k, 7)
                return r

            def unregister(self, *a, **k):
                r = self._p.unregister(*a, **k)
                try:
                    self._fds.pop(a[0] if isinstance(a[0], int) else a[0].fileno(), None)
                except Exception:
                    pass
                return r

            def _note(self, a, k, default):
                try:
                    fd = a[0] if a else k["fd"]
                    mask = a[1] if len(a) > 1 else k.get("eventmask", default)
                    self._fds[int(fd) if isinstance(fd, int) else fd.fileno()] = int(mask)
                except Exception:
                    pass

            def poll(self, *a, **k):
                # The arguments as the program gave them (epoll's poll takes
                # timeout= and maxevents=; poll's takes no keywords, and then
                # says so itself).
                timeout = a[0] if a else k.get("timeout")
                # A timeout the call would refuse (not a number, NaN, too
                # large), or given twice: the call says so, with no look
                # first that could answer before it refuses.
                limit = 0x7FFFFFFF if call == b"poll" else 0x7FFFFFFF // 1000
                if (not on[0] or (k and call == b"poll") or (a and "timeout" in k)
                        or not (timeout is None or (isinstance(timeout, (int, float))
                                                    and -limit <= timeout <= limit))):
                    return self._p.poll(*a, **k)
                rest = {x: v for x, v in k.items() if x != "timeout"}
                t0 = now()
                reg = ",".join("%d:%d" % kv for kv in self._fds.items()).encode()
                args = (reg, b"" if timeout is None else b(repr(timeout)))
                h = head(b"R", call, -1, getframe(1))
                try:
                    res = self._p.poll(0, *a[1:], **rest)
                except BaseException as e:
                    failed(h, t0, False, args, e)
                    raise
                waited = False
                if not res and timeout != 0:
                    waited = True
                    begin(b"W", call, -1, args, getframe(1))
                    try:
                        res = self._p.poll(*a, **k)
                    except BaseException as e:
                        failed(h, t0, True, args, e)
                        raise
                # Bytes queued on each readable one, to say why it is.
                nread = ",".join("%d:%d" % (fd, ioctl_int(fd, FIONREAD))
                                 for fd, ev in res if ev & 1 and fd >= 0)
                done(h, t0, waited, args, (",".join("%d:%d" % kv for kv in res).encode(), nread))
                return res

            def __getattr__(self, name):
                return getattr(self._p, name)

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self._p.close()

        Poll.__name__ = Base.__name__
        Poll.__qualname__ = Base.__name__
        return Poll

    if hasattr(_sel, "poll"):
        _sel.poll = poll_like(_sel.poll, b"poll")
        try:
            _sels.PollSelector._selector_cls = _sel.poll
        except AttributeError:
            pass
    if hasattr(_sel, "epoll"):
        orig_epoll = _sel.epoll
        Epoll = poll_like(orig_epoll, b"epoll")
        Epoll.fromfd = staticmethod(orig_epoll.fromfd)
        _sel.epoll = Epoll
        try:
            _sels.EpollSelector._selector_cls = Epoll
        except AttributeError:
            pass

    # --- waits that are not socket calls --------------------------------------------------
    # Known to sockplay so that it can tell a program that waits (for a
    # line, a thread, the clock) from one that works.
    def timed(call, orig, args_of):
        def fn(*a, **k):
            if not on[0]:
                return orig(*a, **k)
            t0 = now()
            try:
                shown = args_of(a)
                if call == b"input":
                    sync()
                    if OUT == "report" and len(a) == 1 and not k and _sys.stdout is not None:
                        # The prompt first, then the wait: the prompt is
                        # shown before sockplay says the program waits.
                        _sys.stdout.write(str(a[0]))
                        _sys.stdout.flush()
                        a = ()
                h = begin(b"W", call, -1, shown, getframe(1))
            except Exception:
                off()
                return orig(*a, **k)
            try:
                r = orig(*a, **k)
            except BaseException as e:
                failed(h, t0, True, (), e)
                raise
            done(h, t0, True, (), ())
            return r
        fn.__name__ = orig.__name__
        fn.__doc__ = orig.__doc__
        return fn

    builtins.input = timed(b"input", builtins.input, lambda a: (b(repr(a[0])) if a else b"''",))
    _time.sleep = timed(b"sleep", orig_sleep, lambda a: (repr(float(a[0])).encode() if a else b"0",))
    orig_join = _th.Thread.join

    def join(self, timeout=None):
        if not on[0]:
            return orig_join(self, timeout)
        t0 = now()
        h = begin(b"W", b"join", -1, (b(self.name), timeout_text(timeout)), getframe(1))
        try:
            r = orig_join(self, timeout)
        except BaseException as e:
            failed(h, t0, True, (), e)
            raise
        done(h, t0, True, (), ())
        return r
    join.__doc__ = orig_join.__doc__
    named_as(join, "Thread.join")
    _th.Thread.join = join

    # --- the order of the program's own output --------------------------------------------
    # In the foreground the program writes to the terminal itself; before it
    # does, sockplay is asked to show every report sent so far (one round
    # trip, and only when something was reported since the last one).
    def sync():
        flush()
        if not sync_on[0] or not dirty[0] or not on[0]:
            return
        if not sync_lock.take():
            return
        try:
            dirty[0] = False
            msg = b"Y\t%d\t0\n" % me[0]
            write(FD, len(msg).to_bytes(4, "little") + msg)
            if orig_select([FD], [], [], 2.0)[0]:
                _os.read(FD, 64)
            else:
                sync_on[0] = False
        except (OSError, ValueError):
            sync_on[0] = False
        finally:
            sync_lock.give()

    # The program's prints leave here a whole line at a time, each thread's
    # apart: print() writes its words and its end one by one, and a report,
    # or another thread's words, shown in between would land inside the
    # line. What has no end yet waits, as in the line-buffered stdout of a
    # terminal: until its line ends, the program flushes (input() does, and
    # print(flush=True)), LINE_WAIT characters gather, or the program ends.
    LINE_WAIT = 8192
    # Characters in one report of text: a frame stays far below what
    # sockplay takes for a report.
    TEXT_MAX = 65536
    outs = []

    class Out:
        __slots__ = ("_f", "_n", "_parts", "_lock")

        def __init__(self, f, n):
            self._f = f
            self._n = n
            self._parts = {}
            self._lock = Lock()

        def _emit(self, text):
            if OUT == "report" and on[0]:
                h = b"O\t%d\t%d\n" % (me[0], self._n)
                for k in range(0, len(text), TEXT_MAX):
                    put(h, text[k:k + TEXT_MAX].encode("utf-8", "backslashreplace"))
            else:
                sync()
                self._f.write(text)

        def write(self, s):
            if s.__class__ is not str:
                sync()
                return self._f.write(s)
            if not self._lock.take():
                # A signal handler printing while its thread is here.
                self._emit(s)
                return len(s)
            try:
                t = get_ident()
                text = self._parts.pop(t, "") + s
                k = text.rfind("\n") + 1
                if k == 0:
                    if len(text) < LINE_WAIT:
                        self._parts[t] = text
                        return len(s)
                    k = len(text)
                if k < len(text):
                    self._parts[t] = text[k:]
                self._emit(text[:k])
            finally:
                self._lock.give()
            return len(s)

        def writelines(self, lines):
            for line in lines:
                self.write(line)

        def drain(self):
            # Every thread's text that has no end yet, as it is.
            if not self._parts or not self._lock.take():
                return
            try:
                parts = list(self._parts.values())
                self._parts.clear()
                for text in parts:
                    self._emit(text)
            finally:
                self._lock.give()

        def flush(self):
            self.drain()
            if OUT == "report":
                flush()
            return self._f.flush()

        def __getattr__(self, name):
            return getattr(self._f, name)

    if OUT in ("sync", "report"):
        if _sys.stdout is not None:
            _sys.stdout = Out(_sys.stdout, 1)
            outs.append(_sys.stdout)
        if _sys.stderr is not None:
            _sys.stderr = Out(_sys.stderr, 2)
            outs.append(_sys.stderr)

    # --- tracebacks ----------------------------------------------------------
    # A traceback shows the program's frames and the library's, not this
    # module's: the learner sees what Python shows without sockplay.

    def strip(tb):
        kept = []
        n = 0
        while tb is not None and n < 10000:
            if tb.tb_frame.f_code.co_filename != here:
                kept.append(tb)
            tb = tb.tb_next
            n += 1
        new = None
        for t in reversed(kept):
            new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
        return new

    def clean(v, depth=0):
        if v is None or depth > 20:
            return
        try:
            v.__traceback__ = strip(v.__traceback__)
        except Exception:
            return
        clean(v.__cause__, depth + 1)
        clean(v.__context__, depth + 1)

    orig_excepthook = _sys.excepthook

    def excepthook(t, v, tb):
        try:
            clean(v)
            tb = v.__traceback__
        except Exception:
            pass
        orig_excepthook(t, v, tb)
    _sys.excepthook = excepthook
    orig_thread_hook = _th.excepthook

    def thread_excepthook(args):
        try:
            clean(args.exc_value)
            args = _th.ExceptHookArgs([args.exc_type, args.exc_value,
                                       args.exc_value.__traceback__, args.thread])
        except Exception:
            pass
        orig_thread_hook(args)
    _th.excepthook = thread_excepthook

    # And the tracebacks a program prints itself (traceback.print_exc(),
    # logging.exception(), format_exc(), extract_tb(), print_tb()): every
    # way of the traceback module into a traceback goes through one of its
    # two walkers (the second is 3.11's, and TracebackException's).
    import traceback as _tbm

    def hide_in(name):
        orig = getattr(_tbm, name, None)
        if orig is None:
            return

        def walk(tb, *a, **k):
            try:
                tb = strip(tb)
            except Exception:
                pass
            return orig(tb, *a, **k)
        walk.__name__ = orig.__name__
        walk.__doc__ = orig.__doc__
        setattr(_tbm, name, walk)

    hide_in("walk_tb")
    hide_in("_walk_tb_with_full_positions")

    # --- processes -----------------------------------------------------------------------------
    def hello():
        put_now(b"H\t%d\t%d\t%b\n" % (me[0], _os.getppid(), b(_os.getcwd())))

    def before_fork():
        try:
            flush()
        except Exception:
            pass

    def forked():
        # The locks are new: another thread of the parent (the flusher, one
        # that was writing) may have held one at the fork, and it is not
        # here to give it back.
        nonlocal flush_lock, sync_lock
        flush_lock = Lock()
        sync_lock = Lock()
        for o in outs:
            o._lock = Lock()
        me[0] = _os.getpid()
        me[1] += 1
        queue.clear()
        locs.clear()
        by_line.clear()
        nlocs[0] = 0
        hello()
        _thread.start_new_thread(flusher, ())

    # A forked child often ends with os._exit, which skips atexit: what it
    # reported is written first.
    orig_exit = _os._exit

    def _exit(status):
        try:
            for o in outs:
                o.drain()
            flush()
        except BaseException:
            pass
        orig_exit(status)
    _exit.__doc__ = orig_exit.__doc__
    _os._exit = _exit

    _os.register_at_fork(before=before_fork, after_in_child=forked)
    atexit.register(flush)
    hello()
    _thread.start_new_thread(flusher, ())


try:
    _sockplay_install()
except Exception:
    pass
del _sockplay_install


def _sockplay_chain():
    # The next sitecustomize on the path (a virtualenv's, the system's), and
    # sys.path as the program would have had it.
    import importlib
    here = _os.path.dirname(_os.path.abspath(__file__))
    mine = _sys.modules.get("sitecustomize")
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
    del _sys.modules["sitecustomize"]
    try:
        importlib.import_module("sitecustomize")
    except ModuleNotFoundError as e:
        if e.name != "sitecustomize":
            raise
        _sys.modules["sitecustomize"] = mine


_sockplay_chain()
del _sockplay_chain
