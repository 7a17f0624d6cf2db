#!/usr/bin/env python3
"""
slow_clients.py - the measuring half of tests/bench/slow_clients.sh.

  slow_clients.py ports N            N free loopback TCP ports, one a line
  slow_clients.py wait PORT          wait (15 s at most) for a 220 on PORT
  slow_clients.py slow PORT N ...    N slow clients (see below) until STOP
  slow_clients.py source PORT ...    one smtp-source run, timed (JSON line)
  slow_clients.py stats PID LOG      SIGUSR1, then the new stats line's
                                     counters as JSON
  slow_clients.py rss PID            VmRSS of PID in KB

slow: N clients from 127.0.30-39.x (loopback only; --per-source per
address), each reads the greeting, says EHLO, then sends "NOOP\\r\\n" one
byte about every --interval seconds (each client's first byte at a random
point of the first interval, so the bytes are spread evenly), reading its
replies. It touches READY once all are connected and greeted (or after
--connect-timeout), and stops when STOP exists or --max seconds have
passed: QUIT and close. Bounded: at most N sockets, one event loop, a
byte per client per interval. Prints one JSON line: connected, greeted,
refused, failed, bytes sent, replies read, clients lost midway.

Only the Python standard library; Linux /proc.
"""
import json
import os
import random
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time


def cmd_ports(n):
	socks = []
	for _ in range(n):
		s = socket.socket()
		s.bind(("127.0.0.1", 0))
		socks.append(s)
	for s in socks:
		print(s.getsockname()[1])
	for s in socks:
		s.close()


def cmd_wait(port):
	end = time.monotonic() + 15
	while time.monotonic() < end:
		try:
			with socket.create_connection(("127.0.0.1", port), 1) as s:
				s.settimeout(2)
				if s.recv(512).startswith(b"220"):
					s.sendall(b"QUIT\r\n")
					return 0
		except OSError:
			pass
		time.sleep(0.1)
	return 1


def rss_kb(pid):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	return 0


class Client:
	__slots__ = ("sock", "src", "state", "buf", "next_at", "pos", "sent",
	             "replies")

	def __init__(self, sock, src):
		self.sock, self.src = sock, src
		self.state = "connecting"	# greet, ehlo, slow, done
		self.buf = b""
		self.next_at = 0.0
		self.pos = 0
		self.sent = 0
		self.replies = 0


def cmd_slow(args):
	port, n = int(args[0]), int(args[1])
	opts = {"--interval": "1.0", "--per-source": "20", "--ready": None,
	        "--stop": None, "--max": "600", "--connect-timeout": "60"}
	i = 2
	while i < len(args):
		opts[args[i]] = args[i + 1]
		i += 2
	ival = float(opts["--interval"])
	per = int(opts["--per-source"])
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft < hard:
		resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
	if n + 100 > hard:
		print(json.dumps({"error": "descriptor limit %d < %d" % (hard,
		                                                         n + 100)}))
		return 2
	sel = selectors.DefaultSelector()
	clients = []
	counts = {"connected": 0, "greeted": 0, "refused": 0, "failed": 0,
	          "lost": 0}
	pattern = b"NOOP\r\n"
	t0 = time.monotonic()
	deadline = t0 + float(opts["--max"])
	for k in range(n):
		src = "127.0.%d.%d" % (30 + (k // per) // 250, 1 + (k // per) % 250)
		s = socket.socket()
		s.setblocking(False)
		try:
			s.bind((src, 0))
			s.connect_ex(("127.0.0.1", port))
		except OSError:
			counts["failed"] += 1
			s.close()
			continue
		c = Client(s, src)
		clients.append(c)
		sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, c)
	ready_written = False
	live = len(clients)
	stop = opts["--stop"]

	def finish(c, how):
		nonlocal live
		if c.state == "done":
			return
		if how == "lost" and c.state == "slow":
			counts["lost"] += 1
		elif how == "failed":
			counts["failed"] += 1
		elif how == "refused":
			counts["refused"] += 1
		c.state = "done"
		live -= 1
		try:
			sel.unregister(c.sock)
		except (KeyError, ValueError):
			pass
		c.sock.close()

	while live > 0:
		now = time.monotonic()
		if now > deadline or (stop and os.path.exists(stop)):
			break
		if not ready_written and (counts["greeted"] + counts["refused"] +
		                          counts["failed"] >= len(clients) or
		                          now - t0 > float(opts["--connect-timeout"])):
			ready_written = True
			if opts["--ready"]:
				open(opts["--ready"], "w").close()
		for key, ev in sel.select(0.05):
			c = key.data
			if c.state == "connecting" and ev & selectors.EVENT_WRITE:
				err = c.sock.getsockopt(socket.SOL_SOCKET,
				                        socket.SO_ERROR)
				if err:
					finish(c, "failed")
					continue
				c.state = "greet"
				counts["connected"] += 1
				sel.modify(c.sock, selectors.EVENT_READ, c)
			if not ev & selectors.EVENT_READ or c.state == "done":
				continue
			try:
				d = c.sock.recv(4096)
			except OSError:
				d = b""
			if not d:
				finish(c, "lost" if c.state == "slow" else "failed")
				continue
			c.buf += d
			while b"\n" in c.buf and c.state != "done":
				line, c.buf = c.buf.split(b"\n", 1)
				if line[3:4] == b"-":
					continue
				c.replies += 1
				if c.state == "greet":
					if not line.startswith(b"220"):
						finish(c, "refused")
						break
					counts["greeted"] += 1
					c.sock.send(b"EHLO slow.example.net\r\n")
					c.state = "ehlo"
				elif c.state == "ehlo":
					c.state = "slow"
					c.next_at = time.monotonic() + random.random() * ival
		# one byte for every slow client whose time has come
		now = time.monotonic()
		for c in clients:
			if c.state == "slow" and now >= c.next_at:
				try:
					c.sock.send(pattern[c.pos:c.pos + 1])
				except OSError:
					finish(c, "lost")
					continue
				c.pos = (c.pos + 1) % len(pattern)
				c.sent += 1
				c.next_at += ival
	if opts["--ready"] and not ready_written:
		open(opts["--ready"], "w").close()
	still = sum(1 for c in clients if c.state == "slow")
	for c in clients:
		if c.state != "done":
			try:
				c.sock.send(b"\r\nQUIT\r\n")
			except OSError:
				pass
			c.sock.close()
	out = dict(counts)
	out.update({"clients": n, "still_connected_at_end": still,
	            "bytes_sent": sum(c.sent for c in clients),
	            "replies": sum(c.replies for c in clients),
	            "seconds": round(time.monotonic() - t0, 1)})
	print(json.dumps(out))
	return 0


def cmd_source(args):
	port, sessions, msgs, size = (int(a) for a in args[:4])
	cmd = ["smtp-source", "-s", str(sessions), "-m", str(msgs), "-l",
	       str(size), "-f", "from@sender.test", "-t", "to@example.test",
	       "127.0.0.1:%d" % port]
	t0 = time.monotonic()
	p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
	                   timeout=600)
	secs = time.monotonic() - t0
	print(json.dumps({"cmd": " ".join(cmd), "rc": p.returncode,
	                  "stderr": p.stderr.decode("utf-8", "replace")[-300:],
	                  "seconds": round(secs, 3),
	                  "msgs_per_s": round(msgs / secs, 1)}))
	return 0 if p.returncode == 0 and not p.stderr else 1


def cmd_stats(args):
	pid, log = int(args[0]), args[1]

	def lines():
		with open(log, errors="replace") as f:
			return [l for l in f if ": stats " in l]
	n = len(lines())
	os.kill(pid, signal.SIGUSR1)
	end = time.monotonic() + 5
	while time.monotonic() < end:
		ls = lines()
		if len(ls) > n:
			kv = dict(w.split("=", 1) for w in ls[-1].split(": stats ", 1)[1]
			          .split() if "=" in w)
			print(json.dumps({k: int(v) if v.isdigit() else v
			                  for k, v in kv.items()}))
			return 0
		time.sleep(0.05)
	print("{}")
	return 1


def main():
	a = sys.argv[1:]
	if not a:
		sys.stderr.write(__doc__)
		return 2
	if a[0] == "ports":
		cmd_ports(int(a[1]))
		return 0
	if a[0] == "wait":
		return cmd_wait(int(a[1]))
	if a[0] == "slow":
		return cmd_slow(a[1:])
	if a[0] == "source":
		return cmd_source(a[1:])
	if a[0] == "stats":
		return cmd_stats(a[1:])
	if a[0] == "rss":
		print(rss_kb(int(a[1])))
		return 0
	sys.stderr.write(__doc__)
	return 2


if __name__ == "__main__":
	sys.exit(main())
