//! `lab` and `on HOST STATEMENT`: the executor's side of [`crate::lab`].
//!
//! The session holds the lab. `on` moves the executing thread into a host
//! for one statement, so every socket that statement makes (`socket`,
//! `serve`) is the host's for good; the table records which host each
//! socket is on (accepted sockets take their listener's). Host names
//! resolve here before the system's resolver, and a socket of sockplay's
//! own may not send to the lab's subnet: this machine's routes would take
//! such packets out of the machine, and nothing may leave the lab.

use super::{Flow, Item, Ret, Session, Sink};
use crate::errors::ExecError;
use crate::lab::{self, Lab, Mark, Net};
use crate::syntax::ast::{Command, LabCmd, NetSetting, Span, Spanned, Statement};
use crate::value::SockHandle;
use socket2::SockAddr;
use std::net::{IpAddr, Ipv4Addr};

/// The command words `on HOST` refuses (they run in sockplay itself):
/// Tab leaves them out after `on HOST`. [`Session::on_host`] refuses their
/// statements.
pub const NOT_ON_A_HOST: &[&str] = &[
    "lab", "on", "quit", "exit", "source", "step", "lesson", "expect", "macdef", "export", "record",
];

/// What the session keeps of the lab besides the [`Lab`] itself.
#[derive(Default)]
pub struct LabState {
    pub(crate) lab: Option<Lab>,
    /// The host the current statement runs on (`on`), by index.
    pub(crate) inside: Option<usize>,
    /// Peers started inside a host (they go with the lab).
    peers: Vec<u32>,
    /// Background jobs started inside a host (their threads are in it).
    jobs: Vec<usize>,
    /// The clean-up that kills what programs left in the lab's namespaces
    /// if sockplay ends with the lab up.
    strays: Option<crate::exit::HookId>,
}

/// Kills the processes that sockplay's programs left in the namespaces
/// `inodes` (they carry its variable); returns their pids, and those of
/// the others found there.
fn kill_strays(inodes: &[u64]) -> (Vec<i32>, Vec<i32>) {
    let mut killed = Vec::new();
    let mut others = Vec::new();
    for (pid, ours) in lab::ns::processes_in(inodes) {
        if ours {
            // SAFETY: kill(2) of a process that a program sockplay ran left
            // in the lab's namespaces (it carries sockplay's variable).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed.push(pid);
        } else {
            others.push(pid);
        }
    }
    (killed, others)
}

impl LabState {
    /// `reset` stopped every peer and cancelled every job, and numbers
    /// peers from 1 again: the lab's list of them would name the next
    /// shell's peers (`lab down` stopped the learner's new peer 1).
    pub(crate) fn forget_peers_and_jobs(&mut self) {
        self.peers.clear();
        self.jobs.clear();
    }

    /// The hosts' names, when a lab is up.
    pub(crate) fn host_names(&self) -> Option<Vec<String>> {
        self.lab
            .as_ref()
            .map(|l| l.hosts().iter().map(|h| h.name.clone()).collect())
    }
}

fn no_lab() -> ExecError {
    ExecError::usage("no lab is up").hint("lab up a b makes two hosts, a and b")
}

fn in_subnet(ip: Ipv4Addr) -> bool {
    ip.octets()[..3] == lab::SUBNET
}

impl Session {
    /// The host a new socket is on now (inside `on`), by name.
    pub(crate) fn current_host(&self) -> Option<String> {
        let k = self.lab.inside?;
        let lab = self.lab.lab.as_ref()?;
        lab.hosts().get(k).map(|h| h.name.clone())
    }

    /// The names of the lab's hosts (none when no lab is up).
    pub fn lab_hosts(&self) -> Vec<String> {
        self.lab
            .lab
            .as_ref()
            .map(|l| l.hosts().iter().map(|h| h.name.clone()).collect())
            .unwrap_or_default()
    }

    /// A lab host's address, when a lab is up and `name` is one of its
    /// hosts.
    pub(crate) fn lab_host_ip(&self, name: &str) -> Option<IpAddr> {
        let lab = self.lab.lab.as_ref()?;
        lab.host(name).map(|(_, h)| IpAddr::V4(h.ip))
    }

    /// The lab host that has this address.
    pub(crate) fn lab_host_of(&self, ip: IpAddr) -> Option<String> {
        let IpAddr::V4(v4) = ip else { return None };
        self.lab.lab.as_ref()?.by_ip(v4).map(|h| h.name.clone())
    }

    /// Refuses to send from a socket of sockplay's own to the lab's
    /// subnet: this machine would route it out (its default route), and
    /// the lab exists only inside its hosts.
    pub(crate) fn lab_route(
        &self,
        h: SockHandle,
        target: &SockAddr,
        span: Span,
    ) -> Result<(), ExecError> {
        let Some(lab) = self.lab.lab.as_ref() else {
            return Ok(());
        };
        // An IPv6 socket reaches IPv4 addresses written ::ffff:10.99.0.2.
        let ip = match target.as_socket() {
            Some(std::net::SocketAddr::V4(t)) => *t.ip(),
            Some(std::net::SocketAddr::V6(t)) => match t.ip().to_ipv4_mapped() {
                Some(v4) => v4,
                None => return Ok(()),
            },
            None => return Ok(()),
        };
        let on_host = self.table.get(h).and_then(|e| e.host.clone());
        if on_host.is_some() || !in_subnet(ip) {
            return Ok(());
        }
        let who = match lab.by_ip(ip) {
            Some(host) => format!("{} ({})", host.name, host.ip),
            None => ip.to_string(),
        };
        let first = lab.hosts().first().map_or("a", |x| x.name.as_str());
        Err(ExecError::new(
            "OSError",
            format!("{who} is in the lab, and this socket is sockplay's own, on this machine's network"),
        )
        .at(span)
        .hint(format!(
            "the lab's addresses exist only inside its hosts: make the socket on one (on {first} k = socket tcp)"
        )))
    }

    pub(super) fn lab_cmd(&mut self, cmd: &LabCmd, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        if self.lab.inside.is_some() {
            return Err(
                ExecError::usage("`lab` runs in sockplay itself, not on a host")
                    .hint("write it without `on`"),
            );
        }
        match cmd {
            LabCmd::Show => self.lab_show(out),
            LabCmd::Up(names) => self.lab_up(names, out),
            LabCmd::Down => {
                if self.lab.lab.is_none() {
                    out.emit(Item::Note("no lab is up: nothing to take down".into()));
                    return Ok(Ret::none());
                }
                self.lab_down(out);
                Ok(Ret::none())
            }
            LabCmd::Net { host, settings } => self.lab_net(host.as_ref(), settings, out),
            LabCmd::Clear { host } => {
                let ks = self.lab_targets(host.as_ref())?;
                let lab = self.lab.lab.as_ref().ok_or_else(no_lab)?;
                for &k in &ks {
                    lab.set_net(k, Net::default());
                }
                out.emit(Item::Done(format!(
                    "{}: no faults; packets cross as fast as they can",
                    link_names(lab, &ks)
                )));
                Ok(Ret::none())
            }
        }
    }

    fn lab_up(&mut self, names: &[Spanned<String>], out: &mut dyn Sink) -> Result<Ret, ExecError> {
        if let Some(lab) = &self.lab.lab {
            let hosts: Vec<&str> = lab.hosts().iter().map(|h| h.name.as_str()).collect();
            return Err(ExecError::usage(format!(
                "a lab is up already (hosts {})",
                hosts.join(", ")
            ))
            .hint("lab down first, then lab up with every host you want"));
        }
        if names.len() > lab::MAX_HOSTS {
            return Err(
                ExecError::usage(format!("a lab has at most {} hosts", lab::MAX_HOSTS))
                    .at(names[lab::MAX_HOSTS].span),
            );
        }
        for (k, n) in names.iter().enumerate() {
            lab::check_name(&n.node).map_err(|why| ExecError::new("ValueError", why).at(n.span))?;
            if names[..k].iter().any(|m| m.node == n.node) {
                return Err(ExecError::new(
                    "ValueError",
                    format!("host {} is named twice", n.node),
                )
                .at(n.span));
            }
            if self.vars.contains_key(&n.node) {
                out.emit(Item::Warn(format!(
                    "`{}` is a variable too: where a socket or an address is expected the variable wins; write {} with a port (connect k {} 9000) to mean the host",
                    n.node, n.node, n.node
                )));
            }
        }
        let list: Vec<String> = names.iter().map(|n| n.node.clone()).collect();
        let lab = Lab::up(&list).map_err(|e| {
            let mut x = ExecError::from(e.error);
            x.message = format!("lab up failed making {}: {}", e.step, x.message);
            if let Some(why) = x
                .errno
                .and_then(|n| lab::ns::explain(&std::io::Error::from_raw_os_error(n)))
            {
                x.hint = Some(why);
            }
            x.hint = Some(format!(
                "{}{}nothing of it is left",
                x.hint.clone().unwrap_or_default(),
                if x.hint.is_some() { "; " } else { "" }
            ));
            x
        })?;
        let hosts: Vec<String> = lab
            .hosts()
            .iter()
            .map(|h| format!("{} {}", h.name, h.ip))
            .collect();
        out.emit(Item::Done(format!(
            "lab up: {} on {}.{}.{}.0/{}, each on a link to one switch",
            hosts.join(", "),
            lab::SUBNET[0],
            lab::SUBNET[1],
            lab::SUBNET[2],
            lab::PREFIX
        )));
        let first = &list[0];
        let second = list.get(1).unwrap_or(first);
        out.emit(Item::Note(format!(
            "each host is a network namespace of its own; `on {second} s = socket tcp` makes a socket on {second}, and {second} resolves to its address (connect k {second} 9000); nothing is routed outside the lab"
        )));
        // However sockplay ends, nothing a program left in a host keeps its
        // namespace alive (its own children die with it: PR_SET_PDEATHSIG).
        let inodes = lab.ns_inodes();
        self.lab.strays = Some(crate::exit::register("the lab's programs", move || {
            kill_strays(&inodes);
        }));
        self.lab.lab = Some(lab);
        Ok(Ret::none())
    }

    /// Which hosts a `lab net` acts on: one, or all.
    fn lab_targets(&self, host: Option<&Spanned<String>>) -> Result<Vec<usize>, ExecError> {
        let lab = self.lab.lab.as_ref().ok_or_else(no_lab)?;
        match host {
            None => Ok((0..lab.hosts().len()).collect()),
            Some(h) => Ok(vec![self.host_index(&h.node, h.span)?]),
        }
    }

    fn host_index(&self, name: &str, span: Span) -> Result<usize, ExecError> {
        let lab = self.lab.lab.as_ref().ok_or_else(|| no_lab().at(span))?;
        if let Some((k, _)) = lab.host(name) {
            return Ok(k);
        }
        let names: Vec<&str> = lab.hosts().iter().map(|h| h.name.as_str()).collect();
        let hint = match crate::spec::nearest(name, names.iter().copied()) {
            Some(n) => format!("did you mean {n}? (the hosts: {})", names.join(", ")),
            None => format!("the hosts: {}", names.join(", ")),
        };
        Err(ExecError::usage(format!(
            "no host `{}` in the lab",
            crate::value::escape_controls(name)
        ))
        .at(span)
        .hint(hint))
    }

    fn lab_net(
        &mut self,
        host: Option<&Spanned<String>>,
        settings: &[Spanned<NetSetting>],
        out: &mut dyn Sink,
    ) -> Result<Ret, ExecError> {
        let ks = self.lab_targets(host)?;
        let lab = self.lab.lab.as_ref().ok_or_else(no_lab)?;
        let mut nets = Vec::new();
        for &k in &ks {
            let mut n = lab.net(k);
            for s in settings {
                match s.node {
                    NetSetting::Loss(p) => n.loss = p,
                    NetSetting::Delay(d) => n.delay = d,
                    NetSetting::Jitter(d) => n.jitter = d,
                    NetSetting::Reorder(p) => n.reorder = p,
                    NetSetting::Duplicate(p) => n.duplicate = p,
                    NetSetting::Rate(r) => n.rate = Some(r),
                }
            }
            // As netem: reordering and jitter are of a delay.
            if n.delay.is_zero() {
                let needs = |want: fn(&NetSetting) -> bool| settings.iter().find(|s| want(&s.node));
                if let Some(s) = needs(|s| matches!(s, NetSetting::Reorder(p) if *p > 0.0)) {
                    return Err(ExecError::usage("reorder needs a delay: the packets it picks skip the delay and overtake those held back")
                        .at(s.span)
                        .hint("add one: lab net delay 10ms reorder 25%"));
                }
                if let Some(s) = needs(|s| matches!(s, NetSetting::Jitter(d) if !d.is_zero())) {
                    return Err(ExecError::usage("jitter varies a delay, and there is none")
                        .at(s.span)
                        .hint("delay 100ms jitter 10ms: each packet is delayed 90 to 110 ms"));
                }
            }
            nets.push((k, n));
        }
        for (k, n) in &nets {
            lab.set_net(*k, *n);
        }
        for (k, n) in &nets {
            let name = &lab.hosts()[*k].name;
            out.emit(Item::Done(format!(
                "{name}'s link: {} (on what {name} sends)",
                n.describe()
            )));
        }
        if host.is_none() && ks.len() > 1 && nets.iter().any(|(_, n)| !n.is_clear()) {
            out.emit(Item::Note(
                "every host's link has them: a packet crosses its sender's link once, so each direction of a conversation gets them once".into(),
            ));
        }
        Ok(Ret::none())
    }

    fn lab_show(&mut self, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        let Some(lab) = self.lab.lab.as_ref() else {
            out.emit(Item::Note(
                "no lab is up: lab up a b makes two hosts on a network of their own".into(),
            ));
            return Ok(Ret::none());
        };
        lab.sync();
        let rows = lab
            .hosts()
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let c = lab.counts(k);
                let mut sent = crate::value::plural(c.sent as usize, "frame", "frames");
                if c.lost > 0 {
                    sent.push_str(&format!(", {} lost", c.lost));
                }
                if c.duplicated > 0 {
                    sent.push_str(&format!(", {} duplicated", c.duplicated));
                }
                if c.overflow > 0 {
                    sent.push_str(&format!(", {} dropped (queue full)", c.overflow));
                }
                vec![
                    h.name.clone(),
                    format!("{}/{}", h.ip, lab::PREFIX),
                    format!("eth0 <-> sw-{}", h.name),
                    lab.net(k).describe(),
                    sent,
                ]
            })
            .collect();
        out.emit(Item::Timeline {
            title: format!(
                "lab: {} hosts on {}.{}.{}.0/{} and one switch (nothing is routed outside it)",
                lab.hosts().len(),
                lab::SUBNET[0],
                lab::SUBNET[1],
                lab::SUBNET[2],
                lab::PREFIX
            ),
            head: vec![
                "host",
                "address",
                "link",
                "faults (on what it sends)",
                "it sent",
            ],
            rows,
        });
        // The MACs in a note, not a column: the table fits 80 columns with
        // a link's faults set (a MAC is the host's address after 02:00).
        if let Some(h) = lab.hosts().first() {
            out.emit(Item::Note(format!(
                "each host's MAC is 02:00 then its IPv4 address in hex ({}: {})",
                h.name,
                h.mac_text()
            )));
        }
        let fds: Vec<String> = lab
            .hosts()
            .iter()
            .map(|h| format!("{}: fd {}", h.name, h.net_fd()))
            .collect();
        let pid = std::process::id();
        let first = lab.hosts().first().map_or(0, |h| h.net_fd());
        out.emit(Item::Note(format!(
            "each host is a network namespace that sockplay holds open ({}); to look inside one from a shell: nsenter --net=/proc/{pid}/fd/{first} ip addr",
            fds.join(", ")
        )));
        let socks: Vec<String> = self
            .table
            .iter()
            .filter_map(|e| e.host.as_ref().map(|h| format!("{} on {h}", e.label())))
            .collect();
        if !socks.is_empty() {
            out.emit(Item::Note(format!(
                "sockets in the lab: {}",
                socks.join(", ")
            )));
        }
        Ok(Ret::none())
    }

    /// Closes the lab's sockets, stops its peers and jobs, and drops the
    /// lab: its namespaces, links and switch are gone when this returns
    /// (the kernel frees a namespace once nothing refers to it).
    pub(crate) fn lab_down(&mut self, out: &mut dyn Sink) {
        let Some(lab) = self.lab.lab.as_ref() else {
            return;
        };
        let names: Vec<String> = lab.hosts().iter().map(|h| h.name.clone()).collect();
        let inodes = lab.ns_inodes();
        for id in std::mem::take(&mut self.lab.jobs) {
            if let Some(c) = self.jobs.kill(id, "the lab went down") {
                self.apply(c, out);
            }
        }
        // The jobs on the lab's sockets first: one that has finished
        // already (`c = accept s &`) hands over the socket it made, which
        // is on a host too and must go with the others.
        let on_hosts: Vec<(i32, String)> = self
            .table
            .iter()
            .filter(|e| e.host.is_some())
            .map(|e| (e.handle.fd, e.label()))
            .collect();
        for (fd, label) in &on_hosts {
            self.cancel_jobs_on(*fd, label, out);
        }
        let socks: Vec<(SockHandle, String)> = self
            .table
            .iter()
            .filter(|e| e.host.is_some())
            .map(|e| (e.handle, e.label()))
            .collect();
        for (h, _) in &socks {
            self.table.remove(*h);
        }
        let mut stopped = Vec::new();
        for n in std::mem::take(&mut self.lab.peers) {
            if self.peers.stop(n).is_ok() {
                stopped.push(n.to_string());
            }
        }
        // What a program run on a host left behind there (a child that
        // left its process group, a daemon) would keep the host's
        // namespace alive: the programs' own are killed; anything else in
        // it (a shell entered with nsenter) is named.
        let (killed, others) = kill_strays(&inodes);
        let killed: Vec<String> = killed.iter().map(i32::to_string).collect();
        let others: Vec<String> = others.iter().map(i32::to_string).collect();
        if let Some(id) = self.lab.strays.take() {
            crate::exit::unregister(id);
        }
        self.lab.lab = None;
        let mut what = Vec::new();
        if !socks.is_empty() {
            let labels: Vec<&str> = socks.iter().map(|(_, l)| l.as_str()).collect();
            what.push(format!("closed {}", labels.join(", ")));
        }
        if !stopped.is_empty() {
            what.push(format!("stopped peer {}", stopped.join(", ")));
        }
        if !killed.is_empty() {
            what.push(format!(
                "killed what programs left running in the lab (pid {})",
                killed.join(", ")
            ));
        }
        what.push(format!(
            "hosts {}, their links and the switch are gone",
            names.join(", ")
        ));
        out.emit(Item::Done(format!("lab down: {}", what.join("; "))));
        if !others.is_empty() {
            out.emit(Item::Warn(format!(
                "pid {} did not come from sockplay but is inside the lab (entered with nsenter?): its host's namespace lives until it leaves",
                others.join(", ")
            )));
        }
    }

    /// `on HOST STATEMENT`: the statement runs with this thread inside the
    /// host's namespaces; every socket it makes is the host's.
    pub(super) fn on_host(
        &mut self,
        host: &Spanned<String>,
        inner: &Statement,
        outer_targets: &[Spanned<String>],
        src: &str,
        out: &mut dyn Sink,
    ) -> Result<Flow, ExecError> {
        if self.lab.inside.is_some() {
            return Err(ExecError::usage("this statement already runs on a host")
                .at(host.span)
                .hint("one `on` per statement"));
        }
        let k = self.host_index(&host.node, host.span)?;
        let refused = match &inner.command {
            Command::Lab(_) => Some("lab"),
            Command::On { .. } => Some("on"),
            Command::Quit { .. } => Some("quit"),
            Command::Source { .. } => Some("source"),
            Command::Lesson { .. } => Some("lesson"),
            Command::Expect(_) => Some("expect"),
            Command::MacDef { .. } => Some("macdef"),
            Command::Export { .. } => Some("export"),
            Command::Record { .. } => Some("record"),
            _ => None,
        };
        if let Some(word) = refused {
            return Err(ExecError::usage(format!(
                "`{word}` runs in sockplay itself, not on a host"
            ))
            .at(inner.command_span)
            .hint("`on` takes a socket statement: on b s = socket tcp"));
        }
        let mut stmt = inner.clone();
        if !outer_targets.is_empty() {
            if !stmt.targets.is_empty() {
                return Err(ExecError::usage("names on both sides of `on`")
                    .at(stmt.targets[0].span)
                    .hint("on b s = socket tcp"));
            }
            stmt.targets = outer_targets.to_vec();
        }
        let peers_before = self.peers.all_numbers();
        let jobs_before = self.jobs.ids();
        let guard = self
            .lab
            .lab
            .as_ref()
            .ok_or_else(no_lab)?
            .enter(k)
            .map_err(|e| ExecError::from(e).at(host.span))?;
        self.lab.inside = Some(k);
        let result = self.run_inner(&stmt, src, out);
        self.lab.inside = None;
        drop(guard);
        for n in self.peers.all_numbers() {
            if !peers_before.contains(&n) {
                self.lab.peers.push(n);
            }
        }
        for id in self.jobs.ids() {
            if !jobs_before.contains(&id) {
                self.lab.jobs.push(id);
            }
        }
        result
    }

    /// What the lab's switch saw of the segments `pred` selects.
    pub(crate) fn lab_segments(
        &self,
        pred: &dyn Fn(&crate::wire::Segment) -> bool,
    ) -> Option<Vec<(crate::wire::Segment, Option<Mark>)>> {
        self.lab.lab.as_ref().map(|l| l.segments(pred))
    }
}

/// `a's link` or `the links of a, b`.
fn link_names(lab: &Lab, ks: &[usize]) -> String {
    let names: Vec<&str> = ks
        .iter()
        .filter_map(|k| lab.hosts().get(*k).map(|h| h.name.as_str()))
        .collect();
    match names.as_slice() {
        [one] => format!("{one}'s link"),
        many => format!("the links of {}", many.join(", ")),
    }
}
