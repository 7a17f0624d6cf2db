#!/usr/bin/env python3
"""sinkmsg.py - take apart an smtp-sink dump file (written with -d).

    sinkmsg.py envelope FILE   the X-Client-Addr/X-Mail-Args/... lines
    sinkmsg.py message FILE    what the sink received (after its own
                               Received: header), with LF line ends
    sinkmsg.py content FILE [N] the same without the first N (1)
                               Received: headers (mxguard's; a Postfix
                               in between adds one more)
    sinkmsg.py lf FILE         FILE with CRLF turned into LF: the form an
                               original message takes in a dump

A dump is: X-* envelope lines, the sink's own Received: header (three
lines), then the message with every CRLF turned into LF, then one LF that
the sink appends. Output goes to stdout, byte for byte.
"""
import sys


def split_dump(data):
    lines = data.split(b"\n")
    i = 0
    env = []
    while i < len(lines) and lines[i].startswith(b"X-"):
        env.append(lines[i])
        i += 1
    # smtp-sink's own Received: header and its continuation lines
    if i < len(lines) and lines[i].startswith(b"Received: ") and \
            i + 1 < len(lines) and b"(smtp-sink)" in lines[i + 1]:
        i += 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
    msg = b"\n".join(lines[i:])
    if msg.endswith(b"\n"):
        msg = msg[:-1]          # the LF the sink appends
    return env, msg


def drop_first_received(msg):
    if not msg.startswith(b"Received: "):
        return msg
    lines = msg.split(b"\n")
    i = 1
    while i < len(lines) and lines[i][:1] in (b"\t", b" "):
        i += 1
    return b"\n".join(lines[i:])


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    what, path = sys.argv[1], sys.argv[2]
    nrcvd = int(sys.argv[3]) if len(sys.argv) == 4 else 1
    with open(path, "rb") as f:
        data = f.read()
    w = sys.stdout.buffer
    if what == "lf":
        w.write(data.replace(b"\r\n", b"\n"))
        return 0
    env, msg = split_dump(data)
    if what == "envelope":
        w.write(b"".join(l + b"\n" for l in env))
    elif what == "message":
        w.write(msg)
    elif what == "content":
        for _ in range(nrcvd):
            msg = drop_first_received(msg)
        w.write(msg)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
