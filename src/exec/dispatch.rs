//! Dispatch: the one `match` that sends each parsed [`Command`] to the
//! method that runs it (in the files around this one), and how many values
//! each gives to `a, b = ...`. Apart from [`super::Session`]'s own life
//! (running a statement, binding names, closing) because every command
//! added grows it, and nothing else lives here.

use super::{Item, Ret, Session, Sink, names, shell};
use crate::errors::ExecError;
use crate::syntax::ast::{Command, Family};
use crate::value::Value;

impl Session {
    pub(super) fn command(&mut self, cmd: &Command, out: &mut dyn Sink) -> Result<Ret, ExecError> {
        use Command as C;
        match cmd {
            C::Socket {
                family,
                kind,
                proto,
            } => self.socket(*family, *kind, *proto, out),
            C::Bind { sock, addr } => self.bind(sock, addr, out),
            C::Listen { sock, backlog } => self.listen(sock, backlog.as_ref(), out),
            C::Accept { sock } => self.accept(sock, out),
            C::Connect { sock, addr } => self.connect(sock, addr, out),
            C::Send { sock, data, flags } => self.send(sock, data, flags, out),
            C::SendAll { sock, data } => self.sendall(sock, data, out),
            C::Recv {
                sock,
                size,
                flags,
                view,
                decode,
            } => self.recv(sock, size.as_ref(), flags, *view, *decode, out),
            C::SendTo {
                sock,
                data,
                addr,
                flags,
            } => self.sendto(sock, data, addr, flags, out),
            C::RecvFrom {
                sock,
                size,
                flags,
                view,
            } => self.recvfrom(sock, size.as_ref(), flags, *view, out),
            C::SendFile { sock, path } => self.sendfile(sock, path, out),
            C::RecvBulk { sock, into, limit } => self.recv_bulk(sock, into, limit.as_ref(), out),
            C::Close { sock } => self.close(sock, out),
            C::Shutdown { sock, how } => self.shutdown(sock, *how, out),
            C::SetSockOpt {
                sock,
                level,
                option,
                values,
            } => self.setsockopt(sock, level.as_ref(), option, values, out),
            C::GetSockOpt {
                sock,
                level,
                option,
            } => self.getsockopt(sock, level.as_ref(), option, out),
            C::GetSockName { sock } => self.getsockname(sock),
            C::GetPeerName { sock } => self.getpeername(sock),
            C::Fileno { sock } => {
                let h = self.sock(sock)?;
                Ok(Ret::one(Value::Int(i64::from(h.fd))))
            }
            C::GetFamily { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Family(e.family)))
            }
            C::GetType { sock } => {
                let e = self.entry(sock)?;
                Ok(Ret::one(Value::Kind(e.kind)))
            }
            C::SetBlocking { sock, flag } => self.setblocking(sock, flag, out),
            C::SetTimeout { sock, seconds } => self.settimeout(sock, seconds, out),
            C::GetTimeout { sock } => self.gettimeout(sock),
            C::Sockets => self.sockets(out),
            C::Info { sock } => self.info(sock, out),
            C::GetHostName => names::gethostname(),
            C::GetHostByName { host } => {
                let name = self.text(host)?;
                if let Some(ip) = self.lab_host_ip(&name) {
                    return Ok(Ret::one(Value::Str(ip.to_string().into())));
                }
                names::gethostbyname(&name).map_err(|e| e.at(host.span))
            }
            C::GetHostByNameEx { host } => {
                let name = self.text(host)?;
                if let Some(ip) = self.lab_host_ip(&name) {
                    return Ok(Ret::one(names::host_entry(&name, ip)));
                }
                names::gethostbyname_ex(&name).map_err(|e| e.at(host.span))
            }
            C::GetHostByAddr { host } => {
                let text = self.text(host)?;
                let lab_name = match text.parse::<std::net::IpAddr>() {
                    Ok(ip) => self.lab_host_of(ip).map(|n| (n, ip)),
                    Err(_) => self.lab_host_ip(&text).map(|ip| (text.clone(), ip)),
                };
                if let Some((name, ip)) = lab_name {
                    return Ok(Ret::one(names::host_entry(&name, ip)));
                }
                names::gethostbyaddr(&text).map_err(|e| e.at(host.span))
            }
            C::GetAddrInfo {
                host,
                port,
                family,
                kind,
            } => {
                let h = self.text(host)?;
                // A lab host's name is its address (the system's resolver
                // does not know it), as for gethostbyname.
                let h = self.lab_host_ip(&h).map_or(h, |ip| ip.to_string());
                let p = match port {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getaddrinfo(&h, p.as_deref(), *family, *kind).map_err(|e| e.at(host.span))
            }
            C::GetFqdn { host } => {
                let h = match host {
                    Some(h) => Some(self.text(h)?),
                    None => None,
                };
                names::getfqdn(h.as_deref())
            }
            C::InetAton { text } => {
                names::inet_aton(&self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtoa { data } => {
                names::inet_ntoa(&self.bytes_only(data)?).map_err(|e| e.at(data.span))
            }
            C::InetPton { family, text } => {
                names::inet_pton(*family, &self.text(text)?).map_err(|e| e.at(text.span))
            }
            C::InetNtop { family, data } => {
                names::inet_ntop(*family, &self.bytes_only(data)?).map_err(|e| e.at(data.span))
            }
            C::GetServByName { name, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyname(&self.text(name)?, p.as_deref()).map_err(|e| e.at(name.span))
            }
            C::GetServByPort { port, proto } => {
                let p = match proto {
                    Some(p) => Some(self.text(p)?),
                    None => None,
                };
                names::getservbyport(self.int(port)?, p.as_deref()).map_err(|e| e.at(port.span))
            }
            C::ByteOrder { op, value } => {
                names::byte_order(*op, self.int(value)?).map_err(|e| e.at(value.span))
            }
            C::Help { topic } => self.help(topic.as_ref(), out),
            C::Echo { values } => self.echo(values, out),
            C::Print { args } => self.print_cmd(args, out),
            C::Import { modules } => {
                for m in modules {
                    out.emit(Item::Note(shell::import_note(&m.node)));
                }
                Ok(Ret::none())
            }
            C::Sleep { seconds } => self.sleep(seconds, out),
            C::Quit { .. } => Ok(Ret::none()),
            C::Set { key, value } => self.set(key.as_ref(), value.as_ref(), out),
            C::Vars => self.vars_cmd(out),
            C::Clear => {
                out.emit(Item::ClearScreen);
                Ok(Ret::none())
            }
            C::Reset => self.reset(out),
            C::Unlink { path } => self.unlink(path, out),
            C::Select {
                read,
                write,
                except,
                timeout,
            } => self.select([read, write, except], timeout.as_ref(), out),
            C::Poll {
                read,
                write,
                except,
                timeout,
            } => self.poll_cmd([read, write, except], timeout.as_ref(), out),
            C::SendMsg {
                sock,
                data,
                framing,
            } => self.sendmsg(sock, data, framing, out),
            C::RecvMsg { sock, framing } => self.recvmsg(sock, framing, out),
            C::States {
                sock,
                absolute,
                save,
            } => self.states(sock.as_ref(), *absolute, save.as_ref(), out),
            C::Diagram {
                sock,
                absolute,
                save,
            } => self.diagram(sock.as_ref(), *absolute, save.as_ref(), out),
            C::Membership {
                join,
                sock,
                group,
                interface,
            } => self.membership(*join, sock, group, interface.as_ref(), out),
            C::Jobs => self.jobs_cmd(out),
            C::Wait { jobs } => self.wait_cmd(jobs, out),
            C::Kill { jobs } => self.kill_cmd(jobs, out),
            C::Serve {
                kind,
                udp,
                addr,
                dir,
            } => self.serve(*kind, *udp, addr.as_ref(), dir.as_ref(), out),
            C::Peers { log, peer } => self.peers_cmd(*log, peer.as_ref(), out),
            C::Stop { peer } => self.stop_cmd(peer, out),
            C::Value(e) => {
                let v = self.eval(e)?;
                Ok(Ret::one(v))
            }
            C::Run { argv } => self.run_cmd(argv, out),
            C::Input { job, data } => self.input_cmd(job, data.as_ref(), out),
            C::RecvUntil {
                sock,
                until,
                drop,
                timeout,
                view,
            } => self.recv_until(sock, until, *drop, timeout.as_ref(), *view, out),
            C::Log { path, hex } => self.log_cmd(path.as_ref(), *hex, out),
            C::Interactive { sock, crlf } => self.interactive(sock, *crlf, out),
            C::SocketPair { family, kind } => self.socketpair(*family, *kind, out),
            C::Dup { sock } => self.dup(sock, out),
            C::GetNameInfo { addr, flags } => {
                let f = match flags {
                    Some(e) => names::ni_flags(&self.text(e)?).map_err(|x| x.at(e.span))?,
                    None => 0,
                };
                let sa = self
                    .address(addr, Family::Inet, true)
                    .or_else(|_| self.address(addr, Family::Inet6, true))
                    .map_err(|x| {
                        if x.span.is_none() {
                            x.at(addr.span())
                        } else {
                            x
                        }
                    })?;
                names::getnameinfo(&sa, f).map_err(|x| x.at(addr.span()))
            }
            C::Epoll { ep, op } => self.epoll_cmd(ep.as_ref(), op, out),
            C::C10k { n } => self.c10k(n.as_ref(), out),
            C::GetProtoByName { name } => {
                names::getprotobyname(&self.text(name)?).map_err(|e| e.at(name.span))
            }
            C::Lab(l) => self.lab_cmd(l, out),
            // Carried out by run_inner (it wraps a whole statement).
            C::On { .. } => Err(ExecError::usage(
                "`on` takes a statement: on b s = socket tcp",
            )),
            // The script runner (crate::script) carries these out: they
            // read files, replay lines and check captured output.
            C::Source { .. }
            | C::Lesson { .. }
            | C::Expect(_)
            | C::MacDef { .. }
            | C::Export { .. }
            | C::Record { .. } => Err(ExecError::usage(
                "this command is run by the script runner, not the session",
            )),
        }
    }
}

/// How many values a command gives to `a, b = ...`.
pub(super) fn returns(cmd: &Command) -> usize {
    match cmd {
        Command::Accept { .. } | Command::RecvFrom { .. } => 2,
        Command::Select { .. } => 3,
        Command::SocketPair { .. } => 2,
        Command::RecvMsg {
            framing: crate::syntax::ast::Framing::Ancillary(_),
            ..
        } => 2,
        _ => 1,
    }
}
