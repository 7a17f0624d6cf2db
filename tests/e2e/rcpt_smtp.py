#!/usr/bin/env python3
"""rcpt_smtp.py - an SMTP client for the recipient tests and benchmarks.

  rcpt_smtp.py session PORT [--helo H] [--from ADDR] [--rcpt ADDR ...]
                [--rcpt-file FILE] [--data FILE|-] [--pipeline] [--timing]
                [--drop] [--timeout S]
      One session: EHLO, MAIL, each RCPT, then DATA if asked and at least
      one recipient was accepted, QUIT. Prints one line per reply:
      "GREETING 220 ...", "MAIL 250 ...", "RCPT <addr> 550 5.1.1 ...",
      "DATA 354 ...", "EOM 250 ...", "QUIT 221 ..." (--timing: each RCPT
      line ends in "(Nms)", the wait for its reply; --drop closes the
      connection after the RCPTs, mid-transaction); a connection the
      server closes prints "CLOSED <after what>". Exit 0 unless the
      connection failed before the greeting.
  rcpt_smtp.py attack PORT --sessions N --rcpts M [--valid-every K]
                [--domain D] [--valid ADDR] [--seed S] [--prefix P]
      Dictionary attack: N sessions in parallel (threads), M RCPTs in all,
      spread evenly, the j-th a local part made of P, the seed and j, in
      D (every K-th the valid address instead): the same seed asks about
      the same addresses again. Prints a summary line:
      "attack sessions=N rcpts=M replies=R 2xx=.. 4xx=.. 5xx=.. closed=..
       seconds=T rate=R/s".
"""
import argparse
import random
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, port, timeout):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        """One reply: (code, text of the last line) or (None, None) at EOF."""
        lines = []
        while True:
            while b"\n" not in self.buf:
                try:
                    chunk = self.s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    chunk = b""
                if not chunk:
                    return None, None
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[-1][:3]) if lines[-1][:3].isdigit() else 0, lines[-1]

    def send(self, data):
        try:
            self.s.sendall(data.encode() if isinstance(data, str) else data)
            return True
        except OSError:
            return False


def session(args):
    try:
        c = Conn(args.port, args.timeout)
    except OSError as e:
        print("CONNECT-FAILED %s" % e)
        return 1
    code, text = c.reply()
    print("GREETING %s" % text)
    if code != 220:
        return 0
    c.send("EHLO %s\r\n" % args.helo)
    code, text = c.reply()
    if code is None:
        print("CLOSED after EHLO")
        return 0
    rcpts = list(args.rcpt or [])
    if args.rcpt_file:
        with open(args.rcpt_file) as f:
            rcpts += [l.strip() for l in f if l.strip()]
    c.send("MAIL FROM:<%s>\r\n" % args.sender)
    code, text = c.reply()
    print("MAIL %s" % text if code is not None else "CLOSED after MAIL")
    if code is None or code // 100 != 2:
        c.send("QUIT\r\n")
        return 0
    ok = 0
    if args.pipeline:
        c.send("".join("RCPT TO:<%s>\r\n" % r for r in rcpts))
    for r in rcpts:
        if not args.pipeline:
            if not c.send("RCPT TO:<%s>\r\n" % r):
                print("CLOSED before RCPT <%s>" % r)
                return 0
        t0 = time.monotonic()
        code, text = c.reply()
        ms = (time.monotonic() - t0) * 1000
        if code is None:
            print("CLOSED after RCPT <%s>" % r)
            return 0
        print("RCPT <%s> %s%s" % (r, text, " (%dms)" % ms if args.timing else ""))
        if code // 100 == 2:
            ok += 1
    if args.drop:
        # leave mid-transaction, as a client that dies would: no RSET/QUIT
        c.s.close()
        print("DROPPED")
        return 0
    if args.data and ok > 0:
        c.send("DATA\r\n")
        code, text = c.reply()
        print("DATA %s" % text if code is not None else "CLOSED after DATA")
        if code == 354:
            if args.data == "-":
                body = ("From: <%s>\r\nSubject: mxguard rcpt test\r\n"
                        "Message-ID: <%d.%d@test>\r\n\r\nhello\r\n" %
                        (args.sender, time.time_ns(), random.randint(0, 1 << 30)))
            else:
                with open(args.data, "rb") as f:
                    body = f.read().replace(b"\r\n", b"\n").replace(
                        b"\n", b"\r\n").decode("latin-1")
            c.send(body + ".\r\n")
            code, text = c.reply()
            print("EOM %s" % text if code is not None else "CLOSED after EOM")
    c.send("QUIT\r\n")
    code, text = c.reply()
    if code is not None:
        print("QUIT %s" % text)
    return 0


def attack(args):
    per = [args.rcpts // args.sessions] * args.sessions
    for i in range(args.rcpts % args.sessions):
        per[i] += 1
    counts = {"2": 0, "4": 0, "5": 0, "replies": 0, "closed": 0, "other": 0}
    lock = threading.Lock()
    n = [0]

    def one(k, count):
        local = {"2": 0, "4": 0, "5": 0, "replies": 0, "closed": 0, "other": 0}
        try:
            c = Conn(args.port, args.timeout)
            code, _ = c.reply()
            c.send("EHLO attacker.example\r\n")
            c.reply()
            c.send("MAIL FROM:<%s>\r\n" % args.sender)
            code, _ = c.reply()
            for i in range(count):
                with lock:
                    n[0] += 1
                    j = n[0]
                if args.valid_every and j % args.valid_every == 0:
                    addr = args.valid
                else:
                    # the j-th address of a seed is always the same, so a
                    # second run asks about the same set (a warm cache)
                    addr = "%s%d-%06d@%s" % (args.prefix, args.seed, j,
                                             args.domain)
                if not c.send("RCPT TO:<%s>\r\n" % addr):
                    local["closed"] += 1
                    break
                code, _ = c.reply()
                if code is None:
                    local["closed"] += 1
                    break
                local["replies"] += 1
                local[str(code // 100) if str(code // 100) in "245" else "other"] += 1
            c.send("QUIT\r\n")
        except OSError:
            local["closed"] += 1
        with lock:
            for key in counts:
                counts[key] += local[key]

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(k, per[k]))
               for k in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    print("attack sessions=%d rcpts=%d replies=%d 2xx=%d 4xx=%d 5xx=%d "
          "closed=%d seconds=%.3f rate=%.0f/s" %
          (args.sessions, args.rcpts, counts["replies"], counts["2"],
           counts["4"], counts["5"], counts["closed"], dt,
           counts["replies"] / dt if dt > 0 else 0))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("session")
    s.add_argument("port", type=int)
    s.add_argument("--helo", default="client.example.net")
    s.add_argument("--from", dest="sender", default="sender@example.net")
    s.add_argument("--rcpt", action="append")
    s.add_argument("--rcpt-file")
    s.add_argument("--data")
    s.add_argument("--pipeline", action="store_true")
    s.add_argument("--timing", action="store_true")
    s.add_argument("--drop", action="store_true")
    s.add_argument("--timeout", type=float, default=30)
    a = sub.add_parser("attack")
    a.add_argument("port", type=int)
    a.add_argument("--sessions", type=int, default=1)
    a.add_argument("--rcpts", type=int, default=100)
    a.add_argument("--valid-every", type=int, default=0)
    a.add_argument("--valid", default="alice@example.test")
    a.add_argument("--domain", default="example.test")
    a.add_argument("--from", dest="sender", default="spammer@example.net")
    a.add_argument("--prefix", default="u")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    sys.exit(session(args) if args.cmd == "session" else attack(args))


if __name__ == "__main__":
    main()
