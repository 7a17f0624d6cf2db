#!/usr/bin/env python3
"""
bench.py - the measuring half of tests/bench/run.sh.

run.sh starts the programs (smtp-sink, mxguard, a private Postfix) and calls
"bench.py drive" with their ports and pids. drive runs the interleaved
rounds, reads CPU and memory from /proc, checks that nothing was lost and
prints the report. The other subcommands are small helpers for run.sh:

  bench.py ports N        N free loopback TCP ports, one a line
  bench.py wait PORT      wait (up to 15 s) until PORT greets with 220
  bench.py drive ...      the benchmark (see --help)

Only the Python standard library; Linux /proc. This is a report, not a
test: figures are printed, never asserted. The exit status is 0 unless the
benchmark itself broke (a client saw an error reply, a message went missing,
a run timed out); then it is 1 and the failures are listed.
"""
import argparse
import json
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

SENDER = "from@sender.test"
RCPT = "to@example.test"
CLK_TCK = os.sysconf("SC_CLK_TCK")
RUN_TIMEOUT = 300		# seconds one smtp-source run may take
KB = 1024


# ---- small helpers for run.sh ------------------------------------------

def cmd_ports(n):
	socks = []
	for _ in range(n):
		s = socket.socket()
		s.bind(("127.0.0.1", 0))
		socks.append(s)
	for s in socks:
		print(s.getsockname()[1])
		s.close()


def greets(port, timeout=1.0):
	try:
		with socket.create_connection(("127.0.0.1", port), timeout) as s:
			s.settimeout(timeout)
			data = s.recv(512)
			ok = data.startswith(b"220")
			try:
				s.sendall(b"QUIT\r\n")
				s.recv(512)
			except OSError:
				pass
			return ok
	except OSError:
		return False


def cmd_wait(port):
	deadline = time.monotonic() + 15
	while time.monotonic() < deadline:
		if greets(port):
			return 0
		time.sleep(0.1)
	print("port %d did not greet with 220 within 15 s" % port, file=sys.stderr)
	return 1


# ---- /proc readers -------------------------------------------------------

def read(path):
	with open(path) as f:
		return f.read()


def task_cpu_ns(pid):
	"""On-CPU time of every thread of pid, in ns (schedstat: exact)."""
	total = 0
	try:
		tasks = os.listdir("/proc/%d/task" % pid)
	except OSError:
		return 0		# gone: its runs fail and are not reported
	for t in tasks:
		try:
			total += int(read("/proc/%d/task/%s/schedstat" % (pid, t)).split()[0])
		except (OSError, ValueError, IndexError):
			pass
	return total


def stat_fields(pid):
	s = read("/proc/%d/stat" % pid)
	# the command may hold spaces and parentheses: split after the last ')'
	return s[s.rindex(")") + 2:].split()


def ticks_cpu_ns(pid, children=False):
	"""utime+stime (and the reaped children's, if asked) in ns."""
	f = stat_fields(pid)
	t = int(f[11]) + int(f[12])		# utime, stime (fields 14, 15)
	if children:
		t += int(f[13]) + int(f[14])	# cutime, cstime (16, 17)
	return t * 1000000000 // CLK_TCK


def children_of(ppid):
	out = []
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			if int(stat_fields(int(d))[1]) == ppid:
				out.append(int(d))
		except (OSError, ValueError, IndexError):
			pass
	return out


def postfix_cpu_ns(master):
	"""Postfix's master, its live children, and the children it reaped.

	Postfix daemons exit after max_use sessions; their CPU then shows in
	the master's cutime/cstime, so a before/after difference of this sum
	covers processes that came and went during the run."""
	total = ticks_cpu_ns(master, children=True)
	for p in children_of(master):
		try:
			total += ticks_cpu_ns(p)
		except OSError:
			pass
	return total


def status_kb(pid, key):
	for line in read("/proc/%d/status" % pid).splitlines():
		if line.startswith(key + ":"):
			return int(line.split()[1])
	return 0


def pss_kb(pid):
	try:
		for line in read("/proc/%d/smaps_rollup" % pid).splitlines():
			if line.startswith("Pss:"):
				return int(line.split()[1])
	except OSError:
		pass
	return 0


def machine_busy():
	"""(busy, total) jiffies of all CPUs since boot."""
	f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
	idle = f[3] + (f[4] if len(f) > 4 else 0)
	return sum(f) - idle, sum(f)


# ---- targets -------------------------------------------------------------

class Target:
	"""One thing smtp-source sends to. cpu() is a snapshot in ns."""

	def __init__(self, name, label, port):
		self.name = name
		self.label = label
		self.port = port

	def cpu(self):
		return None

	def mem(self):
		return {}

	def stats(self):
		return None

	def log_offset(self):
		return None

	def log_summary(self, off):
		return []


class Mxguard(Target):
	def __init__(self, name, label, port, pid, log, stats_ok):
		super().__init__(name, label, port)
		self.pid = pid
		self.logpath = log
		self.stats_ok = stats_ok	# SIGUSR1 logs at info level only

	def alive(self):
		"""Our mxguard still runs under that pid (pids wrap around)."""
		try:
			return b"mxguard" in open("/proc/%d/cmdline" % self.pid,
						  "rb").read()
		except OSError:
			return False

	def cpu(self):
		return task_cpu_ns(self.pid) if self.alive() else None

	def mem(self):
		if not self.alive():
			return {}
		return {"hwm_kb": status_kb(self.pid, "VmHWM"),
			"rss_kb": status_kb(self.pid, "VmRSS"),
			"pss_kb": pss_kb(self.pid), "procs": 1}

	def log_offset(self):
		return os.path.getsize(self.logpath)

	def stats(self):
		"""Counters from the line SIGUSR1 makes mxguard log."""
		if not self.stats_ok or not self.alive():
			return None
		off = self.log_offset()
		os.kill(self.pid, signal.SIGUSR1)
		deadline = time.monotonic() + 5
		while time.monotonic() < deadline:
			with open(self.logpath, "rb") as f:
				f.seek(off)
				for line in f.read().decode("utf-8", "replace").splitlines():
					i = line.find(" stats ")
					if i < 0:
						continue
					c = {}
					for kv in line[i + 7:].split():
						k, _, v = kv.partition("=")
						if v.isdigit():
							c[k] = int(v)
					return c
			time.sleep(0.02)
		return None

	def log_summary(self, off):
		"""What went wrong since off: log lines other than the normal
		connect / accept / quit ones, grouped with ids and times cut."""
		groups = {}
		with open(self.logpath, "rb") as f:
			f.seek(off)
			text = f.read().decode("utf-8", "replace")
		for line in text.splitlines():
			if (" connect client=" in line or "verdict=accept" in line or
			    "disconnect reason=quit" in line or " stats " in line):
				continue
			parts = line.split(" ", 3)
			key = parts[3] if len(parts) > 3 and len(parts[2]) >= 8 else \
			    " ".join(parts[2:])
			for cut in (" client=", " ms=", " commands="):
				j = key.find(cut)
				if j >= 0:
					key = key[:j]
			groups[key] = groups.get(key, 0) + 1
		return sorted(((n, k) for k, n in groups.items()), reverse=True)


class Postfix(Target):
	def __init__(self, name, label, port, pfdir):
		super().__init__(name, label, port)
		self.dir = pfdir

	def master(self):
		return int(read(self.dir + "/spool/pid/master.pid").split()[0])

	def cpu(self):
		return postfix_cpu_ns(self.master())

	def mem(self):
		m = self.master()
		pids = [m] + children_of(m)
		rss = pss = 0
		for p in pids:
			try:
				rss += status_kb(p, "VmRSS")
				pss += pss_kb(p)
			except OSError:
				pass
		return {"rss_kb": rss, "pss_kb": pss, "procs": len(pids)}

	def log_offset(self):
		try:
			return os.path.getsize(self.dir + "/maillog")
		except OSError:
			return 0

	def log_summary(self, off):
		groups = {}
		try:
			with open(self.dir + "/maillog", "rb") as f:
				f.seek(off)
				text = f.read().decode("utf-8", "replace")
		except OSError:
			return []
		for line in text.splitlines():
			if "warning:" in line or "reject:" in line or "fatal:" in line \
			    or "proxy-reject" in line:
				key = line.split(": ", 1)[-1][:160]
				groups[key] = groups.get(key, 0) + 1
		return sorted(((n, k) for k, n in groups.items()), reverse=True)


# ---- clients -------------------------------------------------------------

def smtp_source(port, sessions, msgs, size):
	"""One smtp-source run; returns wall seconds, rc, stderr, client CPU."""
	cmd = ["smtp-source", "-s", str(sessions), "-m", str(msgs),
	       "-l", str(size), "-f", SENDER, "-t", RCPT, "127.0.0.1:%d" % port]
	ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
	t0 = time.perf_counter()
	p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
			     stderr=subprocess.PIPE)
	try:
		_, err = p.communicate(timeout=RUN_TIMEOUT)
	except subprocess.TimeoutExpired:
		p.kill()
		_, err = p.communicate()
		err = (err or b"") + b"bench: smtp-source timed out after %d s" \
		    % RUN_TIMEOUT
		p.returncode = -1
	wall = time.perf_counter() - t0
	ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
	cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
	return wall, p.returncode, err.decode("utf-8", "replace").strip(), cpu


class Reader:
	def __init__(self, sock):
		self.s = sock
		self.buf = b""

	def reply(self):
		"""One (possibly multi-line) reply; returns its code."""
		while True:
			i = self.buf.find(b"\r\n")
			while i >= 0:
				line, self.buf = self.buf[:i], self.buf[i + 2:]
				if len(line) < 4 or line[3:4] != b"-":
					return int(line[:3])
				i = self.buf.find(b"\r\n")
			d = self.s.recv(65536)
			if not d:
				raise OSError("connection closed")
			self.buf += d


def message(size):
	"""Headers plus about size bytes of body in 78-byte lines."""
	head = ("From: <%s>\r\nTo: <%s>\r\nSubject: mxguard bench\r\n"
		"Message-ID: <%d@sender.test>\r\n\r\n" % (SENDER, RCPT, size))
	line = ("x" * 76 + "\r\n")
	body = line * (size // len(line) + 1)
	return (head + body[:size - size % len(line)]).encode() + b".\r\n"


def smtp_once(port, msg):
	"""One message on one connection, as smtp-source sends it (no
	pipelining). Returns (connect→250 after the dot, DATA's 354→that 250)
	in ms."""
	t0 = time.perf_counter()
	s = socket.create_connection(("127.0.0.1", port), 30)
	try:
		s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		r = Reader(s)
		steps = ((None, 220), (b"EHLO bench.test\r\n", 250),
			 (b"MAIL FROM:<" + SENDER.encode() + b">\r\n", 250),
			 (b"RCPT TO:<" + RCPT.encode() + b">\r\n", 250),
			 (b"DATA\r\n", 354))
		for line, want in steps:
			if line:
				s.sendall(line)
			code = r.reply()
			if code != want:
				raise OSError("got %d, wanted %d after %r" % (code, want, line))
		t1 = time.perf_counter()
		s.sendall(msg)
		code = r.reply()
		t2 = time.perf_counter()
		if code != 250:
			raise OSError("got %d at the end of data" % code)
		s.sendall(b"QUIT\r\n")
		try:
			r.reply()
		except OSError:
			pass
	finally:
		s.close()
	return (t2 - t0) * 1000, (t2 - t1) * 1000


def exec_once(port, size):
	"""Wall time of one "smtp-source -s 1 -m 1" (start, connect, send) in ms."""
	cmd = ["smtp-source", "-s", "1", "-m", "1", "-l", str(size),
	       "-f", SENDER, "-t", RCPT, "127.0.0.1:%d" % port]
	t0 = time.perf_counter()
	p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
			   timeout=60)
	t = (time.perf_counter() - t0) * 1000
	if p.returncode != 0:
		raise OSError("smtp-source: " + p.stderr.decode("utf-8", "replace").strip())
	return t


# ---- the run -------------------------------------------------------------

def pct(xs, p):
	xs = sorted(xs)
	if not xs:
		return float("nan")
	k = (len(xs) - 1) * p / 100.0
	lo = int(k)
	hi = min(lo + 1, len(xs) - 1)
	return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def med(xs):
	return statistics.median(xs) if xs else float("nan")


class Bench:
	def __init__(self, a, targets, sink_pid):
		self.a = a
		self.targets = targets
		self.sink_pid = sink_pid
		self.runs = []		# one dict per throughput run
		self.lat = []		# one dict per latency series
		self.failures = []
		self.mem = {}		# target -> max of each figure seen
		self.stats = {}		# target -> last SIGUSR1 counters

	def note(self, msg):
		if not self.a.quiet:
			print(msg, file=sys.stderr, flush=True)

	def sample_mem(self, t):
		m = t.mem()
		cur = self.mem.setdefault(t.name, {})
		for k, v in m.items():
			cur[k] = max(cur.get(k, 0), v)

	def throughput(self, rnd, t, size, conc, msgs, record=True):
		st0 = t.stats()
		off = t.log_offset()
		c0, s0 = t.cpu(), task_cpu_ns(self.sink_pid)
		wall, rc, err, ccpu = smtp_source(t.port, conc, msgs, size)
		c1, s1 = t.cpu(), task_cpu_ns(self.sink_pid)
		st1 = t.stats()
		problems = []
		if isinstance(t, Mxguard) and not t.alive():
			problems.append("mxguard (pid %d) is gone; see its log" % t.pid)
		if rc != 0 or err:
			problems.append("smtp-source exit %s: %s" % (rc, err[-300:] or "-"))
		if isinstance(t, Mxguard) and t.stats_ok and (st0 is None or
							      st1 is None):
			problems.append("mxguard logged no stats line on SIGUSR1")
		if st0 is not None and st1 is not None:
			d = {k: st1.get(k, 0) - st0.get(k, 0) for k in
			     ("txn_accepted", "reply_4xx", "reply_5xx", "conn_lost",
			      "backend_lost", "backend_timeout", "backend_connect_fail")}
			if d["txn_accepted"] != msgs:
				problems.append("mxguard counted txn_accepted=%d for %d "
						"messages sent" % (d["txn_accepted"], msgs))
			bad = {k: v for k, v in d.items() if k != "txn_accepted" and v}
			if bad:
				problems.append("mxguard counters moved: " + " ".join(
				    "%s=+%d" % kv for kv in sorted(bad.items())))
			self.stats[t.name] = st1
		if problems and off is not None:
			for n, k in t.log_summary(off)[:6]:
				problems.append("  log x%d: %s" % (n, k[:220]))
		if conc > 1:
			self.sample_mem(t)
		r = {"round": rnd, "target": t.name, "size": size, "conc": conc,
		     "msgs": msgs, "wall": wall, "rate": msgs / wall,
		     "ok": not problems, "problems": problems,
		     "cpu_target_ns": None if c0 is None or c1 is None else c1 - c0,
		     "cpu_sink_ns": s1 - s0, "cpu_client_s": ccpu}
		tag = "%s %dk s%d" % (t.name, size // KB, conc)
		if record:
			self.runs.append(r)
			self.note("round %d  %-14s %5d msgs %7.2f s %8.0f msg/s%s" % (
			    rnd, tag, msgs, wall, msgs / wall,
			    "" if not problems else "  FAILED"))
		if problems:
			where = "round %d %s" % (rnd, tag) if record else "warm-up " + tag
			self.failures.append((where, problems))
			for p in problems:
				self.note("    " + p)
		return r

	def latency(self, rnd, t, size, n_smtp, n_exec):
		msg = message(size)
		tot, dot, ex, errs = [], [], [], []
		for _ in range(n_smtp):
			try:
				a, b = smtp_once(t.port, msg)
				tot.append(a)
				dot.append(b)
			except OSError as e:
				errs.append(str(e))
		for _ in range(n_exec):
			try:
				ex.append(exec_once(t.port, size))
			except (OSError, subprocess.TimeoutExpired) as e:
				errs.append(str(e))
		self.lat.append({"round": rnd, "target": t.name, "size": size,
				 "total": tot, "dot": dot, "exec": ex,
				 "errors": len(errs)})
		if errs:
			self.failures.append(("round %d %s latency %dk" % (
			    rnd, t.name, size // KB), ["%d errors, first: %s" % (
			    len(errs), errs[0][:300])]))
		self.note("round %d  %-14s latency %dk: median %.3f ms (%d samples)%s"
			  % (rnd, t.name, size // KB, med(tot), len(tot),
			     "" if not errs else "  %d ERRORS" % len(errs)))

	def run(self):
		a = self.a
		configs = [(s, c) for s in a.sizes for c in (50, 1)]
		if a.warmup:
			self.note("warm-up (not recorded)")
			for size, conc in configs:
				for t in self.targets:
					self.throughput(0, t, size, conc,
							max(conc, self.count(size, conc) // 10),
							record=False)
		b0 = machine_busy()
		time.sleep(1)
		b1 = machine_busy()
		self.busy_before = (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
		busy0 = machine_busy()
		ours0 = self.our_cpu_ns()
		t_start = time.monotonic()
		for rnd in range(1, a.rounds + 1):
			k = (rnd - 1) % len(self.targets)
			order = self.targets[k:] + self.targets[:k]
			for size, conc in configs:
				for t in order:
					self.throughput(rnd, t, size, conc, self.count(size, conc))
			for size in a.sizes:
				for t in order:
					self.latency(rnd, t, size, a.latency, a.latency_exec)
		busy1 = machine_busy()
		ours1 = self.our_cpu_ns()
		self.elapsed = time.monotonic() - t_start
		total = max(1, busy1[1] - busy0[1])
		self.busy = (busy1[0] - busy0[0]) / total
		# jiffies -> ns: total jiffies span elapsed x CPUs
		ns_per_jiffy = self.elapsed * 1e9 * os.cpu_count() / total
		self.others = max(0.0, (busy1[0] - busy0[0]) -
				  (ours1 - ours0) / ns_per_jiffy) / total
		for t in self.targets:
			self.sample_mem(t)

	def our_cpu_ns(self):
		"""Everything the benchmark runs: sink, targets, clients, us."""
		n = task_cpu_ns(self.sink_pid)
		for t in self.targets:
			try:
				n += t.cpu() or 0
			except OSError:
				pass
		for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF):
			ru = resource.getrusage(who)
			n += int((ru.ru_utime + ru.ru_stime) * 1e9)
		return n

	def count(self, size, conc):
		n = self.a.messages
		if size > 20 * KB:
			n //= 5
		if conc == 1:
			n //= 5
		return max(n, conc, 10)


# ---- the report ----------------------------------------------------------

def fmt(x, spec):
	if x is None or x != x:
		return "-"
	return format(x, spec)


def report(b, info):
	a = b.a
	names = [t.name for t in b.targets]
	labels = {t.name: t.label for t in b.targets}
	configs = [(s, c) for s in a.sizes for c in (50, 1)]
	cfgname = {cf: "%dk s%d" % (cf[0] // KB, cf[1]) for cf in configs}
	ok_runs = [r for r in b.runs if r["ok"]]

	def runs(t, cf):
		return [r for r in b.runs if r["target"] == t and
			(r["size"], r["conc"]) == cf]

	def rate(t, cf):
		rs = runs(t, cf)
		if not rs or not all(r["ok"] for r in rs):
			return None
		return med([r["rate"] for r in rs])

	def ratio(t, u, cf):
		"""median over rounds of rate(t)/rate(u) within the round."""
		xs = []
		for r in runs(t, cf):
			for q in runs(u, cf):
				if q["round"] == r["round"] and r["ok"] and q["ok"]:
					xs.append(r["rate"] / q["rate"])
		return med(xs) if xs and all(r["ok"] for r in runs(t, cf)) else None

	def cpu_us(t, cf, key):
		xs = [r[key] / r["msgs"] / 1000 for r in runs(t, cf)
		      if r["ok"] and r[key] is not None]
		return med(xs) if xs else None

	def lat(t, size, key):
		xs = []
		for l in b.lat:
			if l["target"] == t and l["size"] == size:
				xs += l[key]
		return xs

	def lat_errors(t, size):
		return sum(l["errors"] for l in b.lat
			   if l["target"] == t and l["size"] == size)

	def s1_ms(t, size):
		r = rate(t, (size, 1))
		return None if r is None else 1000.0 / r

	out = []
	p = out.append
	p("mxguard benchmark: smtp-source -> target -> smtp-sink, loopback, "
	  "one connection per message")
	p("machine: %s, %d CPUs, kernel %s; %s" % (info.get("cpu", "?"),
	  os.cpu_count(), platform.release(), time.strftime("%Y-%m-%d %H:%M")))
	p("mxguard: %s (%s)" % (info.get("mxguard", "?"), info.get("commit", "?")))
	p("rounds %d (interleaved, order rotated each round), messages per run: "
	  % a.rounds + ", ".join("%s %d" % (cfgname[cf], b.count(*cf))
				  for cf in configs))
	p("latency samples per target and size: %d per round (own client) + %d "
	  "(smtp-source -m 1)" % (a.latency, a.latency_exec))
	p("machine CPU busy: %.0f%% in the second before the rounds (others' "
	  "load), %.0f%% during them, of which about %.0f%% not the benchmark's "
	  "own processes; rounds took %.0f s"
	  % (100 * b.busy_before, 100 * b.busy, 100 * b.others, b.elapsed))
	if b.busy_before > 0.1 or b.others > 0.1:
		p("WARNING: other processes were using the CPUs; these figures "
		  "are not reliable")
	p("")
	w = max(len(labels[n]) for n in names) + 12

	p("Throughput, msgs/s (median of rounds; min-max)")
	p("  %-*s" % (w, "") + "".join("%18s" % cfgname[cf] for cf in configs))
	for n in names:
		cells = []
		for cf in configs:
			rs = runs(n, cf)
			if not rs:
				cells.append("-")
			elif not all(r["ok"] for r in rs):
				cells.append("FAIL(%d/%d)" % (sum(not r["ok"] for r in rs), len(rs)))
			else:
				xs = [r["rate"] for r in rs]
				cells.append("%.0f (%.0f-%.0f)" % (med(xs), min(xs), max(xs)))
		p("  %-*s" % (w, labels[n]) + "".join("%18s" % c for c in cells))
	p("")
	p("x direct (median over rounds of the ratio within a round)")
	p("  %-*s" % (w, "") + "".join("%10s" % cfgname[cf] for cf in configs))
	for n in names:
		p("  %-*s" % (w, labels[n]) + "".join(
		    "%10s" % fmt(ratio(n, "direct", cf), ".2f") for cf in configs))
	if "postfix" in names:
		for n in names:
			if n.startswith("mxguard"):
				p("  %-*s" % (w, labels[n] + " / postfix") + "".join(
				    "%10s" % fmt(ratio(n, "postfix", cf), ".2f")
				    for cf in configs))
	p("")
	p("Time per message per session, ms (sessions / throughput)")
	p("  %-*s" % (w, "") + "".join("%10s" % cfgname[cf] for cf in configs))
	for n in names:
		p("  %-*s" % (w, labels[n]) + "".join("%10s" % fmt(
		    None if rate(n, cf) is None else 1000.0 * cf[1] / rate(n, cf), ".3f")
		    for cf in configs))
	p("")
	p("Latency at concurrency 1, ms; added = target - direct.")
	p("  own: Python client, one connection per message, connect -> 250 "
	  "after the dot (data: DATA's 354 -> that 250), p50/p90 of all rounds")
	p("  s1: mean per message of the 1-session smtp-source runs above "
	  "(wall / messages)")
	p("  exec: median wall time of one 'smtp-source -s 1 -m 1' (includes its "
	  "start-up and connect, as PEERS.md measured)")
	for size in a.sizes:
		p("  %-*s %8s %8s %8s %8s %8s %8s %8s %8s %8s" % (
		    w, "%dk" % (size // KB), "own p50", "own p90", "added",
		    "data p50", "s1 mean", "added", "exec p50", "added", "n"))
		d_tot = med(lat("direct", size, "total"))
		d_ex = med(lat("direct", size, "exec"))
		d_s1 = s1_ms("direct", size)
		for n in names:
			tot, ex = lat(n, size, "total"), lat(n, size, "exec")
			s1 = s1_ms(n, size)
			errs = lat_errors(n, size)
			p("  %-*s %8s %8s %8s %8s %8s %8s %8s %8s %8s%s" % (
			    w, labels[n], fmt(med(tot), ".3f"), fmt(pct(tot, 90), ".3f"),
			    fmt(med(tot) - d_tot, "+.3f") if n != "direct" else "0",
			    fmt(med(lat(n, size, "dot")), ".3f"), fmt(s1, ".3f"),
			    "-" if s1 is None or d_s1 is None else
			    ("0" if n == "direct" else fmt(s1 - d_s1, "+.3f")),
			    fmt(med(ex), ".3f"),
			    fmt(med(ex) - d_ex, "+.3f") if n != "direct" else "0",
			    "%d+%d" % (len(tot), len(ex)),
			    "  (%d errors)" % errs if errs else ""))
	p("")
	p("CPU per message, us (median of rounds; schedstat for mxguard and "
	  "smtp-sink, /proc ticks for Postfix)")
	p("  %-*s" % (w + 4, "") + "".join("%10s" % cfgname[cf] for cf in configs))
	cpu_rows = []
	for n in names:
		if n == "direct":
			cpu_rows.append(("smtp-sink, direct runs", n, "cpu_sink_ns"))
			cpu_rows.append(("smtp-source, direct runs", n, "cpu_client"))
			continue
		cpu_rows.append((labels[n], n, "cpu_target_ns"))
		cpu_rows.append(("smtp-sink, " + n + " runs", n, "cpu_sink_ns"))
	for lab, n, key in cpu_rows:
		if key == "cpu_client":
			vals = [med([r["cpu_client_s"] * 1e6 / r["msgs"] for r in runs(n, cf)
				     if r["ok"]] or [float("nan")]) for cf in configs]
		else:
			vals = [cpu_us(n, cf, key) for cf in configs]
		p("  %-*s" % (w + 4, lab) + "".join("%10s" % fmt(v, ".1f") for v in vals))
	for n in names:
		if not n.startswith("mxguard"):
			continue
		p("  %-*s" % (w + 4, n + " / sink (same runs)") + "".join("%10s" % fmt(
		    None if cpu_us(n, cf, "cpu_target_ns") is None or
		    not cpu_us(n, cf, "cpu_sink_ns") else
		    cpu_us(n, cf, "cpu_target_ns") / cpu_us(n, cf, "cpu_sink_ns"), ".2f")
		    for cf in configs))
		p("  %-*s" % (w + 4, n + " / sink (direct runs)") + "".join("%10s" % fmt(
		    None if cpu_us(n, cf, "cpu_target_ns") is None or
		    not cpu_us("direct", cf, "cpu_sink_ns") else
		    cpu_us(n, cf, "cpu_target_ns") / cpu_us("direct", cf, "cpu_sink_ns"),
		    ".2f") for cf in configs))
	p("")
	p("Memory (peak over the benchmark; Postfix: sum over its processes, "
	  "sampled after each 50-session run)")
	for n in names:
		m = b.mem.get(n)
		if not m:
			continue
		if n.startswith("mxguard"):
			p("  %-*s VmHWM %.1f MB, PSS %.1f MB" % (w, labels[n],
			  m.get("hwm_kb", 0) / KB, m.get("pss_kb", 0) / KB))
		else:
			p("  %-*s PSS %.1f MB, RSS %.1f MB, %d processes" % (w, labels[n],
			  m.get("pss_kb", 0) / KB, m.get("rss_kb", 0) / KB, m.get("procs", 0)))
	p("")

	# the targets, judged on the default configuration
	mx = "mxguard"
	p("Targets (mxguard with the default log_level = info):")

	def verdict(ok):
		return "n/a " if ok is None else ("PASS" if ok else "MISS")

	big = [cf for cf in configs if cf[1] == 50]
	rs = {cf: ratio(mx, "direct", cf) for cf in big}
	ok = None if any(v is None for v in rs.values()) else \
	    all(v >= 0.75 for v in rs.values())
	p("  %s  >= 0.75x direct throughput at 50 sessions: %s" % (verdict(ok),
	  ", ".join("%s %s" % (cfgname[cf], fmt(rs[cf], ".2f")) for cf in big)))
	if "postfix" in names:
		rs = {cf: ratio(mx, "postfix", cf) for cf in configs}
		ok = None if any(v is None for v in rs.values()) else \
		    all(v > 1 for v in rs.values())
		p("  %s  ahead of Postfix's smtpd_proxy_filter (mxguard/postfix): %s"
		  % (verdict(ok), ", ".join("%s %s" % (cfgname[cf], fmt(rs[cf], ".2f"))
					    for cf in configs)))
	rs = {}
	for cf in configs:
		m, s = cpu_us(mx, cf, "cpu_target_ns"), cpu_us(mx, cf, "cpu_sink_ns")
		rs[cf] = None if m is None or not s else m / s
	ok = None if any(v is None for v in rs.values()) else \
	    all(v <= 2 for v in rs.values())
	p("  %s  CPU per message <= 2x smtp-sink's (same runs): %s" % (verdict(ok),
	  ", ".join("%s %s" % (cfgname[cf], fmt(rs[cf], ".2f")) for cf in configs)))
	rs = {}
	for size in a.sizes:
		m, d = lat(mx, size, "total"), lat("direct", size, "total")
		rs[size] = med(m) - med(d) if m and d and not \
		    lat_errors(mx, size) else None
	ok = None if any(v is None for v in rs.values()) else \
	    all(v <= 0.5 for v in rs.values())
	p("  %s  <= 0.5 ms added median latency at concurrency 1 (own client): %s"
	  % (verdict(ok), ", ".join("%dk %s ms" % (s // KB, fmt(rs[s], "+.3f"))
				     for s in a.sizes)))
	m = b.mem.get(mx, {})
	p("  info  mxguard peak RSS (VmHWM) %.1f MB" % (m.get("hwm_kb", 0) / KB))
	if mx in b.stats:
		st = b.stats[mx]
		p("  info  mxguard counters at the end: " + " ".join(
		    "%s=%d" % (k, st[k]) for k in ("conn_accepted", "txn_accepted",
		    "reply_4xx", "reply_5xx", "backend_connect_ok", "backend_lost")
		    if k in st))
	p("")
	if b.failures:
		p("BENCHMARK BROKE: %d run(s) had errors; their figures are not "
		  "reported" % len(b.failures))
		for where, probs in b.failures:
			p("  " + where)
			for x in probs:
				p("    " + x)
	else:
		p("No errors: every message of every run was answered 250 "
		  "(smtp-source exit 0; mxguard's counters agree).")
	return "\n".join(out)


def cmd_drive(argv):
	ap = argparse.ArgumentParser(prog="bench.py drive")
	ap.add_argument("--sink", required=True, help="PORT:PID of smtp-sink")
	ap.add_argument("--mxguard", action="append", default=[],
			help="NAME:LABEL:PORT:PID:LOG:STATS(0|1)")
	ap.add_argument("--postfix", help="PORT:DIR")
	ap.add_argument("--rounds", type=int, default=3)
	ap.add_argument("--messages", type=int, default=10000,
			help="per run at 2 KB and 50 sessions; 200 KB and 1 "
			"session runs use 1/5 each")
	ap.add_argument("--sizes", default="2048,204800")
	ap.add_argument("--latency", type=int, default=200)
	ap.add_argument("--latency-exec", type=int, default=40)
	ap.add_argument("--no-warmup", dest="warmup", action="store_false")
	ap.add_argument("--json", help="write every raw figure here")
	ap.add_argument("--info", default="{}", help="JSON: cpu, mxguard, commit")
	ap.add_argument("--quiet", action="store_true")
	a = ap.parse_args(argv)
	a.sizes = [int(x) for x in a.sizes.split(",")]
	sport, spid = (int(x) for x in a.sink.split(":"))
	targets = [Target("direct", "direct (smtp-sink)", sport)]
	for spec in a.mxguard:
		name, label, port, pid, log, st = spec.split(":", 5)
		targets.append(Mxguard(name, label, int(port), int(pid), log, st == "1"))
	if a.postfix:
		port, d = a.postfix.split(":", 1)
		targets.append(Postfix("postfix", "postfix proxy_filter", int(port), d))
	b = Bench(a, targets, spid)
	b.run()
	text = report(b, json.loads(a.info))
	print(text, flush=True)
	if a.json:
		with open(a.json, "w") as f:
			json.dump({"runs": b.runs, "latency": b.lat, "mem": b.mem,
				   "failures": b.failures, "stats": b.stats}, f, indent=1)
	return 1 if b.failures else 0


def main():
	if len(sys.argv) >= 3 and sys.argv[1] == "ports":
		cmd_ports(int(sys.argv[2]))
		return 0
	if len(sys.argv) >= 3 and sys.argv[1] == "wait":
		return cmd_wait(int(sys.argv[2]))
	if len(sys.argv) >= 2 and sys.argv[1] == "drive":
		return cmd_drive(sys.argv[2:])
	print(__doc__.strip(), file=sys.stderr)
	return 2


if __name__ == "__main__":
	sys.exit(main())
