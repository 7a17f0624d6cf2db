#!/usr/bin/env python3
# dnsraw.py - a raw SMTP client for the end-to-end tests that need bytes a
# polite client never sends (early talkers, unoffered pipelining).
#
#   dnsraw.py PORT [--from 127.0.0.x | --ipv6] STEP ...
#   STEP: r          read one whole reply (up to the "NNN " line)
#         r1         read one line (e.g. "220-" of a delayed greeting)
#         s:TEXT     send TEXT in one write; \r \n \t are escapes
#         w:MS       wait MS milliseconds
#         close      read until the server closes (at most 10 s)
# Prints "C: ..." for what was sent and "S: ..." for each reply line, and
# "closed" when the server hung up. Exit 0 unless the connection failed.
import socket
import sys
import time

port = int(sys.argv[1])
args = sys.argv[2:]
src = None
host, family = "127.0.0.1", socket.AF_INET
if args[:1] == ["--from"]:
    src = args[1]
    args = args[2:]
elif args[:1] == ["--ipv6"]:
    host, family = "::1", socket.AF_INET6
    args = args[1:]
s = socket.socket(family, socket.SOCK_STREAM)
if src:
    s.bind((src, 0))
s.settimeout(10)
s.connect((host, port))
buf = b""
closed = False


def line():
    global buf, closed
    while b"\n" not in buf and not closed:
        try:
            d = s.recv(65536)
        except socket.timeout:
            print("timeout")
            return None
        except ConnectionResetError:
            d = b""
        if not d:
            closed = True
            print("closed")
            break
        buf += d
    if b"\n" not in buf:
        return None
    ln, buf = buf.split(b"\n", 1)
    t = ln.decode("latin-1").rstrip("\r")
    print("S: " + t)
    return t


for st in args:
    if st == "r":
        while True:
            t = line()
            if t is None or len(t) < 4 or t[3] != "-":
                break
    elif st == "r1":
        line()
    elif st.startswith("s:"):
        data = st[2:].replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
        print("C: " + data.replace("\r", "\\r").replace("\n", "\\n"))
        try:
            s.sendall(data.encode("latin-1"))
        except OSError as e:
            print("send failed: %s" % e)
    elif st.startswith("w:"):
        time.sleep(int(st[2:]) / 1000.0)
    elif st == "close":
        while not closed:
            if line() is None and not closed:
                break
    else:
        sys.exit("unknown step " + st)
s.close()
