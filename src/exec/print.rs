//! Python's `print()` on the Python surface: `print('from',
//! c.getpeername())`, `print(sock.recv(1024).decode('utf-8'))`,
//! `print(s.family)`. Each call runs as its statement would (its waits and
//! notes are shown, its sockets join the table); then the line Python
//! prints: each part's `str()`, separated by blanks.

use super::{Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::syntax::ast::PrintArg;
use crate::value::{Value, addr_repr, escape_controls, family_number, kind_number};

/// A sink that passes what a call says while it runs (its waits), holds
/// what it says about its result until the printed line is out, and
/// drops the values (print shows them its own way).
struct NoValues<'a> {
    out: &'a mut dyn Sink,
    after: &'a mut Vec<Item>,
}

impl Sink for NoValues<'_> {
    fn emit(&mut self, item: Item) {
        match item {
            Item::Value { .. } => {}
            Item::Waiting { .. }
            | Item::NoWait(_)
            | Item::Waited(_)
            | Item::Progress(_)
            | Item::Done(_)
            | Item::JobStarted { .. } => self.out.emit(item),
            other => self.after.push(other),
        }
    }

    fn idle(&mut self) {
        self.out.idle();
    }
}

impl Session {
    pub(super) fn print_cmd(
        &mut self,
        args: &[PrintArg],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let mut parts = Vec::new();
        let mut enum_shown = false;
        let mut after = Vec::new();
        for a in args {
            let v = match a {
                PrintArg::Value(e) => self.eval(e)?,
                PrintArg::Call(cmd) => {
                    let ret = {
                        let mut quiet = NoValues {
                            out: &mut *out,
                            after: &mut after,
                        };
                        self.command(cmd, &mut quiet)
                    };
                    let ret = match ret {
                        Ok(r) => r,
                        Err(e) => {
                            for it in after {
                                out.emit(it);
                            }
                            return Err(e);
                        }
                    };
                    if ret.job {
                        return Ok(Ret::none());
                    }
                    let values = ret.values.clone();
                    {
                        let mut quiet = NoValues {
                            out: &mut *out,
                            after: &mut after,
                        };
                        self.finish(&[], ret, &mut quiet);
                    }
                    match values.len() {
                        0 => Value::None,
                        1 => values.into_iter().next().unwrap_or(Value::None),
                        _ => Value::Tuple(values),
                    }
                }
            };
            enum_shown |= matches!(v, Value::Family(_) | Value::Kind(_));
            parts.push(self.py_str(&v));
        }
        // Python's print ends a line at each newline of a str; every other
        // control character stays escaped (this goes to a terminal).
        for line in parts.join(" ").split('\n') {
            out.emit(Item::Echo(escape_controls(line)));
        }
        for it in after {
            out.emit(it);
        }
        if enum_shown && !self.told_print_enum {
            self.told_print_enum = true;
            out.emit(Item::Note(
                "print() shows AddressFamily and SocketKind as their numbers (Python 3.11 and later); the value alone, or repr(), shows the name".into(),
            ));
        }
        Ok(Ret::none())
    }

    /// Python's `str()` of a value, safe for the terminal.
    fn py_str(&self, v: &Value) -> String {
        match v {
            // Escaped line by line when printed.
            Value::Str(s) => s.to_string(),
            Value::Family(f) => family_number(*f).to_string(),
            Value::Kind(k) => kind_number(*k).to_string(),
            Value::Socket(h) => self.socket_repr(*h),
            // An AF_UNIX address is a str in Python: its str() is the path
            // itself, without quotes (an abstract one is bytes: its repr).
            Value::Addr(a) if let Some(p) = a.as_pathname() => p.to_string_lossy().into_owned(),
            Value::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(|i| self.py_repr(i)).collect();
                if items.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Value::List(items) => {
                let inner: Vec<String> = items.iter().map(|i| self.py_repr(i)).collect();
                format!("[{}]", inner.join(", "))
            }
            other => other.repr(),
        }
    }

    /// Python's `repr()` (inside a tuple or list): a socket as Python
    /// shows one.
    fn py_repr(&self, v: &Value) -> String {
        match v {
            Value::Socket(h) => self.socket_repr(*h),
            Value::Tuple(_) | Value::List(_) => self.py_str(v),
            other => other.repr(),
        }
    }

    /// `<socket.socket fd=3, family=2, type=1, proto=0, laddr=(...)>`, as
    /// Python's socket.__repr__ writes it.
    fn socket_repr(&self, h: crate::value::SockHandle) -> String {
        let Some(e) = self.table.get(h) else {
            return "<socket.socket [closed] fd=-1, family=2, type=1, proto=0>".into();
        };
        let mut s = format!(
            "<socket.socket fd={}, family={}, type={}, proto=0",
            e.fd(),
            family_number(e.family),
            kind_number(e.kind)
        );
        if let Ok(a) = e.sock.local_addr() {
            let r = addr_repr(&a);
            if r != "''" {
                s.push_str(&format!(", laddr={r}"));
            }
        }
        if let Ok(a) = e.sock.peer_addr() {
            let r = addr_repr(&a);
            if r != "''" {
                s.push_str(&format!(", raddr={r}"));
            }
        }
        s.push('>');
        s
    }
}
