//! Statement translation: one statement of the journal as Python lines
//! (its command's template filled, a bind's result, a serve's handler class,
//! a stop, a failure kept as the session had it). Apart from python.rs,
//! which frames the program (header, imports, threads for jobs, the names it
//! learns) and calls in here once per statement.

use super::*;

impl<F: Filter> W<'_, F> {
    /// The lines of one statement (not a job's thread around it).
    pub(super) fn statement(
        &mut self,
        step: &Step,
        values: &[Shown],
        error: Option<&ExecError>,
    ) -> Vec<String> {
        let cmd = &step.stmt.command;
        let lines = match cmd {
            Command::Sockets
            | Command::Info { .. }
            | Command::States { .. }
            | Command::Diagram { .. }
            | Command::Help { .. }
            | Command::Set { .. }
            | Command::Vars
            | Command::Jobs
            | Command::Peers { .. }
            | Command::Import { .. }
            | Command::Quit { .. }
            | Command::Source { .. }
            | Command::Lesson { .. }
            | Command::Expect(_)
            | Command::MacDef { .. }
            | Command::Export { .. }
            | Command::Record { .. } => {
                if !matches!(cmd, Command::Import { .. }) {
                    let word = step.text.split_whitespace().next().unwrap_or("");
                    self.views.insert(word.to_ascii_lowercase());
                }
                return Vec::new();
            }
            Command::Wait { .. } => return Vec::new(),
            // A program the session ran (`run`): the same program, run by
            // subprocess (in a job's thread for `run ... &`).
            Command::Run { argv } => {
                self.imports.insert("subprocess");
                vec![format!("subprocess.run({})", run_argv(argv))]
            }
            // The lab is sockplay's: the program runs on one machine (its
            // first comment says so).
            Command::Lab(_) => return Vec::new(),
            Command::Kill { .. } => {
                // A job that had ended is joined above; one still waiting
                // cannot be stopped in Python.
                let ids: Vec<String> = step
                    .joined
                    .iter()
                    .filter(|r| matches!(r.how, JobHow::Cancelled(_)))
                    .map(|r| format!("%{}", r.id))
                    .collect();
                if ids.is_empty() {
                    return Vec::new();
                }
                return vec![format!(
                    "# kill {}: a Python thread cannot be killed; the job's thread is a daemon thread and ends with the program",
                    ids.join(" ")
                )];
            }
            Command::Value(e) => self.value_statement(step, e, values),
            Command::Print { args } => {
                let mut parts = Vec::new();
                for a in args {
                    match a {
                        PrintArg::Value(v) => parts.push(pyexpr::value(&v.node, &self.kinds)),
                        PrintArg::Call(c) => match self.call_expr(step, c) {
                            Some(x) => parts.push(x),
                            None => {
                                self.commented += 1;
                                return vec![format!(
                                    "# {}  (sockplay's own; no Python form)",
                                    one_line(&step.text)
                                )];
                            }
                        },
                    }
                }
                vec![format!("print({})", parts.join(", "))]
            }
            Command::Echo { values: vs } => {
                let args: Vec<String> = vs
                    .iter()
                    .map(|v| pyexpr::value(&v.node, &self.kinds))
                    .collect();
                vec![format!("print({})", args.join(", "))]
            }
            Command::Serve {
                kind,
                udp,
                addr,
                dir,
            } => self.serve(step, *kind, *udp, addr.as_ref(), dir.as_ref()),
            Command::Stop { peer } => self.stop(peer),
            _ => match self.templated(step, values) {
                Some(l) => l,
                None => {
                    self.commented += 1;
                    return vec![format!(
                        "# {}  (sockplay's own; no Python form)",
                        one_line(&step.text)
                    )];
                }
            },
        };
        // A connect to a program the session ran (`connect k %1`): the
        // program may not listen yet when Python gets there (the shell
        // waited for it to settle).
        let lines = match cmd {
            Command::Connect {
                addr: AddrExpr::Word(w),
                ..
            } if error.is_none() && step.programs.iter().any(|(n, _)| *n == w.node) => {
                self.imports.insert("time");
                let mut out = vec![
                    format!(
                        "# {} is a program the session ran: it may not listen yet (its address is the one it had in the session)",
                        w.node
                    ),
                    "for _ in range(50):".to_string(),
                    "    try:".to_string(),
                ];
                out.extend(lines.iter().map(|l| format!("        {l}")));
                out.extend([
                    "        break".to_string(),
                    "    except ConnectionRefusedError:".to_string(),
                    "        time.sleep(0.1)".to_string(),
                    // Still refused after 5 s: the error, as Python says
                    // it, rather than a send on a socket never connected.
                    "else:".to_string(),
                ]);
                out.extend(lines.iter().map(|l| format!("    {l}")));
                out
            }
            _ => lines,
        };
        self.written += 1;
        match error {
            None => lines,
            Some(e) => self.failed(lines, e),
        }
    }

    /// The lines of a call that failed in the session: in try/except
    /// printing the same error when Python raises it too, else as
    /// comments.
    pub(super) fn failed(&mut self, lines: Vec<String>, e: &ExecError) -> Vec<String> {
        // Printing the values of a call that failed would print nothing
        // that exists: only the call.
        let lines: Vec<String> = lines
            .into_iter()
            .filter(|l| !l.starts_with("print(f'"))
            .collect();
        if let Some(class) = python_raises(e) {
            let mut out = vec!["try:".to_string()];
            out.extend(lines.iter().map(|l| format!("    {l}")));
            // Not a name of the session: `except ... as e` unbinds it.
            let var = self.made("e");
            out.push(format!("except {class} as {var}:"));
            out.push(format!("    print(f'{}: {{{var}}}')", e.exception));
            return out;
        }
        self.commented += 1;
        self.written -= 1;
        let why = if e.exception == "KeyboardInterrupt" {
            "interrupted with Ctrl-C in the session: here it would wait".to_string()
        } else {
            format!("in the session: {}", one_line(&e.to_string()))
        };
        let mut out: Vec<String> = lines.iter().map(|l| format!("# {l}")).collect();
        out.push(format!("#   ^ {why}"));
        out
    }

    /// A call inside `print(...)`, as one Python expression.
    pub(super) fn call_expr(&mut self, step: &Step, cmd: &Command) -> Option<String> {
        let mut inner = step.clone();
        inner.stmt.command = cmd.clone();
        inner.stmt.targets.clear();
        inner.values.clear();
        let lines = self.templated(&inner, &[])?;
        match lines.as_slice() {
            [one] if !is_statement_line(one) => Some(one.clone()),
            _ => None,
        }
    }

    /// `x = VALUE`, or a value alone (shown).
    pub(super) fn value_statement(
        &mut self,
        step: &Step,
        e: &Spanned<Expr>,
        values: &[Shown],
    ) -> Vec<String> {
        let v = pyexpr::value(&e.node, &self.kinds);
        let targets: Vec<&str> = step.stmt.targets.iter().map(|t| t.node.as_str()).collect();
        if targets.is_empty() {
            return vec![format!("print({v})")];
        }
        let mut out = vec![format!("{} = {v}", targets.join(", "))];
        out.extend(self.prints(values));
        out
    }

    /// `print(f'name = {name!r}')` for each bound value worth showing.
    pub(super) fn prints(&self, values: &[Shown]) -> Vec<String> {
        values
            .iter()
            .filter_map(|v| {
                let n = v.name.as_ref()?;
                (!v.val.has_socket()).then(|| format!("print(f'{n} = {{{n}!r}}')"))
            })
            .collect()
    }

    /// A call through its command's Python template.
    pub(super) fn templated(&mut self, step: &Step, values: &[Shown]) -> Option<Vec<String>> {
        let cmd = &step.stmt.command;
        let (c, variant) = form_of(cmd);
        let spec = spec::spec_of(c);
        let form = spec.python_form(variant);
        if form.is_empty() {
            return None;
        }
        let mut tmps: HashMap<String, String> = HashMap::new();
        let mut lines = Vec::new();
        for raw in form {
            let raw = self.modules(raw);
            let mut bad = false;
            let line = spec::fill_template(&raw, &mut |name, ex| {
                if name == "ret" {
                    return RET.to_string();
                }
                if name == "tmp" {
                    let t = self.made(ex);
                    tmps.insert(ex.to_string(), t.clone());
                    return t;
                }
                match self.hole(name, step, &tmps) {
                    Some(s) => s,
                    None => {
                        bad = true;
                        String::new()
                    }
                }
            });
            if bad {
                return None;
            }
            lines.extend(line.split('\n').map(str::to_string));
        }
        if let Some(unlink) = self.unix_guard(cmd)
            && self.body.last() != Some(&unlink)
        {
            lines.insert(0, unlink);
        }
        if let Command::Bind {
            sock,
            addr: AddrExpr::HostPort { port, .. },
        } = cmd
            && matches!(port.node, Expr::Int(0))
            && let Some(s) = self.serial(sock, step)
            && self.filter.fixed_port(&Owner::Socket(s)).is_some()
            && self.stream.contains(&s)
            && let Some(name) = self.sock_name(sock, step)
        {
            // The port is fixed now, and a second run must not wait for
            // the first one's TIME_WAIT: what the course's servers do.
            lines.insert(0, format!("{name}.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)"));
        }
        if lines.iter().any(|l| l.contains("struct.")) {
            self.imports.insert("struct");
        }
        Some(self.bind_result(step, values, lines, spec.python_form(variant)))
    }

    /// `socket.X` is `X` after `from socket import *`; other modules are
    /// imported.
    pub(super) fn modules(&mut self, raw: &str) -> String {
        for (m, import) in [
            ("select.", "select"),
            ("time.", "time"),
            ("struct.", "struct"),
            ("os.", "os"),
            ("sys.", "sys"),
            ("threading.", "threading"),
        ] {
            if raw.contains(m) {
                self.imports.insert(import);
            }
        }
        if raw.contains("recv_exactly(") {
            self.helpers.insert("recv_exactly");
            self.imports.insert("struct");
        }
        if raw.contains("recv_until(") {
            self.helpers.insert("recv_until");
        }
        raw.replace("socket.socket(", "socket(")
            .replace("socket.", "")
    }

    /// Binding a call's result: its names, or print() of what the shell
    /// showed, then the values bound.
    pub(super) fn bind_result(
        &mut self,
        step: &Step,
        values: &[Shown],
        mut lines: Vec<String>,
        form: Vec<&str>,
    ) -> Vec<String> {
        let targets: Vec<String> = step.stmt.targets.iter().map(|t| t.node.clone()).collect();
        let ret_line = lines.iter().position(|l| l.contains(RET));
        let example = form
            .iter()
            .find_map(|l| {
                let s = l.find("{ret:")? + 5;
                let e = l[s..].find('}')? + s;
                Some(l[s..e].to_string())
            })
            .unwrap_or_default();
        // A socket the call made, unbound (`socket tcp`, `accept s`): a
        // name of its own, as Python needs one.
        let unnamed_sock = values.iter().find_map(|v| match (&v.name, &v.val) {
            (None, Val::Socket(h)) => Some(*h),
            (None, Val::Tuple(items)) => items.iter().find_map(|i| match i {
                Val::Socket(h) => Some(*h),
                _ => None,
            }),
            _ => None,
        });
        // poll's answer is said in words (`fd 4 (k): POLLOUT`): the
        // program prints the list.
        let shown_unbound = values
            .iter()
            .any(|v| v.name.is_none() && !v.val.has_socket())
            || matches!(step.stmt.command, Command::Poll { .. });
        // The shell shows a value as Python's REPL does (its repr); print()
        // shows a str bare and an enum as its number.
        let print = |call: &str| {
            if values
                .iter()
                .any(|v| v.name.is_none() && !v.val.prints_as_repr())
            {
                format!("print(repr({call}))")
            } else {
                format!("print({call})")
            }
        };
        match ret_line {
            Some(k) => {
                let wanted: Vec<&str> = example.split(',').map(str::trim).collect();
                let mut names: Vec<String> = targets.clone();
                if names.is_empty()
                    && let Some(h) = unnamed_sock
                {
                    let n = self.made(&format!("sock{}", h.fd));
                    self.names.insert(h.serial, n.clone());
                    self.kinds.insert(n.clone(), Val::Socket(h));
                    names.push(n);
                }
                if names.is_empty() {
                    // Nothing bound: the call alone, printed if shown.
                    let line = lines[k].replacen(&format!("{RET} = "), "", 1);
                    let call_only = line.replace(RET, "_");
                    lines[k] = if shown_unbound {
                        print(&call_only)
                    } else {
                        call_only
                    };
                    return lines;
                }
                while names.len() < wanted.len() {
                    let ex = wanted[names.len()];
                    names.push(self.made(ex));
                }
                lines[k] = lines[k].replace(RET, &names.join(", "));
                let mut extra = Vec::new();
                // The parts the shell showed unbound (`-> ...` beside a
                // named socket): printed by the names they got.
                if targets.is_empty() {
                    for n in names.iter().skip(1) {
                        extra.push(format!("print(f'{n} = {{{n}!r}}')"));
                    }
                }
                lines.extend(self.prints(values));
                lines.extend(extra);
                lines
            }
            None => {
                let last = lines.len().saturating_sub(1);
                let is_expr = lines
                    .get(last)
                    .is_some_and(|l| !is_statement_line(l) && !l.starts_with(' '));
                if !targets.is_empty() && is_expr {
                    lines[last] = format!("{} = {}", targets.join(", "), lines[last]);
                    lines.extend(self.prints(values));
                } else if shown_unbound && is_expr {
                    lines[last] = print(&lines[last]);
                }
                lines
            }
        }
    }

    /// Before a bind to a UNIX path: the course's clean-up of an earlier
    /// run's socket file (bind fails with EADDRINUSE while it is there),
    /// so the program runs again.
    pub(super) fn unix_guard(&mut self, cmd: &Command) -> Option<String> {
        let Command::Bind {
            addr: AddrExpr::Path(p),
            ..
        } = cmd
        else {
            return None;
        };
        self.imports.insert("os");
        let q = str_repr(&p.node);
        Some(format!("if os.path.exists({q}): os.unlink({q})"))
    }

    /// `serve`: a socketserver in a thread.
    pub(super) fn serve(
        &mut self,
        step: &Step,
        kind: PeerKind,
        udp: bool,
        addr: Option<&AddrExpr>,
        dir: Option<&Spanned<Expr>>,
    ) -> Vec<String> {
        let mut addr = addr;
        let mut dir_text: Option<String> = dir.map(|d| pyexpr::value(&d.node, &self.kinds));
        if kind == PeerKind::Http && dir_text.is_none() {
            match addr {
                Some(AddrExpr::Path(p)) => {
                    dir_text = Some(str_repr(&p.node));
                    addr = None;
                }
                Some(AddrExpr::Word(w))
                    if !matches!(self.kinds.get(&w.node), Some(Val::Addr(_) | Val::Socket(_))) =>
                {
                    dir_text = Some(match self.kinds.get(&w.node) {
                        Some(Val::Str) => w.node.clone(),
                        _ => str_repr(&w.node),
                    });
                    addr = None;
                }
                _ => {}
            }
        }
        let unix = matches!(addr, Some(AddrExpr::Path(_) | AddrExpr::Abstract(_)));
        let n = step.peer.as_ref().map_or(0, |p| p.0);
        let fixed = self.filter.fixed_port(&Owner::Peer(n));
        let where_ = match addr {
            None => pyexpr::host_port("127.0.0.1", fixed.as_deref().unwrap_or("0")),
            Some(AddrExpr::HostPort { host, port }) => pyexpr::host_port(
                host.as_ref().map_or("127.0.0.1", |h| h.node.as_str()),
                &match (&port.node, &fixed) {
                    (Expr::Int(0), Some(f)) => f.clone(),
                    (other, _) => pyexpr::value(other, &self.kinds),
                },
            ),
            Some(AddrExpr::Path(p)) => str_repr(&p.node),
            Some(AddrExpr::Abstract(n)) => str_repr(&format!("\0{}", n.node)),
            Some(AddrExpr::Word(w)) => w.node.clone(),
            Some(AddrExpr::Value(e)) => pyexpr::value(&e.node, &self.kinds),
        };
        let var = self.fresh(&format!("peer{n}"));
        self.peers.insert(n, var.clone());
        for m in peers::modules(kind, udp, dir_text.is_some()) {
            self.imports.insert(m);
        }
        let mut lines = Vec::new();
        if let Some(AddrExpr::Path(p)) = addr {
            self.imports.insert("os");
            let q = str_repr(&p.node);
            lines.push(format!("if os.path.exists({q}): os.unlink({q})"));
        }
        let make = match (kind, &dir_text) {
            (PeerKind::Http, Some(d)) => {
                self.class("Files", peers::files_def().to_string());
                format!(
                    "http.server.ThreadingHTTPServer({where_}, functools.partial(Files, directory={d}))"
                )
            }
            (PeerKind::Http, None) => {
                self.class("Page", peers::handler_def(kind, udp));
                format!("http.server.ThreadingHTTPServer({where_}, Page)")
            }
            _ => {
                let (server, def) = peers::server_class(udp, unix);
                self.class(server, def.to_string());
                let h = peers::handler(kind, udp);
                self.class(h, peers::handler_def(kind, udp));
                format!("{server}({where_}, {h})")
            }
        };
        lines.push(format!("{var} = {make}"));
        lines.push(format!(
            "threading.Thread(target={var}.serve_forever, daemon=True).start()"
        ));
        if let Some(t) = step.stmt.targets.first() {
            lines.push(format!("{} = {var}.server_address", t.node));
            lines.push(format!("print(f'{0} = {{{0}!r}}')", t.node));
        }
        lines
    }

    pub(super) fn class(&mut self, name: &str, def: String) {
        if !self.classes.iter().any(|(n, _)| n == name) {
            self.classes.push((name.to_string(), def));
        }
    }

    /// `stop N` / `stop all`.
    pub(super) fn stop(&mut self, peer: &Spanned<Expr>) -> Vec<String> {
        let which: Vec<u32> = match &peer.node {
            Expr::Int(n) => u32::try_from(*n).into_iter().collect(),
            Expr::Var(w) if w.eq_ignore_ascii_case("all") => {
                let mut v: Vec<u32> = self.peers.keys().copied().collect();
                v.sort();
                v
            }
            _ => Vec::new(),
        };
        let mut lines = Vec::new();
        for n in which {
            if self.stopped.contains(&n) {
                continue;
            }
            if let Some(p) = self.peers.get(&n).cloned() {
                lines.push(format!("{p}.shutdown()"));
                lines.push(format!("{p}.server_close()"));
                self.stopped.insert(n);
            }
        }
        lines
    }
}
