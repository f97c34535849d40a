"""Integration-test harness for edgegate: the real binaries on free loopback ports.

Standard library only. Environment:
  EDGEGATE_BIN         path of the edgegate binary
  EDGEGATE_ORIGIN_BIN  path of the edgegate-origin binary
  EDGEGATE_SOURCE_DIR  repository root (optional)
Without them, build/ and build-it/ under the repository root are searched.

What is here:
  free_port()                 a free 127.0.0.1 TCP port (bind :0, read, close)
  Origin(name)                the scriptable test origin, a context manager
  RawOrigin(handler)          a tiny Python origin answering canned bytes (for what
                              edgegate-origin refuses to send, e.g. a Connection header)
  Gateway(config)             edgegate itself, a context manager
  make_config(...)            the default configuration dict (see its docstring)
  to_yaml(obj)                dict/list/scalars -> YAML text
  http(), raw(), curl()       clients
  parse_responses(data)       split raw bytes into HTTP/1.1 responses
  EdgeTestCase                unittest.TestCase that prints gateway logs on failure
"""

import http.client as httpclient
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("EDGEGATE_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

KiB = 1024
MiB = 1024 * 1024


def _find_binary(env_name, name):
    path = os.environ.get(env_name)
    if path:
        return os.path.abspath(path)
    for build in ("build", "build-it", "build-asan", "build-debug"):
        candidate = os.path.join(SOURCE_DIR, build, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


EDGEGATE_BIN = _find_binary("EDGEGATE_BIN", "edgegate")
ORIGIN_BIN = _find_binary("EDGEGATE_ORIGIN_BIN", "edgegate-origin")


def require_binaries():
    """Fails (not skips) when a binary is missing: the suite is useless without them."""
    missing = []
    if not EDGEGATE_BIN or not os.access(EDGEGATE_BIN, os.X_OK):
        missing.append("EDGEGATE_BIN=%r" % EDGEGATE_BIN)
    if not ORIGIN_BIN or not os.access(ORIGIN_BIN, os.X_OK):
        missing.append("EDGEGATE_ORIGIN_BIN=%r" % ORIGIN_BIN)
    if missing:
        raise RuntimeError("binary not found or not executable: " + ", ".join(missing))


_asan_cache = {}


def is_asan(path=None):
    """True when the binary was built with AddressSanitizer (RSS bounds are looser then)."""
    path = path or EDGEGATE_BIN
    if path not in _asan_cache:
        found = False
        try:
            with open(path, "rb") as f:
                data = f.read()
            found = b"__asan_init" in data or b"libasan.so" in data
        except OSError:
            pass
        _asan_cache[path] = found
    return _asan_cache[path]


# --------------------------------------------------------------------------- ports


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def closed_port():
    """A port with (most probably) nobody listening: connecting to it is refused."""
    return free_port()


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until truthy; returns its value, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - remembered for the message
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, (" (last error: %r)" % last_exc) if last_exc else ""))
        time.sleep(interval)


def tcp_accepts(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def rss_kib(pid):
    """VmRSS of a process in KiB (None when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's VmRSS in a background thread; .peak_kib after stop()."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = rss_kib(self.pid)
            if v is not None:
                self.peak_kib = max(self.peak_kib, v)
                self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        v = rss_kib(self.pid)
        if v is not None:
            self.peak_kib = max(self.peak_kib, v)


# --------------------------------------------------------------------------- processes


def _tail(path, limit=20000):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)
    text = data.decode("utf-8", "replace")
    if len(text) > limit:
        text = "...[%d bytes cut]...\n" % (len(text) - limit) + text[-limit:]
    return text


def _terminate(proc, timeout=10.0):
    """SIGTERM, wait, then SIGKILL. Returns the exit code (negative: killed by a signal)."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Origin:
    """edgegate-origin on 127.0.0.1: a context manager.

    port=0 lets the origin pick its port (no race); the actual one is read from its
    'listening 127.0.0.1:PORT' line. Every response carries X-Origin: NAME.
    """

    def __init__(self, name="origin", port=0, threads=1, start_timeout=10.0):
        self.name = name
        self.requested_port = port
        self.threads = threads
        self.start_timeout = start_timeout
        self.port = None
        self.proc = None
        self.dir = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        require_binaries()
        self.dir = tempfile.mkdtemp(prefix="edgegate-origin-")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        args = [ORIGIN_BIN, "--listen", "127.0.0.1:%d" % self.requested_port, "--name", self.name]
        if self.threads != 1:
            args += ["--threads", str(self.threads)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        pattern = re.compile(r"^listening 127\.0\.0\.1:(\d+)$", re.M)
        deadline = time.monotonic() + self.start_timeout
        while True:
            m = pattern.search(_tail(self.stdout_path))
            if m:
                self.port = int(m.group(1))
                if self.requested_port:
                    assert self.port == self.requested_port, (self.port, self.requested_port)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("edgegate-origin exited with %s before listening:\n%s" % (
                    self.proc.returncode, _tail(self.stderr_path)))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("edgegate-origin did not print 'listening' within %.0fs" %
                                   self.start_timeout)
            time.sleep(0.02)

    def stop(self):
        rc = None
        if self.proc is not None:
            rc = _terminate(self.proc, 5)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def get(self, path, headers=None):
        """A request straight to the origin (not through the gateway)."""
        return http("GET", "http://%s%s" % (self.addr, path), headers=headers)

    def stats(self):
        """{"connections_accepted", "requests", "connections_open", "server"}.

        The /stats request itself opens one connection: it is counted in
        connections_accepted and connections_open of the answer.
        """
        return self.get("/stats").json()


class Blackhole:
    """A local address whose connects hang (the SYN is dropped): a listening socket with a
    full accept queue that never accepts. Stands in for a non-routable address, which a
    sandbox may intercept. Context manager; .addr."""

    def __init__(self):
        self._sock = None
        self._fillers = []

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port = self._sock.getsockname()[1]
        for _ in range(8):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            self._fillers.append(c)
            c.connect_ex(("127.0.0.1", self.port))
            time.sleep(0.05)
            # A connect that is still pending after a while: the queue is full.
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", self.port))
            except socket.timeout:
                probe.close()
                return self
            except OSError:
                pass
            self._fillers.append(probe)
        self.__exit__()
        raise RuntimeError("could not fill the accept queue of a blackhole listener")

    def __exit__(self, *exc):
        for c in self._fillers:
            c.close()
        self._fillers = []
        if self._sock:
            self._sock.close()
        return False


class RawOrigin:
    """A minimal Python origin answering every request with `handler(head, body)` bytes.

    handler gets the request head (bytes, up to and including the blank line) and
    the body (Content-Length bodies only) and returns the raw response bytes; return
    None to close the connection without answering. Requests seen: .requests.
    """

    def __init__(self, handler, close_after=False):
        self.handler = handler
        self.close_after = close_after
        self.requests = []
        self._sock = None
        self._threads = []
        self._stopping = False
        self._conns = []

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stopping = True
        try:
            self._sock.close()
        except OSError:
            pass
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(2)
        return False

    def _accept_loop(self):
        self._sock.settimeout(0.1)  # closing a socket does not wake a blocked accept()
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        buf = b""
        conn.settimeout(30)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                head += b"\r\n\r\n"
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                n = int(m.group(1)) if m else 0
                while len(buf) < n:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:n], buf[n:]
                self.requests.append((head, body))
                resp = self.handler(head, body)
                if resp is None:
                    return
                conn.sendall(resp)
                if self.close_after:
                    return
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass


# --------------------------------------------------------------------------- YAML

_PLAIN = re.compile(r"^[A-Za-z0-9_./+-][A-Za-z0-9_./:@+ -]*$")
_YAML_SPECIAL = {"", "~", "null", "Null", "NULL", "true", "false", "True", "False", "TRUE",
                 "FALSE", "yes", "no", "Yes", "No", "YES", "NO", "on", "On", "ON", "off", "Off",
                 "OFF", "y", "n", "Y", "N"}


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    # "off", "on", "yes" as plain scalars stay strings to yaml-cpp, but a human reading the
    # file could think otherwise: plain only when nothing can be misread.
    if (_PLAIN.match(s) and s not in _YAML_SPECIAL and not s.endswith(" ") and ": " not in s
            and " #" not in s):
        return s
    return json.dumps(s)


def to_yaml(obj, indent=0):
    """dict / list / scalars -> block-style YAML (keys in insertion order)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, dict) and v:
                lines.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 1)))
            elif isinstance(v, list) and v and any(isinstance(x, (dict, list)) for x in v):
                lines.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 1)))
            elif isinstance(v, list):
                lines.append("%s%s: [%s]\n" % (pad, k, ", ".join(_scalar(x) for x in v)))
            elif isinstance(v, dict):
                lines.append("%s%s: {}\n" % (pad, k))
            else:
                lines.append("%s%s: %s\n" % (pad, k, _scalar(v)))
        return "".join(lines)
    if isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 1)
                # "- " takes the place of the first line's indentation.
                first, _, rest = sub.partition("\n")
                lines.append("%s- %s\n%s" % (pad, first.lstrip(), rest))
            else:
                lines.append("%s- %s\n" % (pad, _scalar(item)))
        return "".join(lines)
    return pad + _scalar(obj) + "\n"


# --------------------------------------------------------------------------- config


def route(name, upstream="app", prefix=None, path=None, methods=None, **extra):
    match = {}
    if path is not None:
        match["path"] = path
    else:
        match["path_prefix"] = prefix if prefix is not None else "/"
    if methods:
        match["methods"] = list(methods)
    r = {"name": name, "match": match, "upstream": upstream}
    r.update(extra)
    return r


def make_config(servers, workers=2, limits=None, upstream=None, routes=None, sites=None,
                upstreams=None, access_log="off", admin_token_env=None, drain_timeout="3s",
                trusted_proxies=None, hosts=("localhost", "127.0.0.1", "app.test"), server=None):
    """The default configuration as a dict (render with to_yaml; Gateway does it).

    servers:   origin addresses ("127.0.0.1:PORT") or Origin objects of upstream `app`
    limits:    server.limits keys (header_timeout, idle_timeout, max_header_bytes,
               max_body_bytes, max_connections_per_ip, ...)
    upstream:  more keys of upstream `app` (connect_timeout, response_timeout, retries,
               keepalive, balance, ...)
    routes:    routes of site `main` (default: `echo` prefix /echo and `default` prefix /,
               both to `app`)
    sites:     more sites after `main`
    upstreams: more upstreams {name: {servers: [...], ...}}
    access_log: "off", "stdout" or a path ("@TMP@/access.log" lands in the gateway's dir)
    """
    if not isinstance(servers, (list, tuple)):
        servers = [servers]
    servers = [s.addr if hasattr(s, "addr") else s for s in servers]
    srv = {"workers": workers}
    if drain_timeout is not None:
        srv["drain_timeout"] = drain_timeout
    admin = {"bind": "127.0.0.1:%d" % free_port()}
    if admin_token_env:
        admin["token_env"] = admin_token_env
    srv["admin"] = admin
    if limits:
        srv["limits"] = dict(limits)
    if trusted_proxies is not None:
        srv["trusted_proxies"] = list(trusted_proxies)
    srv["access_log"] = {"path": access_log}
    if server:
        srv.update(server)
    app = {"servers": list(servers)}
    if upstream:
        app.update(upstream)
    ups = {"app": app}
    for name, u in (upstreams or {}).items():
        u = dict(u)
        u["servers"] = [s.addr if hasattr(s, "addr") else s for s in u["servers"]]
        ups[name] = u
    if routes is None:
        routes = [route("echo", prefix="/echo"), route("default", prefix="/")]
    return {
        "server": srv,
        "listeners": [{"name": "http", "bind": "127.0.0.1:%d" % free_port()}],
        "sites": [{"name": "main", "hosts": list(hosts), "routes": routes}] + list(sites or []),
        "upstreams": ups,
    }


# --------------------------------------------------------------------------- clients


class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage (case-insensitive .get / .get_all)
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("response body is not JSON (%s): %r" % (e, self.body[:500]))

    def __repr__(self):
        return "<Resp %d %s %r>" % (self.status, dict(self.headers.items()), self.body[:300])


def http(method, url, headers=None, body=None, timeout=10.0):
    """One request on a new connection (http.client); returns Resp.

    A 'Host' in headers replaces the one http.client would send.
    """
    u = urllib.parse.urlsplit(url)
    conn = httpclient.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        conn.request(method, target, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, r.headers, data)
    finally:
        conn.close()


def request_on(conn, method, target, headers=None, body=None):
    """One request on an existing http.client.HTTPConnection (keep-alive)."""
    conn.request(method, target, body=body, headers=dict(headers or {}))
    r = conn.getresponse()
    data = r.read()
    return Resp(r.status, r.reason, r.headers, data)


def raw(port, data, read_timeout=2.0, host="127.0.0.1", max_bytes=64 * MiB):
    """Sends data on a new connection; returns what is read until close or until nothing
    arrived for read_timeout seconds. A reset after some bytes returns those bytes."""
    s = socket.create_connection((host, port), timeout=5)
    try:
        if data:
            s.sendall(data)
        return read_all(s, read_timeout, max_bytes)
    finally:
        s.close()


def read_all(sock, read_timeout=2.0, max_bytes=64 * MiB):
    sock.settimeout(read_timeout)
    out = bytearray()
    while len(out) < max_bytes:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return bytes(out)


def read_until(sock, marker, timeout=5.0):
    """Reads until `marker` is in what was read (or EOF / timeout); returns the bytes."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    out = bytearray()
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return bytes(out)


def read_response(sock, timeout=10.0):
    """Reads exactly one response (Content-Length, chunked or until close) from sock.
    Returns (status, headers dict lower-case -> last value, body bytes, raw head)."""
    sock.settimeout(timeout)
    buf = read_until(sock, b"\r\n\r\n", timeout)
    if b"\r\n\r\n" not in buf:
        raise AssertionError("no complete response head, got %r" % buf[:500])
    resps, rest = _parse_one_stream(buf, sock)
    return resps


def _parse_one_stream(buf, sock):
    try:
        return _parse_one_stream_inner(buf, sock)
    except socket.timeout:
        raise AssertionError("response stalled: nothing received for %ss in the middle of the "
                             "body" % sock.gettimeout())


def _parse_one_stream_inner(buf, sock):
    head, body = buf.split(b"\r\n\r\n", 1)
    status, headers = _parse_head(head)
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(body) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return (status, headers, body[:n], head), body[n:]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        dec = ChunkedDecoder()
        rest = dec.feed(body)
        while not dec.done:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise AssertionError("EOF inside a chunked body (%d body bytes so far)"
                                     % len(dec.body))
            rest = dec.feed(chunk)
        return (status, headers, bytes(dec.body), head), rest
    data = bytearray(body)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return (status, headers, bytes(data), head), b""


class _NeedMore(Exception):
    pass


class ChunkedDecoder:
    """Incremental chunked-body decoder: feed() bytes, .body grows, .done at the end;
    feed() returns the bytes after the body (once done)."""

    def __init__(self):
        self.body = bytearray()
        self.done = False
        self._pending = b""
        self._left = 0       # data bytes left in the current chunk
        self._state = "size"  # size | data | crlf | trailer

    def feed(self, data):
        buf = self._pending + data
        self._pending = b""
        pos = 0
        while not self.done:
            if self._state == "data":
                take = min(self._left, len(buf) - pos)
                self.body += buf[pos:pos + take]
                pos += take
                self._left -= take
                if self._left:
                    break
                self._state = "crlf"
                continue
            if self._state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise AssertionError("bad chunk terminator %r" % buf[pos:pos + 2])
                pos += 2
                self._state = "size"
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            line = buf[pos:eol]
            pos = eol + 2
            if self._state == "size":
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    self._state = "trailer"
                else:
                    self._left = size
                    self._state = "data"
            elif not line:  # the blank line after the trailers
                self.done = True
        if self.done:
            return buf[pos:]
        self._pending = buf[pos:]
        return b""


def _dechunk(data):
    """Decodes a chunked body at the start of data; returns (body, bytes used)."""
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise _NeedMore()
        size = int(data[pos:eol].split(b";")[0].strip(), 16)
        pos = eol + 2
        if size == 0:
            # trailers until an empty line
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    raise _NeedMore()
                line = data[pos:eol]
                pos = eol + 2
                if not line:
                    return bytes(out), pos
        if len(data) < pos + size + 2:
            raise _NeedMore()
        out += data[pos:pos + size]
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise AssertionError("bad chunk terminator")
        pos += size + 2


def _parse_head(head):
    lines = head.split(b"\r\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise AssertionError("bad status line %r" % status_line)
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def parse_responses(data, head_request=False):
    """Splits raw bytes into responses: list of (status, headers lower-case dict, body).

    Interim 1xx responses are returned as entries too. A truncated last response is
    returned with what there is of its body.
    """
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        status, headers = _parse_head(data[pos:end])
        pos = end + 4
        if 100 <= status < 200 or status in (204, 304) or head_request:
            out.append((status, headers, b""))
            continue
        if "chunked" in headers.get("transfer-encoding", "").lower():
            try:
                body, used = _dechunk(data[pos:])
            except _NeedMore:
                out.append((status, headers, data[pos:]))
                break
            out.append((status, headers, body))
            pos += used
        elif "content-length" in headers:
            n = int(headers["content-length"])
            out.append((status, headers, data[pos:pos + n]))
            pos += n
        else:
            out.append((status, headers, data[pos:]))
            break
    return out


def curl(*args, timeout=60):
    """Runs curl -sS with args; returns subprocess.CompletedProcess (bytes stdout/stderr)."""
    if shutil.which("curl") is None:
        raise unittest.SkipTest("curl is not installed")
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)


class Load:
    """Constant background traffic for zero-drop tests: `keepalive` threads reuse one
    connection (reconnecting after a `Connection: close`), `fresh` threads open a new
    connection per request. Counts ok, failed (another status, a timeout, a broken
    response) and resets (connection reset / closed before an answer) apart; `errors`
    keeps the first messages. A context manager; `summary()` is the line to print.
    """

    RESETS = (ConnectionResetError, BrokenPipeError, httpclient.RemoteDisconnected,
              ConnectionAbortedError)

    def __init__(self, port, path="/", keepalive=2, fresh=2, host="localhost", tls=False,
                 expect=(200,)):
        self.port = port
        self.path = path
        self.host = host
        self.tls = tls
        self.expect = tuple(expect)
        self.ok = self.failed = self.resets = 0
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(True,), daemon=True)
                         for _ in range(keepalive)]
        self._threads += [threading.Thread(target=self._run, args=(False,), daemon=True)
                          for _ in range(fresh)]

    def _conn(self):
        if self.tls:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return httpclient.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=ctx)
        return httpclient.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def _note(self, kind, what):
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            if what and len(self.errors) < 20:
                self.errors.append(what)

    def _run(self, keepalive):
        conn = None
        while not self._stop.is_set():
            if conn is None:
                conn = self._conn()
            try:
                conn.request("GET", self.path, headers={"Host": self.host})
                r = conn.getresponse()
                r.read()
                if r.status in self.expect:
                    self._note("ok", None)
                else:
                    self._note("failed", "status %d" % r.status)
                if not keepalive or r.will_close:
                    conn.close()
                    conn = None
            except self.RESETS as e:
                self._note("resets", "%s: %s" % (type(e).__name__, e))
                conn.close()
                conn = None
            except Exception as e:  # a timeout, a broken response, a refused connect
                self._note("failed", "%s: %s" % (type(e).__name__, e))
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(20)
        return self

    def total(self):
        with self._lock:
            return self.ok + self.failed + self.resets

    def summary(self):
        with self._lock:
            return "requests ok=%d failed=%d resets=%d%s" % (
                self.ok, self.failed, self.resets,
                " first errors: %s" % self.errors[:5] if self.errors else "")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# --------------------------------------------------------------------------- metrics

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """Prometheus text format -> {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable metrics line: %r" % line)
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        labels = {}
        pos = 0
        while pos < len(labels_text):
            lm = _LABEL.match(labels_text, pos)
            if not lm:
                raise AssertionError("unparsable labels in metrics line: %r" % line)
            labels[lm.group(1)] = (lm.group(2).replace('\\"', '"').replace("\\n", "\n")
                                   .replace("\\\\", "\\"))
            pos = lm.end()
        v = float("inf") if value == "+Inf" else float("-inf") if value == "-Inf" else float(value)
        out[(name, frozenset(labels.items()))] = v
    return out


def metric_value(metrics, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`; None when there is none."""
    want = set(labels.items())
    found = False
    total = 0.0
    for (n, ls), v in metrics.items():
        if n == name and want <= set(ls):
            found = True
            total += v
    return total if found else None


# --------------------------------------------------------------------------- gateway


class GatewayError(RuntimeError):
    pass


class Gateway:
    """edgegate with a configuration written to a fresh temp dir: a context manager.

    config: a dict (rendered with to_yaml) or a YAML string. In the rendered text,
    @TMP@ is replaced by the temp dir. For a string, @PORT@ and @ADMIN_PORT@ are
    replaced by free ports (or pass port= / admin_port=).
    """

    all_instances = []

    def __init__(self, config, env=None, wait_ready=True, ready_timeout=15.0, port=None,
                 admin_port=None, extra_args=()):
        require_binaries()
        self.config = config
        self.env = env
        self.wait_ready = wait_ready
        self.ready_timeout = ready_timeout
        self.extra_args = list(extra_args)
        self.proc = None
        self.dir = None
        self.exit_code = None
        self._stopped = False
        self.logs_printed = False
        if isinstance(config, dict):
            self.port = int(config["listeners"][0]["bind"].rsplit(":", 1)[1])
            self.admin_port = int(config["server"]["admin"]["bind"].rsplit(":", 1)[1])
        else:
            self.port = port or free_port()
            self.admin_port = admin_port or free_port()
        Gateway.all_instances.append(self)

    # -- addresses
    @property
    def admin(self):
        return "127.0.0.1:%d" % self.admin_port

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    # -- config files
    def render(self, config):
        text = to_yaml(config) if isinstance(config, dict) else config
        text = text.replace("@PORT@", str(self.port)).replace("@ADMIN_PORT@", str(self.admin_port))
        return text.replace("@TMP@", self.dir)

    def write_config(self, config):
        text = self.render(config)
        tmp = self.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)  # a reload never reads a half-written file
        return text

    # -- lifecycle
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="edgegate-it-")
        self.config_path = os.path.join(self.dir, "edgegate.yaml")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.write_config(self.config)
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([EDGEGATE_BIN, "-c", self.config_path] + self.extra_args,
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env)
        if self.wait_ready:
            self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        ready = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise GatewayError("edgegate exited with %s during start-up\n%s" % (
                    self.proc.returncode, self.logs()))
            if not ready:
                try:
                    ready = http("GET", "http://%s/readyz" % self.admin, timeout=1).status == 200
                except OSError:
                    ready = False
            if ready and tcp_accepts(self.port):
                return
            time.sleep(0.05)
        raise GatewayError("edgegate not ready within %.0fs (readyz 200: %s, listener "
                           "accepting: %s)\n%s" % (self.ready_timeout, ready,
                                                   tcp_accepts(self.port), self.logs()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, config=None):
        """Writes the new config (if given) and sends SIGHUP. Does not wait: see
        wait_reloads()."""
        if config is not None:
            self.write_config(config)
        self.proc.send_signal(signal.SIGHUP)

    def reload_count(self, result=None):
        labels = {"result": result} if result else {}
        return self.metric("edgegate_config_reloads_total", **labels) or 0

    def wait_reloads(self, count, result=None, timeout=5.0):
        return wait_for(lambda: self.reload_count(result) >= count, timeout,
                        what="edgegate_config_reloads_total%s >= %d" % (
                            "{result=%r}" % result if result else "", count))

    def stop(self, timeout=None):
        """SIGTERM, wait (drain_timeout + 5 s), SIGKILL if still running. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout if timeout is not None else 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            self.exit_code = "killed after SIGTERM timeout"
            self._stopped = True
            return None
        self.exit_code = self.proc.returncode
        self._stopped = True
        return self.exit_code

    def wait_exit(self, timeout):
        """Waits for the process to exit by itself; returns the exit code or None."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._stopped = True
        self.exit_code = self.proc.returncode
        return self.exit_code

    def cleanup(self, failed):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        if failed:
            if not self.logs_printed:
                sys.stderr.write(self.logs())
                self.logs_printed = True
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup(failed=True)
            raise

    def __exit__(self, exc_type, exc, tb):
        was_running = self.alive()
        if was_running:
            rc = self.stop()
        else:
            rc = self.proc.returncode if self.proc else None
        bad_exit = rc not in (0, None) and not self._expected_nonzero()
        self.cleanup(failed=exc_type is not None or bad_exit)
        if exc_type is None and bad_exit:
            raise AssertionError("edgegate exited with %s (expected 0 after SIGTERM): crash, "
                                 "sanitizer report or unclean shutdown; logs above" % rc)
        return False

    def _expected_nonzero(self):
        # EDGEGATE_IT_IGNORE_EXIT=1: while developing, do not fail tests on a bad exit code.
        return getattr(self, "allow_nonzero_exit", False) or os.environ.get(
            "EDGEGATE_IT_IGNORE_EXIT") == "1"

    def logs(self):
        if not self.dir:
            return ""
        parts = ["\n===== edgegate logs (%s) =====" % self.dir]
        for label, path in (("config", getattr(self, "config_path", None)),
                            ("stdout", getattr(self, "stdout_path", None)),
                            ("stderr", getattr(self, "stderr_path", None))):
            if path and os.path.exists(path):
                parts.append("----- %s -----\n%s" % (label, _tail(path)))
        return "\n".join(parts) + "\n===== end of edgegate logs =====\n"

    # -- HTTP helpers
    def get(self, path, headers=None, host="localhost", timeout=10.0):
        h = {"Host": host}
        h.update(headers or {})
        return http("GET", self.url + path, headers=h, timeout=timeout)

    def request(self, method, path, headers=None, body=None, host="localhost", timeout=10.0):
        h = {"Host": host}
        h.update(headers or {})
        return http(method, self.url + path, headers=h, body=body, timeout=timeout)

    def admin_get(self, path, headers=None):
        return http("GET", "http://%s%s" % (self.admin, path), headers=headers)

    def admin_request(self, method, path, headers=None, body=None):
        return http(method, "http://%s%s" % (self.admin, path), headers=headers, body=body)

    def metrics_text(self):
        r = self.admin_get("/metrics")
        if r.status != 200:
            raise AssertionError("GET /metrics answered %d: %r" % (r.status, r.body[:300]))
        return r.text()

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def metrics_when(self, name, at_least, timeout=2.0, **labels):
        """The metrics once `name` (labels a subset match) reaches `at_least`, or as they are
        after `timeout` (the caller's exact assertions then say what is missing). A request is
        counted when its last byte is written (when the connection ends, for a response that
        closes it), which can be just after the client has read it: a scrape right after the
        last response may miss that one."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if (metric_value(m, name, **labels) or 0) >= at_least or time.monotonic() >= deadline:
                return m
            time.sleep(0.02)

    def metric(self, name, **labels):
        """Sum of the samples of `name` with these labels (a subset match); None if absent."""
        return metric_value(self.metrics(), name, **labels)

    def require_metric(self, name, **labels):
        v = self.metric(name, **labels)
        if v is None:
            raise AssertionError("metric %s%s is missing from GET /metrics" % (
                name, "{%s}" % ",".join('%s="%s"' % kv for kv in labels.items()) if labels
                else ""))
        return v

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def connect(self, timeout=5.0):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


def run_edgegate(*args, env=None, timeout=30):
    """Runs edgegate with args to completion (e.g. -t -c FILE); CompletedProcess, text."""
    require_binaries()
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([EDGEGATE_BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=e)


# --------------------------------------------------------------------------- redis


def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis error: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RuntimeError("unexpected redis reply %r" % line)


class Redis:
    """redis-server on a free 127.0.0.1 port without persistence: a context manager.

    stop() and start() again keep the port (an outage and a recovery); pause() / resume()
    send SIGSTOP / SIGCONT (a Redis that accepts connections but does not answer).
    command(*args) is a tiny blocking client. Skips the test when redis-server is missing.
    """

    def __init__(self, password=None, start_timeout=10.0):
        self.password = password
        self.start_timeout = start_timeout
        self.port = free_port()
        self.proc = None
        self.dir = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise unittest.SkipTest("redis-server is not installed")
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="edgegate-redis-")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--loglevel", "warning"]
        if self.password:
            args += ["--requirepass", self.password]
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if self.command("PING") == "PONG":
                    return self
            except (OSError, RuntimeError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start on port %d" % self.port)
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGCONT)  # a paused one must be able to exit
                except ProcessLookupError:
                    pass
            _terminate(self.proc, 5)
            self.proc = None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def command(self, *args, timeout=2.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            f = s.makefile("rb")
            if self.password:
                s.sendall(_resp_encode(["AUTH", self.password]))
                _resp_read(f)
            s.sendall(_resp_encode(args))
            return _resp_read(f)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return False


# --------------------------------------------------------------------------- test case


class EdgeTestCase(unittest.TestCase):
    """Base class: a failing test prints the logs of the gateways it started."""

    maxDiff = 4000

    def setUp(self):
        self._gateways_before = len(Gateway.all_instances)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if not getattr(outcome, "success", True):
            return True
        result = getattr(outcome, "result", None)
        if result is not None:
            for test, _ in list(result.failures) + list(result.errors):
                if test is self:
                    return True
        return False

    def tearDown(self):
        if self._failed():
            for g in Gateway.all_instances:
                # the class's shared gateway too: its logs show what this test did
                if g.logs_printed:
                    continue
                if g.alive() or g in Gateway.all_instances[self._gateways_before:]:
                    if g.dir and os.path.isdir(g.dir):
                        sys.stderr.write(g.logs())
                        if not g.alive():
                            g.logs_printed = True

    def assertErrorBody(self, status, headers, body, expected_status):
        """SPEC: errors are short text/plain bodies naming the request id."""
        self.assertEqual(status, expected_status, "status (body %r)" % body[:300])
        ctype = headers.get("content-type") if isinstance(headers, dict) else headers.get(
            "Content-Type")
        self.assertIsNotNone(ctype, "error response has no Content-Type")
        self.assertTrue(ctype.lower().startswith("text/plain"), "Content-Type %r" % ctype)
        rid = headers.get("x-request-id") if isinstance(headers, dict) else headers.get(
            "X-Request-Id")
        self.assertTrue(rid, "error response has no X-Request-Id")
        self.assertIn(rid.encode(), body, "error body %r does not name the request id %r" % (
            body[:300], rid))
        self.assertLess(len(body), 4096, "error body is not short")


def main():
    unittest.main(verbosity=2)
