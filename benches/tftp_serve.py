#!/usr/bin/env python3
"""Helper for benches/tftp_serve.sh (issue 16: `nettool tftp serve` against
tftpd-hpa and atftpd).

Server CPU is read from a cgroup the server was started in (cgroup v2
cpu.stat usage_usec/user_usec/system_usec, or v1 cpuacct.usage*): it counts
every thread and every forked child of the server, also the ones that have
already exited. That is the one way that is right for all three servers:
tftpd-hpa forks a child per transfer and sets SIGCHLD to SIG_IGN with
SA_NOCLDWAIT, so its children are reaped by the kernel and their time never
reaches the parent's cutime/cstime (nor a wrapper's wait4 rusage); atftpd
runs a thread per transfer; nettool serves from one process.

  tftp_serve.py cgroup-create NAME        print the path of a new cgroup
  tftp_serve.py cgroup-join PATH -- CMD   move into PATH, then exec CMD
  tftp_serve.py cgroup-remove PATH        kill what is left in it, rmdir it
  tftp_serve.py threads PATH              print the cgroup's thread count

  tftp_serve.py cell --log F --server S --client C --setting K --run R
        --cgroup PATH --idle-threads N [--server-log F] [--client-cpu N]
        --out FILE --sha256 HEX --size BYTES --timeout SECS -- CMD...
      One download: the server's cgroup CPU before, the client process timed
      spawn to reap (wall, and its own rusage), the server left to settle
      (its per-transfer threads/children gone, its JSON transfer line
      written when it is nettool, its CPU no longer moving), the cgroup CPU
      after; the output hashed and deleted; one JSON line appended to F.

  tftp_serve.py conc --log F --server S --client C --run R --cgroup PATH
        --idle-threads N [--server-log F] [--client-cpu N] --clients K
        --out-dir DIR --sha256 HEX --size BYTES --timeout SECS -- CMD...
      K clients at once (CMD with {out} for each client's output file),
      spawned back to back: aggregate throughput = K x size / (last exit -
      first spawn), each client's own time (spawn to reap), server CPU as
      above; every output hashed.

  tftp_serve.py report --log F --meta META.json --results OUT.md
"""

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


# ------------------------------------------------------------------ cgroups
def cgroup_roots():
    """Candidate (kind, directory) pairs, best first."""
    out = []
    for line in open("/proc/self/mounts"):
        parts = line.split()
        if len(parts) < 4:
            continue
        fstype, mnt, opts = parts[2], parts[1], parts[3].split(",")
        if fstype == "cgroup2":
            out.insert(0, ("v2", mnt))
        elif fstype == "cgroup" and "cpuacct" in opts:
            out.append(("v1", mnt))
    return out


def cmd_cgroup_create(a):
    errs = []
    for kind, root in cgroup_roots():
        path = os.path.join(root, a.name)
        try:
            os.mkdir(path)
        except OSError as e:
            errs.append(f"{root}: {e}")
            continue
        try:
            read_cpu(path)
        except OSError as e:
            os.rmdir(path)
            errs.append(f"{path}: no CPU accounting ({e})")
            continue
        print(path)
        return 0
    print("no writable cgroup with CPU accounting: " + "; ".join(errs or ["none mounted"]),
          file=sys.stderr)
    return 1


def cmd_cgroup_join(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    with open(os.path.join(a.path, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    os.execvp(cmd[0], cmd)


def cmd_cgroup_remove(a):
    for _ in range(50):
        pids = procs(a.path)
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
    try:
        os.rmdir(a.path)
    except OSError as e:
        print(f"could not remove {a.path}: {e}", file=sys.stderr)
        return 1
    return 0


def procs(path):
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def thread_count(path):
    name = "cgroup.threads" if os.path.exists(os.path.join(path, "cgroup.threads")) else "tasks"
    with open(os.path.join(path, name)) as f:
        return len(f.read().split())


def read_cpu(path):
    """(usage, user, system) in seconds. usage is exact (the scheduler's
    runtime); the user/system split is the kernel's tick-sampled estimate."""
    st = os.path.join(path, "cpu.stat")
    if os.path.exists(st):
        d = {}
        with open(st) as f:
            for line in f:
                k, v = line.split()
                d[k] = int(v)
        return d["usage_usec"] / 1e6, d["user_usec"] / 1e6, d["system_usec"] / 1e6
    with open(os.path.join(path, "cpuacct.usage")) as f:
        usage = int(f.read()) / 1e9
    try:
        with open(os.path.join(path, "cpuacct.usage_user")) as f:
            user = int(f.read()) / 1e9
        with open(os.path.join(path, "cpuacct.usage_sys")) as f:
            system = int(f.read()) / 1e9
    except OSError:
        user = system = float("nan")
    return usage, user, system


def cmd_threads(a):
    print(thread_count(a.path))
    return 0


def transfer_lines(path):
    """The nettool server's JSON transfer records so far."""
    if not path:
        return []
    out = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    j = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(j, dict) and j.get("event") == "transfer":
                    out.append(j)
    except OSError:
        pass
    return out


def settle(a, want_lines, limit=5.0):
    """Wait until the server has finished with the transfer(s) the client
    saw end: its per-transfer threads/children are gone (back to the count
    it had idle, after a warm-up transfer), its JSON lines are there, and
    its CPU time stopped moving. Returns the seconds waited and whether it
    settled."""
    t0 = time.monotonic()
    end = t0 + limit
    while True:
        if thread_count(a.cgroup) <= a.idle_threads and \
                (not a.server_log or len(transfer_lines(a.server_log)) >= want_lines):
            break
        if time.monotonic() >= end:
            return time.monotonic() - t0, False
        time.sleep(0.005)
    prev = read_cpu(a.cgroup)[0]
    while time.monotonic() < end + 2:
        time.sleep(0.02)
        cur = read_cpu(a.cgroup)[0]
        if cur - prev < 50e-6:
            return time.monotonic() - t0, True
        prev = cur
    return time.monotonic() - t0, False


class Alarm:
    """Kills the given process groups when the timeout passes."""

    def __init__(self, seconds):
        self.fired = False
        self.pids = []
        signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def _fire(self, _sig, _frm):
        self.fired = True
        for p in self.pids:
            try:
                os.killpg(p, signal.SIGKILL)
            except OSError:
                pass

    def stop(self):
        signal.setitimer(signal.ITIMER_REAL, 0)


def pin(cpu):
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})


def server_record(rec, lines_before, a):
    lines = transfer_lines(a.server_log)
    new = lines[lines_before:]
    if a.server_log:
        rec["server_transfers"] = len(new)
        rec["server_outcomes"] = sorted({t.get("outcome") for t in new})
        if new:
            rec["server_options"] = new[-1].get("options")
            rec["server_retransmits"] = sum(t.get("retransmits", 0) or 0 for t in new)
            secs = [t.get("seconds") for t in new if t.get("seconds") is not None]
            if secs:
                rec["server_seconds_max"] = max(secs)


# ------------------------------------------------------------------ cell
def cmd_cell(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    pin(a.client_cpu)
    if os.path.exists(a.out):
        os.unlink(a.out)
    waited0, ok0 = settle(a, 0)
    lines0 = len(transfer_lines(a.server_log))
    c0 = read_cpu(a.cgroup)
    so_path, se_path = a.out + ".stdout", a.out + ".stderr"
    with open(so_path, "wb") as so, open(se_path, "wb") as se:
        alarm = Alarm(a.timeout)
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                             start_new_session=True)
        alarm.pids.append(p.pid)
        _pid, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter_ns()
        alarm.stop()
        p.returncode = 0  # reaped by hand
    waited, settled = settle(a, lines0 + 1)
    c1 = read_cpu(a.cgroup)
    rc = "timeout" if alarm.fired else os.waitstatus_to_exitcode(status)
    rec = {
        "kind": "cell", "server": a.server, "client": a.client, "setting": a.setting,
        "run": a.run, "cmd": cmd, "rc": rc, "wall_s": (t1 - t0) / 1e9,
        "client_user_s": ru.ru_utime, "client_sys_s": ru.ru_stime,
        "server_cpu_s": c1[0] - c0[0], "server_user_s": c1[1] - c0[1],
        "server_sys_s": c1[2] - c0[2], "settle_s": waited, "settled": settled and ok0,
        "size": a.size, "load": open("/proc/loadavg").read().split()[:3],
    }
    hash_ok = False
    if os.path.exists(a.out):
        rec["out_bytes"] = os.path.getsize(a.out)
        hash_ok = rec["out_bytes"] == a.size and sha256_file(a.out) == a.sha256
        os.unlink(a.out)
    else:
        rec["out_bytes"] = None
    rec["hash_ok"] = hash_ok
    server_record(rec, lines0, a)
    try:
        txt = open(so_path, "rb").read(1 << 16).decode(errors="replace").strip()
        if txt.startswith("{"):
            try:
                j = json.loads(txt)
            except ValueError:
                j = json.loads(txt.splitlines()[-1])
            for k in ("retransmits", "timeouts", "duplicates", "elapsed_ms", "negotiated"):
                if k in j:
                    rec["nt_" + k] = j[k]
    except (OSError, ValueError):
        pass
    rec["ok"] = hash_ok and rc == 0 and rec["settled"] and \
        (not a.server_log or rec.get("server_outcomes") == ["ok"])
    if not rec["ok"]:
        try:
            rec["stderr"] = open(se_path, "rb").read(4096).decode(errors="replace").strip()[-600:]
        except OSError:
            pass
    for pth in (so_path, se_path):
        try:
            os.unlink(pth)
        except OSError:
            pass
    with open(a.log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    mib = a.size / 1048576
    state = "ok" if rec["ok"] else (f"FAILED rc={rc} hash_ok={hash_ok} settled={rec['settled']} "
                                    f"server={rec.get('server_outcomes')} {rec.get('stderr', '')[:200]}")
    print(f"    {a.setting:7s} {a.server:9s} <- {a.client:7s} run {a.run}: "
          f"{rec['wall_s']:7.3f} s  server {rec['server_cpu_s'] * 1000 / mib:6.3f} CPU ms/MiB  "
          f"client {(ru.ru_utime + ru.ru_stime) * 1000 / mib:6.3f}  {state}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------ conc
def cmd_conc(a):
    tmpl = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    pin(a.client_cpu)
    os.makedirs(a.out_dir, exist_ok=True)
    outs = [os.path.join(a.out_dir, f"c{i:03d}.bin") for i in range(a.clients)]
    for o in outs:
        if os.path.exists(o):
            os.unlink(o)
    waited0, ok0 = settle(a, 0)
    lines0 = len(transfer_lines(a.server_log))
    c0 = read_cpu(a.cgroup)
    devnull = os.open(os.devnull, os.O_RDWR)
    errs = [os.path.join(a.out_dir, f"c{i:03d}.err") for i in range(a.clients)]
    start, end, status = {}, {}, {}
    alarm = Alarm(a.timeout)
    idx = {}
    for i, o in enumerate(outs):
        argv = [x.replace("{out}", o) for x in tmpl]
        fa = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
              (os.POSIX_SPAWN_OPEN, 2, errs[i], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
        t = time.perf_counter_ns()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=fa, setpgroup=0)
        start[i] = t
        idx[pid] = i
        alarm.pids.append(pid)
    while len(end) < a.clients:
        pid, st, _ru = os.wait4(-1, 0)
        t = time.perf_counter_ns()
        if pid in idx:
            end[idx[pid]] = t
            status[idx[pid]] = st
    alarm.stop()
    os.close(devnull)
    waited, settled = settle(a, lines0 + a.clients, limit=10.0)
    c1 = read_cpu(a.cgroup)
    per = [(end[i] - start[i]) / 1e9 for i in range(a.clients)]
    span = (max(end.values()) - min(start.values())) / 1e9
    bad = []
    for i, o in enumerate(outs):
        rc = "timeout" if alarm.fired else os.waitstatus_to_exitcode(status[i])
        good = rc == 0 and os.path.exists(o) and os.path.getsize(o) == a.size and \
            sha256_file(o) == a.sha256
        if not good:
            try:
                err = open(errs[i]).read()[-300:]
            except OSError:
                err = ""
            bad.append({"client": i, "rc": rc, "stderr": err})
        for pth in (o, errs[i]):
            if os.path.exists(pth):
                os.unlink(pth)
    rec = {
        "kind": "conc", "server": a.server, "client": a.client, "run": a.run,
        "clients": a.clients, "size": a.size, "cmd": tmpl, "span_s": span,
        "agg_mbps": a.clients * a.size / 1e6 / span, "slowest_s": max(per),
        "fastest_s": min(per), "median_s": statistics.median(per),
        "spawn_spread_s": (max(start.values()) - min(start.values())) / 1e9,
        "server_cpu_s": c1[0] - c0[0], "server_user_s": c1[1] - c0[1],
        "server_sys_s": c1[2] - c0[2], "settled": settled and ok0, "failed": bad,
        "load": open("/proc/loadavg").read().split()[:3],
    }
    server_record(rec, lines0, a)
    rec["ok"] = not bad and rec["settled"] and \
        (not a.server_log or rec.get("server_outcomes") == ["ok"])
    with open(a.log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    mib = a.clients * a.size / 1048576
    print(f"    {a.clients} x {a.size >> 20} MiB from {a.server:9s} ({a.client}) run {a.run}: "
          f"{rec['agg_mbps']:7.1f} MB/s aggregate, slowest {rec['slowest_s']:.3f} s, "
          f"server {rec['server_cpu_s'] * 1000 / mib:.3f} CPU ms/MiB, "
          f"{'ok' if rec['ok'] else f'FAILED {len(bad)} clients, settled={settled} {bad[:2]}'}",
          file=sys.stderr)
    return 0


# ------------------------------------------------------------------ report
def fmt(x, nd=2):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def med(xs):
    return statistics.median(xs) if xs else None


def conc_section(L, meta, concs, verdicts):
    L.append(f"## {meta['conc_clients']} concurrent clients, {meta['conc_mib']} MiB each\n")
    L.append(f"Client: {meta['conc_client_desc']}. All clients are spawned back to "
             "back (the spread of spawn times is shown); aggregate = clients x size / "
             "(last client's exit - first client's spawn); a client's time is its own "
             "spawn to reap. Medians over the rounds.\n")
    csv = [s for s in meta["conc_servers"]]
    L.append("| server | rounds (ok) | aggregate MB/s | slowest client s | median client s "
             "| fastest client s | spawn spread s | server CPU ms/MiB |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    cst = {}
    for sv in csv:
        rs = [r for r in concs if r["server"] == sv]
        good = [r for r in rs if r["ok"]]
        tot_mib = meta["conc_clients"] * meta["conc_mib"]
        d = {"runs": len(rs), "good": good,
             "agg": med([r["agg_mbps"] for r in good]),
             "slow": med([r["slowest_s"] for r in good]),
             "median": med([r["median_s"] for r in good]),
             "fast": med([r["fastest_s"] for r in good]),
             "spread": med([r["spawn_spread_s"] for r in good]),
             "cpu": med([r["server_cpu_s"] * 1000 / tot_mib for r in good])}
        cst[sv] = d
        if not rs:
            L.append(f"| {sv} | not run | | | | | | |")
            continue
        fails = "; ".join(f"run {r['run']}: {len(r['failed'])} clients failed, "
                          f"server outcomes {r.get('server_outcomes')}"
                          for r in rs if not r["ok"])
        L.append(f"| {sv} | {len(rs)} ({len(good)}) | {fmt(d['agg'], 1)} | {fmt(d['slow'], 3)} "
                 f"| {fmt(d['median'], 3)} | {fmt(d['fast'], 3)} | {fmt(d['spread'], 3)} "
                 f"| {fmt(d['cpu'], 3)} |" + (f" {fails}" if fails else ""))
    L.append("")
    if "nettool" in cst and cst["nettool"]["good"]:
        for sv in csv:
            if sv == "nettool" or not cst[sv]["good"]:
                continue
            n, o = cst["nettool"], cst[sv]
            ra, rs_, rc = n["agg"] / o["agg"], o["slow"] / n["slow"], n["cpu"] / o["cpu"]
            L.append(f"- nettool vs {sv}: aggregate {ra:.2f}x, slowest client "
                     f"{rs_:.2f}x faster, server CPU per MiB {rc:.2f}x.")
            verdicts.append(("conc-agg", "concurrent", sv, ra, sv, "met" if ra >= 1 else f"LOST to {sv}"))
            verdicts.append(("conc-slow", "concurrent", sv, rs_, sv, "met" if rs_ >= 1 else f"LOST to {sv}"))
            verdicts.append(("conc-cpu", "concurrent", sv, rc, sv, "met" if rc < 1 else f"LOST to {sv}"))
        L.append("")


def cmd_report(a):
    meta = json.load(open(a.meta))
    recs = []
    if os.path.exists(a.log):
        recs = [json.loads(l) for l in open(a.log) if l.strip()]
    cells = [r for r in recs if r["kind"] == "cell"]
    concs = [r for r in recs if r["kind"] == "conc"]
    size = meta["size_bytes"]
    mib = size / 1048576
    servers = meta["servers"]            # ordered names; "nettool" first
    others = [s for s in servers if s != "nettool"]
    L = []
    L.append("# `nettool tftp serve` against tftpd-hpa and atftpd\n")
    L.append(f"Generated by `{meta['args']}`; do not edit by hand (the script "
             "rewrites this file on every run).\n")
    L.append(f"- Date: {meta['date']}, the run took {meta['elapsed_s']} s")
    L.append(f"- Machine: nproc {meta['nproc']}, {meta['cpu']}, kernel {meta['kernel']}; "
             f"load average at start {meta['load_start']} ({meta['cargo_start']} cargo "
             f"processes), at end {meta['load_end']} ({meta['cargo_end']} cargo processes); "
             f"cargo processes at the start of each round: {meta.get('cargo_rounds', '?')}. "
             "The 1-minute load average after a concurrent part is the bench's own "
             f"{meta['conc_clients']} clients (it lifts the average for minutes).")
    if meta.get("noisy"):
        L.append(f"- NOTE: {meta['noisy']}")
    L.append(f"- nettool: {meta['nettool']} (`{meta['bin']}`, git {meta['git']})")
    for s in servers:
        L.append(f"- Server {s}: {meta['server_desc'][s]}")
    L.append(f"- Clients: {meta['client_versions']}")
    L.append(f"- File: {meta['size_mib']} MiB of random bytes ({size:,} B) on "
             f"{meta['root_fs']}; every output is written there too, removed before "
             "each run, and checked by SHA-256 after it (a wrong or missing file, a "
             "client error, or a nettool server transfer not `ok` gets no number).")
    L.append("- CPU placement: every server pinned to CPU "
             f"{meta['server_cpu']} (`taskset`), every client to CPU {meta['client_cpu']} "
             "(the helper pins itself before it spawns them), the same for all.")
    L.append("- Wall time: the client process, spawn to reap (`os.wait4`), median of the "
             "runs; runs are interleaved (round r runs every cell once before round "
             "r+1; the server order rotates each round).")
    L.append("- Server CPU: every server runs, for the whole bench, inside a cgroup of "
             "its own (" + meta["cgroup_kind"] + "); its CPU time (usage, the "
             "scheduler's exact runtime of every thread and child that ever ran in "
             "it) is read before the client starts and again after the server has "
             "settled (its per-transfer threads or children gone, nettool's JSON "
             "transfer line written, the counter no longer moving), divided by MiB. "
             "This counts tftpd-hpa's per-transfer children, which neither the "
             "parent's cutime (it sets SIGCHLD to SIG_IGN with SA_NOCLDWAIT, so the "
             "kernel reaps them uncounted) nor a wrapper's wait4 rusage would, "
             "atftpd's per-transfer threads, and nettool's single process alike.")
    L.append(f"- Clients: atftp `--option \"blksize B\" [--option \"windowsize W\"] -g`; "
             f"nettool `tftp get --blksize B [--windowsize W] --dally 0` (the dally is "
             "a fixed wait after the last ACK, the same for every server, left out so "
             "it does not dilute the servers' differences; tsize is asked as by "
             "default). Windowsize runs use blksize "
             f"{meta['ws_blksize']}; tftpd-hpa has no windowsize (RFC 7440), so it has "
             "no windowsize cells.")
    L.append(f"- Runs per cell: {meta['runs']} ({meta['runs_512']} at blksize 512, "
             "the slowest cells).\n")

    def cell_stats(setting, server, client):
        rs = [r for r in cells if r["setting"] == setting and r["server"] == server
              and r["client"] == client]
        good = [r for r in rs if r["ok"]]
        return {"runs": len(rs), "good": good, "bad": [r for r in rs if not r["ok"]],
                "wall": med([r["wall_s"] for r in good]),
                "cpu": med([r["server_cpu_s"] * 1000 / mib for r in good]),
                "ccpu": med([(r["client_user_s"] + r["client_sys_s"]) * 1000 / mib
                             for r in good])}

    def applies(setting, server):
        return server in setting["servers"]

    stats = {}
    for st in meta["settings"]:
        for sv in servers:
            for c in meta["clients"]:
                if applies(st, sv):
                    stats[(st["key"], sv, c)] = cell_stats(st["key"], sv, c)

    def cellstr(d, key, nd):
        if d is None:
            return "n/a"
        if not d["runs"]:
            return "not run"
        if d["bad"] and not d["good"]:
            return "FAILED"
        v = fmt(d[key], nd)
        return v + (f" ({len(d['bad'])} failed)" if d["bad"] else "")

    verdicts = []
    for title, key, nd, better in (
            ("Wall time, median seconds (lower is better); ratio = the fastest "
             "other server's time / nettool's (above 1: nettool faster)", "wall", 3, "time"),
            ("Server CPU, ms per MiB served (lower is better); ratio = nettool's / "
             "the lowest other server's (below 1: nettool cheaper)", "cpu", 3, "cpu")):
        L.append(f"## {title}\n")
        hdr = "| setting | client | " + " | ".join(servers) + " | ratio | |"
        L.append(hdr)
        L.append("|---|---|" + "---:|" * len(servers) + "---:|---|")
        for st in meta["settings"]:
            for c in meta["clients"]:
                row = [st["label"], c]
                vals = {}
                for sv in servers:
                    d = stats.get((st["key"], sv, c))
                    row.append(cellstr(d, key, nd))
                    if d and d["good"] and not d["bad"]:
                        vals[sv] = d[key]
                ov = {s: v for s, v in vals.items() if s != "nettool"}
                ratio, verdict = "n/a", ""
                if "nettool" in vals and ov:
                    best_s = min(ov, key=ov.get)
                    if key == "wall":
                        r = ov[best_s] / vals["nettool"]
                        verdict = "met" if r >= 1 else f"LOST to {best_s}"
                    else:
                        r = vals["nettool"] / ov[best_s]
                        verdict = "met" if r < 1 else f"LOST to {best_s}"
                    ratio = f"{r:.2f} (vs {best_s})"
                    verdicts.append((key, st["label"], c, r, best_s, verdict))
                row += [ratio, verdict]
                L.append("| " + " | ".join(row) + " |")
        L.append("")

    L.append("## Throughput, MB/s (10^6 B / median wall time; for reading against "
             "RESULTS-tftp.md)\n")
    L.append("| setting | client | " + " | ".join(servers) + " |")
    L.append("|---|---|" + "---:|" * len(servers))
    for st in meta["settings"]:
        for c in meta["clients"]:
            row = [st["label"], c]
            for sv in servers:
                d = stats.get((st["key"], sv, c))
                if d is None:
                    row.append("n/a")
                elif d["good"] and not d["bad"]:
                    row.append(fmt(size / 1e6 / d["wall"], 1))
                else:
                    row.append(cellstr(d, "wall", 1))
            L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Client CPU, ms per MiB (user + sys of the client process; shows "
             "whether the client, not the server, is the bottleneck)\n")
    L.append("| setting | client | " + " | ".join(servers) + " |")
    L.append("|---|---|" + "---:|" * len(servers))
    for st in meta["settings"]:
        for c in meta["clients"]:
            row = [st["label"], c] + [cellstr(stats.get((st["key"], sv, c)), "ccpu", 3)
                                      for sv in servers]
            L.append("| " + " | ".join(row) + " |")
    L.append("")

    # -------------------------------------------------- concurrency
    if meta["conc_servers"]:
        conc_section(L, meta, concs, verdicts)

    # -------------------------------------------------- targets
    L.append("## Targets (issue 16)\n")
    L.append("| target | cells compared | lost (ratio) | result |")
    L.append("|---|---:|---|---|")
    for key, name in (("wall", "at least as fast as the fastest other server at every setting"),
                      ("cpu", "less server CPU per MiB than every other server at every setting")):
        vs = [v for v in verdicts if v[0] == key]
        lost = [v for v in vs if v[5] != "met"]
        ls = "; ".join(f"{v[1]} / {v[2]}: {v[3]:.2f} vs {v[4]}" for v in lost) or "none"
        res = "n/a (nettool not measured)" if not vs else ("met" if not lost else "NOT met")
        L.append(f"| {name} | {len(vs)} | {ls} | {res} |")
    k = meta["conc_clients"]
    for key, name in (("conc-agg", f"{k} concurrent: aggregate throughput at least tftpd-hpa's"),
                      ("conc-slow", f"{k} concurrent: slowest client no slower than with tftpd-hpa"),
                      ("conc-cpu", f"{k} concurrent: less server CPU per MiB than tftpd-hpa")):
        vs = [v for v in verdicts if v[0] == key and v[2] == "tftpd-hpa"]
        if not vs:
            L.append(f"| {name} | 0 | | n/a (nettool not measured) |")
            continue
        v = vs[0]
        L.append(f"| {name} | 1 | {'none' if v[5] == 'met' else f'{v[3]:.2f}'} "
                 f"| {'met' if v[5] == 'met' else 'NOT met'} ({v[3]:.2f}) |")
    L.append("")

    nt = [r for r in cells if r["server"] == "nettool" and r.get("server_options")]
    if nt:
        L.append("## What nettool's server says it did (its --json transfer lines)\n")
        L.append("| setting | client | transfers | outcomes | options granted (blksize / windowsize / tsize asked) | retransmits | server's own seconds, median |")
        L.append("|---|---|---:|---|---|---:|---:|")
        for st in meta["settings"]:
            for c in meta["clients"]:
                rs = [r for r in nt if r["setting"] == st["key"] and r["client"] == c]
                if not rs:
                    continue
                opts = sorted({(r["server_options"].get("blksize"), r["server_options"].get("windowsize"),
                                r["server_options"].get("tsize") is not None) for r in rs})
                ostr = ", ".join(f"{b} / {w} / {'yes' if t else 'no'}" for b, w, t in opts)
                outc = sorted({o for r in rs for o in r.get("server_outcomes", [])})
                retx = sum(r.get("server_retransmits", 0) or 0 for r in rs)
                secs = med([r["server_seconds_max"] for r in rs if "server_seconds_max" in r])
                L.append(f"| {st['label']} | {c} | {sum(r['server_transfers'] for r in rs)} | "
                         f"{', '.join(outc)} | {ostr} | {retx} | {fmt(secs, 3)} |")
        L.append("")

    if meta.get("syscalls"):
        L.append("## Server syscalls per DATA block (strace -c -f on the running server)\n")
        L.append(meta["syscalls_note"] + "\n")
        L.append("| setting | server | blocks | syscalls per block | the top calls, per block |")
        L.append("|---|---|---:|---:|---|")
        for row in meta["syscalls"]:
            top = ", ".join(f"{n} {c / row['blocks']:.2f}" for n, c in row["top"])
            L.append(f"| {row['label']} | {row['server']} | {row['blocks']:,} | "
                     f"{row['total'] / row['blocks']:.2f} | {top} |")
        L.append("")

    L.append("## Every run (wall s / server CPU ms per MiB; for judging the noise)\n")
    L.append("| setting | server | client | runs |")
    L.append("|---|---|---|---|")
    for (sk, sv, c), d in stats.items():
        label = next(s["label"] for s in meta["settings"] if s["key"] == sk)
        runs = sorted([r for r in cells if r["setting"] == sk and r["server"] == sv
                       and r["client"] == c], key=lambda r: r["run"])
        txt = ", ".join(f"{r['wall_s']:.3f}/{r['server_cpu_s'] * 1000 / mib:.3f}"
                        + ("" if r["ok"] else " FAILED") for r in runs)
        L.append(f"| {label} | {sv} | {c} | {txt or 'not run'} |")
    L.append("")
    if meta.get("notes"):
        L.append("## Notes\n")
        for n in meta["notes"]:
            L.append(f"- {n}")
        L.append("")
    text = "\n".join(L)
    open(a.results, "w").write(text)
    print(text)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    p = sub.add_parser("cgroup-create")
    p.add_argument("name")
    p = sub.add_parser("cgroup-join")
    p.add_argument("path")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("cgroup-remove")
    p.add_argument("path")
    p = sub.add_parser("threads")
    p.add_argument("path")
    for name in ("cell", "conc"):
        p = sub.add_parser(name)
        p.add_argument("--log", required=True)
        p.add_argument("--server", required=True)
        p.add_argument("--client", required=True)
        p.add_argument("--run", type=int, required=True)
        p.add_argument("--cgroup", required=True)
        p.add_argument("--idle-threads", type=int, required=True)
        p.add_argument("--server-log", default="")
        p.add_argument("--client-cpu", type=int, default=-1)
        p.add_argument("--sha256", required=True)
        p.add_argument("--size", type=int, required=True)
        p.add_argument("--timeout", type=float, required=True)
        if name == "cell":
            p.add_argument("--setting", required=True)
            p.add_argument("--out", required=True)
        else:
            p.add_argument("--clients", type=int, required=True)
            p.add_argument("--out-dir", required=True)
        p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("--log", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--results", required=True)
    a = ap.parse_args()
    fn = {"cgroup-create": cmd_cgroup_create, "cgroup-join": cmd_cgroup_join,
          "cgroup-remove": cmd_cgroup_remove, "threads": cmd_threads, "cell": cmd_cell,
          "conc": cmd_conc, "report": cmd_report}[a.sub]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
