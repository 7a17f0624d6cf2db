#!/usr/bin/env python3
"""hostile.py - misbehaving SMTP clients for mxguard's end-to-end tests.

    hostile.py raw [-t TIMEOUT] [-b SRCADDR] HOST PORT STEP...
    hostile.py noread [-b SRCADDR] [--max-bytes N] [--hold SECONDS] HOST PORT
    hostile.py conns [--sources SPEC] [--per-source N] [--ready PATH]
                     [--release PATH] [--max SECONDS] [--inflight N]
                     [--proxy] HOST PORT
    hostile.py burst [-t TIMEOUT] --count N --cmds "RSET,NOOP" [--quit]
                     HOST PORT
    hostile.py send [-b SRCADDR] [--count N] [--size BYTES] [--tag TEXT] HOST PORT

raw: smtpraw.py (same steps, same output: "<<< line", "CODES: ...") with
more steps:
    shutwr              shutdown(SHUT_WR): half-close, keep reading
    sleep:SECONDS       wait without reading
    dribble:IVAL:MAX:TEXT
                        send TEXT (C escapes) one byte every IVAL seconds,
                        over and over, for at most MAX seconds; stops early
                        when the server replies or closes (replies are
                        read and printed); prints "=== dribbled N bytes in
                        S s" and "=== EOF after S s" when it closed
    tlshello:N          send the first N bytes of a real TLS ClientHello
    tlsdribble:IVAL:MAX dribble a real TLS ClientHello, as dribble does
    time                print "=== time S" (seconds since connecting)
-b binds the client's source address (127.0.x.y: a different client).

noread: a client that never reads. Small receive buffer; reads the
greeting and the reply to EHLO, then sends NOOP after NOOP without reading
a byte, until --max-bytes are sent or
a send has been blocked for 2 s (the server stopped reading). Then holds
the socket, still not reading, until the server resets or closes it or
--hold seconds pass. Prints "RESULT sent=N blocked=0|1" and "RESULT
closed=0|1 after=S".

conns: many idle connections. Sources: "127.0.1.1-127.0.1.50" or a comma
list; --per-source connections from each. Each reads its first reply (220
or 421). With --proxy the connections come from 127.0.0.1 and the
sources (IPv4 or IPv6) are named in a PROXY v1 header sent first. Prints
"RESULT opened=N greeted=N refused=N failed=N secs=S" and
the count per source address when there are few. Touches --ready when
every connection has its first reply, then holds the greeted ones (not
reading) until --release exists or --max seconds; then sends QUIT and
closes them all. Raises its own RLIMIT_NOFILE to the hard limit.

burst: EHLO, then COUNT commands (cycling through --cmds; then QUIT with
--quit) in one write,
while a thread reads every reply until the server closes or TIMEOUT.
Prints "RESULT replies=N eof=0|1" (the reply to EHLO not counted),
"COUNT code=N" lines and "LAST line" (the last reply).

send: COUNT messages, one session each, in lockstep (like smtp-source);
each is timed from connect to the 250 after the final dot. Prints one
"MSG i code=... ms=..." line each and "RESULT ok=N fail=N p50_ms= max_ms=".
The exit status is 0 only when every message got 250.
"""
import os
import resource
import select
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smtpraw  # noqa: E402


def out(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(host, port, src=None, timeout=10.0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


# ---- raw: smtpraw.py plus a few steps ------------------------------------

class Stop(Exception):
    pass


T0 = 0.0


def client_hello():
    """The bytes of a real TLS ClientHello (OpenSSL's, via MemoryBIO)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="mx.example.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def dribble(arg, data=None):
    ival, _, rest = arg.partition(":")
    mx, _, text = rest.partition(":")
    ival, mx = float(ival), float(mx)
    if data is None:
        data = smtpraw.unescape(text)
    sock = smtpraw.sock
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < mx:
        b = data[n % len(data):n % len(data) + 1]
        try:
            sock.send(b)
        except OSError as e:
            out("=== dribble: write failed after %d bytes, %.1f s: %s"
                % (n, time.monotonic() - start, e))
            out("=== EOF after %.1f s" % (time.monotonic() - start))
            raise Stop()
        n += 1
        end = time.monotonic() + ival
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                break
            try:
                smtpraw.read_reply(time.monotonic() + 5)
                out("=== dribble: a reply after %d bytes, %.1f s"
                    % (n, time.monotonic() - start))
            except (smtpraw.Closed, TimeoutError):
                out("=== dribbled %d bytes in %.1f s" %
                    (n, time.monotonic() - start))
                out("=== EOF after %.1f s" % (time.monotonic() - start))
                raise Stop()
    out("=== dribbled %d bytes in %.1f s, the server still listening"
        % (n, time.monotonic() - start))


def raw_step(s):
    verb, _, arg = s.partition(":")
    if verb == "shutwr":
        smtpraw.sock.shutdown(socket.SHUT_WR)
        out("=== shutdown(SHUT_WR)")
    elif verb == "sleep":
        time.sleep(float(arg))
    elif verb == "dribble":
        dribble(arg)
    elif verb == "tlsdribble":
        dribble(arg + ":", client_hello())
    elif verb == "tlshello":
        hello = client_hello()
        n = min(int(arg), len(hello))
        out("=== TLS ClientHello: sending %d of %d bytes" % (n, len(hello)))
        smtpraw.send(hello[:n])
    elif verb == "time":
        out("=== time %.2f" % (time.monotonic() - T0))
    elif verb == "eof":
        t = time.monotonic()
        try:
            smtpraw.step(s)
        finally:
            out("=== waited %.2f s for the close" % (time.monotonic() - t))
    else:
        smtpraw.step(s)


def cmd_raw(args):
    global T0
    src = None
    while args and args[0] in ("-t", "-b"):
        if args[0] == "-t":
            smtpraw.TIMEOUT = float(args[1])
        else:
            src = args[1]
        args = args[2:]
    host, port, steps = args[0], int(args[1]), args[2:]
    rc = 0
    try:
        smtpraw.sock = connect(host, port, src, smtpraw.TIMEOUT)
        T0 = time.monotonic()
        out("=== connected to %s:%d%s" % (host, port,
                                          " from " + src if src else ""))
    except OSError as e:
        out("!!! connect failed: %s" % e)
        out("CODES:")
        return 1
    try:
        for s in steps:
            raw_step(s)
    except smtpraw.Fail:
        rc = 1
    except Stop:
        pass
    out("CODES: " + " ".join(smtpraw.codes))
    return rc


# ---- noread ------------------------------------------------------------------

def cmd_noread(args):
    src, max_bytes, hold = None, 64 << 20, 30.0
    while args and args[0].startswith("-"):
        o, v = args[0], args[1]
        args = args[2:]
        if o == "-b":
            src = v
        elif o == "--max-bytes":
            max_bytes = int(v)
        elif o == "--hold":
            hold = float(v)
    host, port = args[0], int(args[1])
    s = connect(host, port, src, rcvbuf=4096)
    # the greeting and the reply to EHLO are read (PIPELINING offered);
    # after that, never a byte
    f = s.makefile("rb")
    out("<<< " + smtpraw.show(f.readline().rstrip(b"\r\n")))
    s.sendall(b"EHLO noread.example.net\r\n")
    while True:
        ln = f.readline()
        if not ln or ln[3:4] != b"-":
            break
    out("<<< " + smtpraw.show(ln.rstrip(b"\r\n")))
    s.setblocking(False)
    chunk = b"NOOP\r\n" * 10000
    sent, blocked, pos = 0, 0, 0
    t0 = time.monotonic()
    last = time.monotonic()
    while sent < max_bytes:
        try:
            n = s.send(chunk[pos:])
        except BlockingIOError:
            n = 0
        except OSError as e:
            out("=== send failed after %d bytes: %s" % (sent, e))
            break
        if n > 0:
            sent += n
            last = time.monotonic()
            pos = (pos + n) % len(chunk)
            continue
        if time.monotonic() - last > 2.0:
            blocked = 1
            break
        select.select([], [s], [], 0.2)
    out("RESULT sent=%d blocked=%d secs=%.1f" % (sent, blocked,
                                                 time.monotonic() - t0))
    # hold, still reading nothing, until the server resets or closes
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    t1 = time.monotonic()
    closed = 0
    while time.monotonic() - t1 < hold:
        ev = p.poll(200)
        if ev:
            closed = 1
            break
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    out("RESULT closed=%d after=%.1f so_error=%s" % (
        closed, time.monotonic() - t1, os.strerror(err) if err else 0))
    # what did arrive, and is it the end?
    s.setblocking(True)
    s.settimeout(5)
    got = b""
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
    except OSError as e:
        out("=== read: %s" % e)
    lines = got.split(b"\r\n")
    out("RESULT read=%d lines=%d last=%s" % (
        len(got), len(lines), smtpraw.show(lines[-2] if len(lines) > 1
                                           else b"")))
    s.close()
    return 0


# ---- conns -------------------------------------------------------------------

def parse_sources(spec):
    out_ = []
    for part in spec.split(","):
        if ":" in part:			# IPv6 (--proxy only): no ranges
            out_.append(part)
        elif "-" in part:
            a, b = part.split("-")
            ai = int.from_bytes(socket.inet_aton(a), "big")
            bi = int.from_bytes(socket.inet_aton(b), "big")
            for i in range(ai, bi + 1):
                if i & 0xff in (0, 255):
                    continue
                out_.append(socket.inet_ntoa(i.to_bytes(4, "big")))
        else:
            out_.append(part)
    return out_


def cmd_conns(args):
    host, port = None, None
    sources, per, ready, release = "127.0.0.1", 1, None, None
    mx, inflight, proxy = 60.0, 400, False
    pos = []
    while args:
        o = args.pop(0)
        if o == "--sources":
            sources = args.pop(0)
        elif o == "--per-source":
            per = int(args.pop(0))
        elif o == "--ready":
            ready = args.pop(0)
        elif o == "--release":
            release = args.pop(0)
        elif o == "--max":
            mx = float(args.pop(0))
        elif o == "--inflight":
            inflight = int(args.pop(0))
        elif o == "--proxy":
            proxy = True
        else:
            pos.append(o)
    host, port = pos[0], int(pos[1])
    lim = raise_nofile()
    srcs = parse_sources(sources)
    todo = [a for a in srcs for _ in range(per)]
    out("=== %d connections from %d source address(es); nofile %d"
        % (len(todo), len(srcs), lim))
    ep = select.epoll()
    pending = {}		# fd -> (sock, src, buf)
    held = []
    per_src = {}
    greeted = refused = failed = 0
    t0 = time.monotonic()
    deadline = t0 + mx
    i = 0
    while (i < len(todo) or pending) and time.monotonic() < deadline:
        while i < len(todo) and len(pending) < inflight:
            src = todo[i]
            i += 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                if proxy:
                    # the client named in a PROXY v1 header
                    s.settimeout(10)
                    s.connect((host, port))
                    s.sendall(b"PROXY %s %s %s 4321 25\r\n" % (
                        b"TCP6" if ":" in src else b"TCP4", src.encode(),
                        b"::1" if ":" in src else b"127.0.0.1"))
                    s.setblocking(False)
                else:
                    s.setblocking(False)
                    s.bind((src, 0))
                    s.connect_ex((host, port))
            except OSError as e:
                failed += 1
                per_src.setdefault(src, [0, 0, 0])[2] += 1
                if failed <= 5:
                    out("!!! connect from %s: %s" % (src, e))
                s.close()
                continue
            pending[s.fileno()] = [s, src, b"", time.monotonic()]
            ep.register(s.fileno(), select.EPOLLIN)
        for fd, ev in ep.poll(0.2):
            s, src, buf, _ = pending[fd]
            try:
                d = s.recv(4096)
            except OSError as e:
                d = b""
                if failed < 5:
                    out("!!! read from %s: %s" % (src, e))
            buf += d
            pending[fd][2] = buf
            if d and b"\n" not in buf:
                continue
            ep.unregister(fd)
            del pending[fd]
            st = per_src.setdefault(src, [0, 0, 0])
            if buf.startswith(b"220"):
                greeted += 1
                st[0] += 1
                held.append(s)
            elif buf[:1] == b"4" or buf[:1] == b"5":
                refused += 1
                st[1] += 1
                if refused <= 3:
                    out("<<< %s (from %s)" % (smtpraw.show(buf.strip()),
                                              src))
                s.close()
            else:
                failed += 1
                st[2] += 1
                if failed <= 5:
                    out("!!! from %s: %s" % (src, smtpraw.show(buf)))
                s.close()
    for fd, (s, src, buf, _) in list(pending.items()):
        failed += 1
        per_src.setdefault(src, [0, 0, 0])[2] += 1
        s.close()
    secs = time.monotonic() - t0
    out("RESULT opened=%d greeted=%d refused=%d failed=%d secs=%.1f"
        % (i, greeted, refused, failed, secs))
    if len(per_src) <= 20:
        for src in srcs:
            g, r, f = per_src.get(src, [0, 0, 0])
            out("SOURCE %s greeted=%d refused=%d failed=%d" % (src, g, r, f))
    if ready:
        open(ready, "w").close()
    if release:
        while not os.path.exists(release) and time.monotonic() < \
                t0 + mx + 600:
            time.sleep(0.05)
    for s in held:
        try:
            s.send(b"QUIT\r\n")
        except OSError:
            pass
        s.close()
    out("=== released %d connections" % len(held))
    return 0


# ---- burst ---------------------------------------------------------------------

def cmd_burst(args):
    timeout, count, cmds, quit_ = 30.0, 1000, ["NOOP"], False
    pos = []
    while args:
        o = args.pop(0)
        if o == "-t":
            timeout = float(args.pop(0))
        elif o == "--count":
            count = int(args.pop(0))
        elif o == "--cmds":
            cmds = args.pop(0).split(",")
        elif o == "--quit":
            quit_ = True
        else:
            pos.append(o)
    host, port = pos[0], int(pos[1])
    s = connect(host, port, None, timeout)
    f = s.makefile("rb")
    greet = f.readline()
    out("<<< " + smtpraw.show(greet.rstrip(b"\r\n")))
    s.sendall(b"EHLO burst.example.net\r\n")
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            break
    out("<<< " + smtpraw.show(line.rstrip(b"\r\n")))
    payload = b"".join((cmds[i % len(cmds)] + "\r\n").encode()
                       for i in range(count))
    if quit_:
        payload += b"QUIT\r\n"
    counts = {}
    state = {"n": 0, "eof": 0, "last": b""}

    def reader():
        try:
            while True:
                ln = f.readline()
                if not ln:
                    state["eof"] = 1
                    return
                if ln[3:4] == b"-":
                    continue
                code = ln[:3].decode("latin-1")
                counts[code] = counts.get(code, 0) + 1
                state["n"] += 1
                state["last"] = ln.rstrip(b"\r\n")
        except OSError as e:
            out("=== read: %s" % e)
            state["eof"] = 1

    th = threading.Thread(target=reader, daemon=True)
    t0 = time.monotonic()
    th.start()
    try:
        s.sendall(payload)
        out(">>> %d bytes (%d commands)" % (len(payload), count))
    except OSError as e:
        out("!!! write: %s (the server closed)" % e)
    th.join(timeout)
    out("RESULT replies=%d eof=%d secs=%.2f" % (state["n"], state["eof"],
                                               time.monotonic() - t0))
    for code in sorted(counts):
        out("COUNT %s=%d" % (code, counts[code]))
    out("LAST %s" % smtpraw.show(state["last"]))
    return 0


# ---- send: timed well-behaved messages -------------------------------------------

def cmd_send(args):
    src, count, size, tag = None, 1, 2048, "good"
    pos = []
    while args:
        o = args.pop(0)
        if o == "-b":
            src = args.pop(0)
        elif o == "--count":
            count = int(args.pop(0))
        elif o == "--size":
            size = int(args.pop(0))
        elif o == "--tag":
            tag = args.pop(0)
        else:
            pos.append(o)
    host, port = pos[0], int(pos[1])
    body = (b"x" * 70 + b"\r\n") * max(1, size // 72)
    ok = bad = 0
    times = []
    for i in range(count):
        t0 = time.monotonic()
        code = "---"
        try:
            s = connect(host, port, src, 30)
            f = s.makefile("rb")

            def reply():
                while True:
                    ln = f.readline()
                    if not ln:
                        raise OSError("connection closed")
                    if ln[3:4] != b"-":
                        return ln

            r = reply()
            for c in (b"EHLO good.example.net", b"MAIL FROM:<good@client."
                      b"example.net>", b"RCPT TO:<good@example.test>",
                      b"DATA"):
                if not r.startswith(b"2") and not r.startswith(b"3"):
                    break
                s.sendall(c + b"\r\n")
                r = reply()
            if r.startswith(b"354"):
                s.sendall(b"Subject: %s %d\r\n\r\n" % (tag.encode(), i) +
                          body + b".\r\n")
                r = reply()
            code = r[:3].decode("latin-1")
            last = r
            try:
                s.sendall(b"QUIT\r\n")
                reply()
            except OSError:
                pass
            s.close()
        except OSError as e:
            last = str(e).encode()
        ms = (time.monotonic() - t0) * 1000
        if code == "250":
            ok += 1
            times.append(ms)
        else:
            bad += 1
        out("MSG %d code=%s ms=%.1f %s" % (i, code, ms,
                                         smtpraw.show(last.strip())[:100]))
    times.sort()
    p50 = times[len(times) // 2] if times else 0
    out("RESULT ok=%d fail=%d p50_ms=%.1f max_ms=%.1f" % (
        ok, bad, p50, times[-1] if times else 0))
    return 0 if bad == 0 else 1


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"raw": cmd_raw, "noread": cmd_noread, "conns": cmd_conns,
          "burst": cmd_burst, "send": cmd_send}.get(cmd)
    if fn is None:
        sys.stderr.write(__doc__)
        return 2
    return fn(args)


if __name__ == "__main__":
    sys.exit(main())
