//! The built-in peers (`serve`) as small standard-library servers: each
//! kind a `socketserver` handler doing what the peer does, served from a
//! thread of the program, so the exported program plays both ends as the
//! session did.

use crate::syntax::ast::PeerKind;

/// The handler class of a kind (and transport).
pub fn handler(kind: PeerKind, udp: bool) -> &'static str {
    match (kind, udp) {
        (PeerKind::Echo, false) => "Echo",
        (PeerKind::Discard, false) => "Discard",
        (PeerKind::Daytime, false) => "Daytime",
        (PeerKind::Echo, true) => "EchoDatagrams",
        (PeerKind::Discard, true) => "DiscardDatagrams",
        (PeerKind::Daytime, true) => "DaytimeDatagrams",
        (PeerKind::Chat, _) => "Chat",
        (PeerKind::Http, _) => "Page",
    }
}

/// The server class for a transport: (name, definition).
pub fn server_class(udp: bool, unix: bool) -> (&'static str, &'static str) {
    match (udp, unix) {
        (false, false) => (
            "TCPServer",
            "class TCPServer(socketserver.ThreadingTCPServer):\n    allow_reuse_address = True  # a restart need not wait for TIME_WAIT\n    daemon_threads = True  # the program ends without waiting for its clients\n",
        ),
        (true, false) => (
            "UDPServer",
            "class UDPServer(socketserver.ThreadingUDPServer):\n    daemon_threads = True\n",
        ),
        (false, true) => (
            "UnixServer",
            "class UnixServer(socketserver.ThreadingUnixStreamServer):\n    daemon_threads = True\n",
        ),
        (true, true) => (
            "UnixDatagramServer",
            "class UnixDatagramServer(socketserver.ThreadingUnixDatagramServer):\n    daemon_threads = True\n",
        ),
    }
}

/// The handler's definition.
pub fn handler_def(kind: PeerKind, udp: bool) -> String {
    match (kind, udp) {
        (PeerKind::Echo, false) => "class Echo(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's echo peer: sends back every byte it receives.\"\"\"\n\n    def handle(self):\n        while data := self.request.recv(65536):\n            self.request.sendall(data)\n".into(),
        (PeerKind::Discard, false) => "class Discard(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's discard peer: reads and drops every byte (RFC 863).\"\"\"\n\n    def handle(self):\n        while self.request.recv(65536):\n            pass\n".into(),
        (PeerKind::Daytime, false) => "class Daytime(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's daytime peer: sends the date and time, then closes (RFC 867).\"\"\"\n\n    def handle(self):\n        self.request.sendall((time.ctime() + '\\r\\n').encode())\n".into(),
        (PeerKind::Echo, true) => "class EchoDatagrams(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's echo peer over datagrams: each one back to its sender.\"\"\"\n\n    def handle(self):\n        data, sock = self.request\n        sock.sendto(data, self.client_address)\n".into(),
        (PeerKind::Discard, true) => "class DiscardDatagrams(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's discard peer over datagrams: drops each one.\"\"\"\n\n    def handle(self):\n        pass\n".into(),
        (PeerKind::Daytime, true) => "class DaytimeDatagrams(socketserver.BaseRequestHandler):\n    \"\"\"sockplay's daytime peer over datagrams: answers each one with the time.\"\"\"\n\n    def handle(self):\n        data, sock = self.request\n        sock.sendto((time.ctime() + '\\r\\n').encode(), self.client_address)\n".into(),
        (PeerKind::Chat, _) => "class Chat(socketserver.StreamRequestHandler):\n    \"\"\"sockplay's chat peer: relays each line to the other clients as <userN> line.\"\"\"\n\n    clients = {}\n    lock = threading.RLock()\n    count = 0\n\n    @classmethod\n    def tell(cls, msg, skip):\n        with cls.lock:\n            for n, sock in cls.clients.items():\n                if n != skip:\n                    try:\n                        sock.sendall(msg)\n                    except OSError:\n                        pass\n\n    def handle(self):\n        with Chat.lock:\n            Chat.count += 1\n            me = Chat.count\n            here = ', '.join(f'<user{n}>' for n in Chat.clients) or 'nobody'\n            self.request.sendall(f'<announce> you are <user{me}>; already connected: {here}.\\n'.encode())\n            Chat.tell(f'<announce> <user{me}> is connected.\\n'.encode(), me)\n            Chat.clients[me] = self.request\n        try:\n            for line in self.rfile:\n                if not line.endswith(b'\\n'):\n                    line += b'\\n'\n                Chat.tell(f'<user{me}> '.encode() + line, me)\n        finally:\n            with Chat.lock:\n                del Chat.clients[me]\n                Chat.tell(f'<announce> <user{me}> is disconnected.\\n'.encode(), me)\n".into(),
        (PeerKind::Http, _) => format!(
            "class Page(http.server.BaseHTTPRequestHandler):\n    \"\"\"sockplay's http peer with no directory: its built-in page.\"\"\"\n\n    PAGE = {}\n\n    def log_message(self, *args):\n        pass  # quiet, as sockplay's peer (`peers log` shows what it got)\n\n    def do_HEAD(self):\n        if self.path not in ('/', '/index.html'):\n            self.send_error(404)\n            return False\n        self.send_response(200)\n        self.send_header('Content-Type', 'text/html; charset=utf-8')\n        self.send_header('Content-Length', str(len(self.PAGE)))\n        self.send_header('Connection', 'close')\n        self.end_headers()\n        return True\n\n    def do_GET(self):\n        if self.do_HEAD():\n            self.wfile.write(self.PAGE)\n",
            crate::value::bytes_repr(crate::peers::INDEX_PAGE.as_bytes())
        ),
    }
}

/// The handler of an http peer serving a directory.
pub fn files_def() -> &'static str {
    "class Files(http.server.SimpleHTTPRequestHandler):\n    \"\"\"sockplay's http peer: the files of a directory.\"\"\"\n\n    def log_message(self, *args):\n        pass  # quiet, as sockplay's peer (`peers log` shows what it got)\n"
}

/// The modules a peer's code needs.
pub fn modules(kind: PeerKind, udp: bool, dir: bool) -> Vec<&'static str> {
    let mut m = vec!["threading"];
    match kind {
        PeerKind::Http => {
            m.push("http.server");
            if dir {
                m.push("functools");
            }
        }
        PeerKind::Daytime => {
            m.push("socketserver");
            m.push("time");
        }
        _ => m.push("socketserver"),
    }
    let _ = udp;
    m
}
