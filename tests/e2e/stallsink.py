#!/usr/bin/env python3
"""stallsink.py - a tiny SMTP backend that goes silent on purpose.

    stallsink.py PORT STALL_AT [DIR]

Speaks just enough ESMTP (PIPELINING, 8BITMIME) for mxguard. When it gets
the command STALL_AT (MAIL, RCPT, DATA, or "." for the end of data) it
stops answering and keeps the connection open: the client must time out.
STALL_AT "BODY" answers DATA with 354, then reads nothing more at all, so
the client's writes back up (a backend that stops taking the message).
Other sessions (mxguard's probe) are served normally. Each complete
message is written to DIR (if given) as msg.N, exactly as received.
"""
import os
import socketserver
import sys
import time

PORT = int(sys.argv[1])
STALL_AT = sys.argv[2].upper()
DIR = sys.argv[3] if len(sys.argv) > 3 else None
count = [0]


class H(socketserver.StreamRequestHandler):
    def reply(self, s):
        self.wfile.write(s.encode() + b"\r\n")
        self.wfile.flush()

    def stall(self):
        # read (and drop) until the peer goes away
        while self.rfile.read(4096):
            pass

    def handle(self):
        self.reply("220 stallsink ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.split(b" ")[0].split(b":")[0].strip().upper().decode(
                "latin-1")
            if verb == STALL_AT:
                return self.stall()
            if verb in ("EHLO",):
                self.wfile.write(b"250-stallsink\r\n250-PIPELINING\r\n"
                                 b"250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            elif verb == "DATA":
                self.reply("354 go ahead")
                if STALL_AT == "BODY":
                    time.sleep(120)
                    return
                data = b""
                while True:
                    l = self.rfile.readline()
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    data += l
                if STALL_AT == ".":
                    return self.stall()
                count[0] += 1
                if DIR:
                    with open(os.path.join(DIR, "msg.%d" % count[0]),
                              "wb") as f:
                        f.write(data)
                self.reply("250 2.0.0 Ok: kept")
            else:
                self.reply("502 5.5.2 unknown")


class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    S(("127.0.0.1", PORT), H).serve_forever()
