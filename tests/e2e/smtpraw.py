#!/usr/bin/env python3
"""smtpraw.py - a byte-exact SMTP client for mxguard's end-to-end tests.

    smtpraw.py [-t TIMEOUT] HOST PORT STEP...

Each STEP is "verb" or "verb:argument"; arguments of send take C escapes
(\\r \\n \\t \\0 \\xNN \\\\), so any byte can be sent. Steps:

    send:BYTES      write BYTES in one write
    sendfile:PATH   write the file's bytes as they are
    senddata:PATH   write the file dot-stuffed, then CRLF.CRLF (the file
                    must end in CRLF; a missing final CRLF is added)
    bdat:N:PATH     write the file as BDAT chunks of N bytes, the last
                    one "BDAT n LAST", all in one write (then recv one
                    reply per chunk)
    recv[:N]        read N complete replies (default 1)
    quiet:SECONDS   read whatever arrives for SECONDS (asserting absence)
    eof             read until the server closes (or the timeout)
    starttls        start TLS on the socket (no verification)
    mark:PATH       create PATH (tells the test a point was reached)
    waitfile:PATH   wait until PATH exists (the test says go on)
    close           close the connection

Every reply line read is printed as "<<< line" (non-printable bytes as
\\xNN), every write as ">>> N bytes" (short writes also show the text),
problems as "!!! ...". A last line "CODES: 220 250 ..." lists the code of
every complete reply, in the order received. The exit status is 0 when
every step ran, 1 when a step could not (timeout, closed connection).
"""
import os
import socket
import ssl
import sys
import time

TIMEOUT = 10.0
codes = []
buf = b""
sock = None


def out(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def show(b):
    r = []
    for c in b:
        if 0x20 <= c < 0x7F and c != 0x5C:
            r.append(chr(c))
        elif c == 0x5C:
            r.append("\\\\")
        elif c == 13:
            r.append("\\r")
        elif c == 10:
            r.append("\\n")
        elif c == 0:
            r.append("\\0")
        else:
            r.append("\\x%02x" % c)
    return "".join(r)


def unescape(s):
    b = s.encode("latin-1", "backslashreplace")
    o = bytearray()
    i = 0
    simple = {ord("r"): 13, ord("n"): 10, ord("t"): 9, ord("0"): 0,
              ord("\\"): 92, ord("a"): 7, ord("e"): 27}
    while i < len(b):
        c = b[i]
        if c == 92 and i + 1 < len(b):
            n = b[i + 1]
            if n == ord("x") and i + 3 < len(b):
                o.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            if n in simple:
                o.append(simple[n])
                i += 2
                continue
        o.append(c)
        i += 1
    return bytes(o)


class Fail(Exception):
    pass


class Closed(Exception):
    pass


def fill(deadline):
    """Reads more bytes into buf; False on EOF."""
    global buf
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    sock.settimeout(left)
    try:
        d = sock.recv(65536)
    except socket.timeout:
        raise TimeoutError
    except (ConnectionResetError, ssl.SSLError, OSError) as e:
        out("!!! read error: %s" % e)
        return False
    if not d:
        return False
    buf += d
    return True


def read_line(deadline):
    global buf
    while b"\n" not in buf:
        if not fill(deadline):
            return None
    i = buf.index(b"\n")
    line, buf = buf[:i + 1], buf[i + 1:]
    return line


def read_reply(deadline):
    """One complete (maybe multi-line) reply; prints its lines."""
    while True:
        line = read_line(deadline)
        if line is None:
            if buf:
                out("<<< %s (incomplete line at EOF)" % show(buf))
            raise Closed()
        text = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        out("<<< " + show(text) + ("" if line.endswith(b"\r\n") else
                                   " (bare LF)"))
        if len(text) >= 4 and text[3:4] == b"-":
            continue
        codes.append(text[:3].decode("latin-1", "replace"))
        return


def send(data):
    try:
        sock.sendall(data)
    except OSError as e:
        out("!!! write failed: %s" % e)
        raise Fail("write failed")
    if len(data) <= 200:
        out(">>> %d bytes: %s" % (len(data), show(data)))
    else:
        out(">>> %d bytes" % len(data))


def stuff(data):
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")[:-1]
    o = []
    for l in lines:
        o.append(b"." + l if l.startswith(b".") else l)
    return b"\r\n".join(o) + b"\r\n.\r\n"


def step(s):
    global sock, buf
    verb, _, arg = s.partition(":")
    if verb == "send":
        send(unescape(arg))
    elif verb == "sendfile":
        with open(arg, "rb") as f:
            send(f.read())
    elif verb == "senddata":
        with open(arg, "rb") as f:
            send(stuff(f.read()))
    elif verb == "bdat":
        n, _, path = arg.partition(":")
        n = int(n)
        with open(path, "rb") as f:
            data = f.read()
        chunks = [data[i:i + n] for i in range(0, len(data), n)] or [b""]
        o = b""
        for i, c in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            o += b"BDAT %d%s\r\n" % (len(c), last.encode()) + c
        out("=== %d BDAT chunk(s)" % len(chunks))
        send(o)
    elif verb == "recv":
        n = int(arg) if arg else 1
        for _ in range(n):
            try:
                read_reply(time.monotonic() + TIMEOUT)
            except TimeoutError:
                out("!!! timeout waiting for a reply")
                raise Fail("timeout")
            except Closed:
                out("!!! EOF: the server closed the connection")
                raise Fail("closed")
    elif verb == "quiet":
        deadline = time.monotonic() + float(arg)
        try:
            while True:
                read_reply(deadline)
        except TimeoutError:
            pass
        except Closed:
            out("=== EOF: the server closed the connection")
    elif verb == "eof":
        deadline = time.monotonic() + TIMEOUT
        try:
            while True:
                read_reply(deadline)
        except TimeoutError:
            out("!!! timeout waiting for the server to close")
            raise Fail("timeout")
        except Closed:
            out("=== EOF: the server closed the connection")
    elif verb == "starttls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if buf:
            out("!!! %d bytes read in clear after the 220: %s"
                % (len(buf), show(buf)))
        sock.settimeout(TIMEOUT)
        try:
            sock = ctx.wrap_socket(sock, server_hostname="mx.example.test")
        except (ssl.SSLError, OSError) as e:
            out("!!! TLS handshake failed: %s" % e)
            raise Fail("tls")
        buf = b""
        out("=== TLS %s %s" % (sock.version(), sock.cipher()[0]))
    elif verb == "mark":
        open(arg, "w").close()
    elif verb == "waitfile":
        deadline = time.monotonic() + 60
        while not os.path.exists(arg):
            if time.monotonic() > deadline:
                out("!!! gave up waiting for %s" % arg)
                raise Fail("waitfile")
            time.sleep(0.02)
    elif verb == "close":
        sock.close()
        out("=== closed")
    else:
        out("!!! unknown step %r" % s)
        raise Fail("usage")


def main():
    global TIMEOUT, sock
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "-t":
        TIMEOUT = float(args[1])
        args = args[2:]
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    host, port, steps = args[0], int(args[1]), args[2:]
    rc = 0
    try:
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
        out("=== connected to %s:%d" % (host, port))
    except OSError as e:
        out("!!! connect failed: %s" % e)
        out("CODES:")
        return 1
    try:
        for s in steps:
            step(s)
    except Fail:
        rc = 1
    out("CODES: " + " ".join(codes))
    return rc


if __name__ == "__main__":
    sys.exit(main())
