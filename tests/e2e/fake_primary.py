#!/usr/bin/env python3
"""fake_primary.py - an instrumented stand-in for the primary MX, for the
callout cap tests and benchmarks (the real Postfix primary is used for
behaviour; this one counts what reaches it).

  fake_primary.py PORT STATSFILE [--delay MS] [--valid PREFIX]

Speaks enough SMTP (PIPELINING offered): RCPT TO:<x@...> gets 250 when
the local part starts with PREFIX (default "valid") or is "alice", else
550 5.1.1, after DELAY ms. After every change it rewrites STATSFILE as
"conns=N max_conns=N total_conns=N rcpts=N distinct=N max_per_addr=N".
"""
import argparse
import asyncio
import collections
import os
import sys

stats = {"conns": 0, "max_conns": 0, "total_conns": 0, "rcpts": 0}
per_addr = collections.Counter()


def dump(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("conns=%d max_conns=%d total_conns=%d rcpts=%d distinct=%d "
                "max_per_addr=%d\n" % (
                    stats["conns"], stats["max_conns"], stats["total_conns"],
                    stats["rcpts"], len(per_addr),
                    max(per_addr.values()) if per_addr else 0))
    os.replace(tmp, path)


async def handle(reader, writer, args):
    stats["conns"] += 1
    stats["total_conns"] += 1
    stats["max_conns"] = max(stats["max_conns"], stats["conns"])
    dump(args.stats)
    try:
        writer.write(b"220 fake-primary.example.test ESMTP\r\n")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line.decode("latin-1").strip()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                writer.write(b"250-fake-primary.example.test\r\n"
                             b"250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n")
            elif verb == "HELO":
                writer.write(b"250 fake-primary.example.test\r\n")
            elif verb == "MAIL":
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                addr = cmd[cmd.find("<") + 1:cmd.rfind(">")].lower()
                stats["rcpts"] += 1
                per_addr[addr] += 1
                dump(args.stats)
                if args.delay:
                    await asyncio.sleep(args.delay / 1000.0)
                local = addr.split("@")[0]
                if local.startswith(args.valid) or local == "alice":
                    writer.write(b"250 2.1.5 Ok\r\n")
                else:
                    writer.write(b"550 5.1.1 <%s>: User unknown\r\n" %
                                 addr.encode())
            elif verb == "RSET" or verb == "NOOP":
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 5.5.2 Error: command not recognized\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        stats["conns"] -= 1
        dump(args.stats)
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("stats")
    p.add_argument("--delay", type=int, default=0)
    p.add_argument("--valid", default="valid")
    args = p.parse_args()
    dump(args.stats)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args),
                                        "127.0.0.1", args.port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
