#!/usr/bin/env python3
"""Helper for benches/tftp.sh.

  tftp_bench.py run --log FILE --client C --setting S --run I --out OUTFILE
                    --sha256 HEX --size BYTES --timeout SECS -- CMD ARGS...
      Run one download, timing the whole client process: wall time
      (perf_counter_ns, spawn to reap) and CPU time user+sys from the
      child's rusage (os.wait4: the same numbers /usr/bin/time -f '%U %S'
      prints, at microsecond instead of 10 ms resolution).  Then hash
      OUTFILE (a wrong or missing file gets ok=false and no number), delete
      it, and append one JSON line to FILE.  When the client's stdout is a
      JSON object (nettool --json) its retransmits / timeouts / duplicates /
      elapsed_ms / negotiated options are kept too.

  tftp_bench.py report --log FILE --meta META.json --results OUT.md
      Print the results tables and write them, with the metadata, as Markdown.
"""

import argparse
import hashlib
import json
import math
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


# ------------------------------------------------------------------ run
def cmd_run(a):
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if os.path.exists(a.out):
        os.unlink(a.out)
    stdout_path = a.out + ".stdout"
    stderr_path = a.out + ".stderr"
    with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
        timed_out = False

        def on_alarm(_sig, _frm):
            nonlocal timed_out
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)

        signal.signal(signal.SIGALRM, on_alarm)
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so,
                             stderr=se, start_new_session=True)
        signal.setitimer(signal.ITIMER_REAL, a.timeout)
        # Blocking wait4 (retried by Python after the alarm handler runs).
        _pid, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter_ns()
        signal.setitimer(signal.ITIMER_REAL, 0)
        p.returncode = 0  # reaped by hand; keep Popen from waiting again
    rc = "timeout" if timed_out else os.waitstatus_to_exitcode(status)
    rec = {
        "client": a.client, "setting": a.setting, "run": a.run,
        "cmd": cmd, "rc": rc, "wall_s": (t1 - t0) / 1e9,
        "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "size": a.size,
    }
    ok = False
    if os.path.exists(a.out):
        got = os.path.getsize(a.out)
        rec["out_bytes"] = got
        if got == a.size and sha256_file(a.out) == a.sha256:
            ok = True
        os.unlink(a.out)
    else:
        rec["out_bytes"] = None
    rec["hash_ok"] = ok
    rec["ok"] = ok and rc == 0
    try:
        with open(stdout_path, "rb") as f:
            txt = f.read(1 << 16).decode(errors="replace").strip()
        if txt.startswith("{"):
            j = json.loads(txt)
            for k in ("retransmits", "timeouts", "duplicates", "elapsed_ms",
                      "strangers", "fell_back_to_no_options", "negotiated",
                      "megabytes_per_second"):
                if k in j:
                    rec["nt_" + k] = j[k]
    except (OSError, ValueError):
        pass
    try:
        with open(stderr_path, "rb") as f:
            err = f.read(4096).decode(errors="replace").strip()
        if err and not rec["ok"]:
            rec["stderr"] = err[-600:]
    except OSError:
        pass
    for pth in (stdout_path, stderr_path):
        try:
            os.unlink(pth)
        except OSError:
            pass
    with open(a.log, "a") as f:
        f.write(json.dumps(rec) + "\n")
    mbps = (a.size / 1e6 / rec["wall_s"]) if rec["ok"] else None
    cpu_ms_mib = ((rec["user_s"] + rec["sys_s"]) * 1000 / (a.size / 1048576)
                  if rec["ok"] else None)
    extra = ""
    if "nt_retransmits" in rec:
        extra = (f" retx={rec['nt_retransmits']} timeouts={rec.get('nt_timeouts')}"
                 f" dup={rec.get('nt_duplicates')} inner={rec.get('nt_elapsed_ms', 0):.0f}ms")
    status_s = "ok" if rec["ok"] else f"FAILED rc={rc} hash_ok={ok} bytes={rec['out_bytes']}"
    print(f"    {a.client:9s} {a.setting:22s} run {a.run}: "
          f"{rec['wall_s']:7.3f} s wall "
          f"{'' if mbps is None else f'{mbps:8.1f} MB/s'} "
          f"{'' if cpu_ms_mib is None else f'{cpu_ms_mib:6.2f} CPU ms/MiB'} "
          f"{status_s}{extra}", file=sys.stderr)


# ------------------------------------------------------------------ report
def fmt(x, nd=1):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def cmd_report(a):
    with open(a.meta) as f:
        meta = json.load(f)
    recs = []
    if os.path.exists(a.log):
        with open(a.log) as f:
            recs = [json.loads(l) for l in f if l.strip()]
    settings = meta["settings"]          # [{"key","label","server","clients":[...]}]
    clients = meta["clients"]
    size = meta["size_bytes"]
    mib = size / 1048576

    cell = {}
    for s in settings:
        for c in clients:
            rs = [r for r in recs if r["setting"] == s["key"] and r["client"] == c]
            if c not in s["clients"]:
                cell[(s["key"], c)] = {"status": "n/a", "why": s.get("na", {}).get(c, "unsupported")}
                continue
            if not rs:
                cell[(s["key"], c)] = {"status": "not run", "why": "time budget"}
                continue
            good = [r for r in rs if r["ok"]]
            bad = [r for r in rs if not r["ok"]]
            d = {"status": "ok" if not bad else ("FAILED" if not good else "partial"),
                 "runs": len(rs), "good": len(good), "bad": bad}
            if good and not bad:
                t = statistics.median(r["wall_s"] for r in good)
                cpu = statistics.median(r["user_s"] + r["sys_s"] for r in good)
                usr = statistics.median(r["user_s"] for r in good)
                d.update(mbps=size / 1e6 / t, wall=t, cpu_ms_mib=cpu * 1000 / mib,
                         user_ms_mib=usr * 1000 / mib,
                         walls=[r["wall_s"] for r in good])
                if any("nt_retransmits" in r for r in good):
                    d["retx"] = sum(r.get("nt_retransmits", 0) or 0 for r in good)
                    d["tmo"] = sum(r.get("nt_timeouts", 0) or 0 for r in good)
                    d["dup"] = sum(r.get("nt_duplicates", 0) or 0 for r in good)
                    inner = [r["nt_elapsed_ms"] for r in good if r.get("nt_elapsed_ms")]
                    if inner:
                        d["inner_mbps"] = size / 1e6 / (statistics.median(inner) / 1000)
            cell[(s["key"], c)] = d

    L, C = [], []
    L.append("# `nettool tftp get` benchmark\n")
    L.append(f"Generated by `{meta['args']}`; do not edit by hand.\n")
    L.append(f"- Date: {meta['date']}, run took {meta['elapsed_s']} s")
    L.append(f"- Machine: nproc {meta['nproc']}, {meta['cpu']}, kernel {meta['kernel']}; "
             f"load average at start {meta['load_start']}, at end {meta['load_end']}")
    if meta.get("noisy"):
        L.append(f"- NOTE: {meta['noisy']}")
    L.append(f"- nettool: {meta['nettool']} (`{meta['bin']}`, git {meta['git']})")
    L.append(f"- Servers: {meta['servers']}")
    L.append(f"- Clients: {meta['client_versions']}")
    L.append(f"- File: {meta['size_mib']} MiB of random bytes ({size:,} B), "
             f"served from {meta['root_fs']}; outputs written there too and "
             f"checked by SHA-256 (a wrong or missing file gets no number).")
    L.append("- CPU placement: every server pinned to CPU 1 and every client to CPU 0 "
             "(`taskset`), the same for all clients: without it, whether the scheduler "
             "puts client and server on one core or two changed lock-step speed by up "
             "to 2x between runs (`--no-pin` turns it off).")
    L.append(f"- Method: {meta['runs']} runs per client and setting, interleaved "
             "(round r runs every cell once before round r+1). MB/s = "
             f"{size:,} B / 10^6 / median wall time of the whole client process "
             "(spawn to reap). CPU ms/MiB = median (user + sys) of the client "
             "process from its rusage (wait4: what `/usr/bin/time -f '%U %S'` "
             "reports, at microsecond resolution) / MiB. Servers' CPU is not "
             "counted. nettool runs at its defaults except --blksize/--windowsize; "
             "`--json` is added only to read its retransmit/timeout counters "
             "(its default dally (0.02 s) after the last ACK is inside the wall time).")
    L.append("")

    def table(title, key, fmtf, better):
        L.append(f"## {title}\n")
        hdr = "| setting | server | " + " | ".join(clients) + " |"
        L.append(hdr)
        L.append("|---|---|" + "---:|" * len(clients))
        C.append(f"--- {title}")
        C.append(f"  {'setting':34s}" + "".join(f"{c:>12s}" for c in clients))
        for s in settings:
            vals = []
            for c in clients:
                d = cell[(s["key"], c)]
                if d["status"] == "ok":
                    vals.append(fmtf(d[key]))
                elif d["status"] == "n/a":
                    vals.append("n/a")
                else:
                    vals.append(d["status"])
            L.append(f"| {s['label']} | {s['server']} | " + " | ".join(vals) + " |")
            C.append(f"  {s['label'][:34]:34s}" + "".join(f"{v:>12s}" for v in vals))
        L.append("")

    table("Throughput, MB/s (higher is better)", "mbps", lambda v: fmt(v, 1), "max")
    table("Client CPU time, ms per MiB (user + sys; lower is better)",
          "cpu_ms_mib", lambda v: fmt(v, 2), "min")
    table("Client user-space CPU time only, ms per MiB (for judging noise: "
          "the sys part, mostly per-packet syscalls, grows when the machine is busy)",
          "user_ms_mib", lambda v: fmt(v, 2), "min")

    # Ratios per setting.
    L.append("## nettool against the others, per setting\n")
    L.append("| setting | nettool MB/s | best other MB/s (client) | ratio | "
             "nettool CPU ms/MiB | lowest other CPU ms/MiB (client) | CPU ratio | "
             "nettool retransmits / timeouts / duplicates (all runs) | nettool MB/s by its own clock (no startup, no dally) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    C.append("--- nettool vs best other per setting (MB/s ratio >= 1 and CPU ratio < 1 wanted)")
    t1_all, t3_all, t1_rows, t3_rows = True, True, [], []
    n_compared = 0
    for s in settings:
        nt = cell[(s["key"], "nettool")]
        others = [(c, cell[(s["key"], c)]) for c in clients
                  if c != "nettool" and cell[(s["key"], c)].get("status") == "ok"]
        if nt.get("status") != "ok":
            L.append(f"| {s['label']} | {nt['status']} | | | | | | | |")
            C.append(f"  {s['label']}: nettool {nt['status']}")
            t1_all = t3_all = False
            continue
        if not others:
            L.append(f"| {s['label']} | {fmt(nt['mbps'])} | none | | "
                     f"{fmt(nt['cpu_ms_mib'], 2)} | none | | "
                     f"{nt.get('retx')} / {nt.get('tmo')} / {nt.get('dup')} | "
                     f"{fmt(nt.get('inner_mbps'))} |")
            continue
        n_compared += 1
        bc, bd = max(others, key=lambda x: x[1]["mbps"])
        lc, ld = min(others, key=lambda x: x[1]["cpu_ms_mib"])
        r = nt["mbps"] / bd["mbps"]
        rc = nt["cpu_ms_mib"] / ld["cpu_ms_mib"]
        if r < 1:
            t1_all = False
            t1_rows.append(f"{s['label']} ({r:.3f}x {bc})")
        if rc >= 1:
            t3_all = False
            t3_rows.append(f"{s['label']} ({rc:.3f}x {lc})")
        L.append(f"| {s['label']} | {fmt(nt['mbps'])} | {fmt(bd['mbps'])} ({bc}) | "
                 f"{r:.2f} | {fmt(nt['cpu_ms_mib'], 2)} | {fmt(ld['cpu_ms_mib'], 2)} ({lc}) | "
                 f"{rc:.2f} | {nt.get('retx')} / {nt.get('tmo')} / {nt.get('dup')} | "
                 f"{fmt(nt.get('inner_mbps'))} |")
        C.append(f"  {s['label'][:34]:34s} nettool {fmt(nt['mbps']):>8s} MB/s vs "
                 f"{bc} {fmt(bd['mbps']):>8s}: x{r:.2f};  CPU {fmt(nt['cpu_ms_mib'], 2)} vs "
                 f"{lc} {fmt(ld['cpu_ms_mib'], 2)} ms/MiB: x{rc:.2f}; "
                 f"retx/tmo/dup {nt.get('retx')}/{nt.get('tmo')}/{nt.get('dup')}")
    L.append("")

    # Windowsize vs tftp-hpa default.
    base = cell.get((meta["base_setting"], "tftp-hpa"), {})
    t2_rows, t2_all = [], None
    if base.get("status") == "ok":
        t2_all = True
        for s in settings:
            if s.get("ws", 0) >= 16:
                nt = cell[(s["key"], "nettool")]
                if nt.get("status") != "ok":
                    t2_all = False
                    t2_rows.append(f"{s['label']}: nettool {nt.get('status')}")
                    continue
                r = nt["mbps"] / base["mbps"]
                if r < 3:
                    t2_all = False
                t2_rows.append(f"{s['label']}: {fmt(nt['mbps'])} MB/s = {r:.2f}x")
    L.append("## Targets\n")
    L.append("| target | measured | result |")
    L.append("|---|---|---|")
    tg = [
        ("at every setting at least as fast as the fastest other client",
         (f"{n_compared} settings compared; below 1.00x: " + ("; ".join(t1_rows) or "none")),
         "met" if t1_all and n_compared else "NOT met"),
        ("with windowsize >= 16, at least 3x tftp-hpa's default-blksize throughput "
         f"({fmt(base.get('mbps'))} MB/s)",
         "; ".join(t2_rows) or "n/a",
         "n/a" if t2_all is None else ("met" if t2_all else "NOT met")),
        ("CPU time per MiB lower than every other client's (at every setting)",
         "not lower at: " + ("; ".join(t3_rows) or "none"),
         "met" if t3_all and n_compared else "NOT met"),
    ]
    C.append("--- Targets")
    for t in tg:
        L.append(f"| {t[0]} | {t[1]} | {t[2]} |")
        C.append(f"  [{t[2]}] {t[0]}: {t[1]}")
    L.append("")

    # Failures.
    fails = [r for r in recs if not r["ok"]]
    if fails:
        L.append("## Failed runs (no number given)\n")
        C.append("--- Failed runs")
        for r in fails:
            line = (f"{r['client']} / {r['setting']} run {r['run']}: rc={r['rc']}, "
                    f"hash_ok={r['hash_ok']}, bytes={r.get('out_bytes')}, "
                    f"wall {r['wall_s']:.2f} s; `{' '.join(r['cmd'])}`"
                    + (f"; stderr: {r['stderr'][-200:]!r}" if r.get("stderr") else ""))
            L.append(f"- {line}")
            C.append(f"  {line}")
        L.append("")
    gaps = [r["wall_s"] * 1000 - r["nt_elapsed_ms"] for r in recs
            if r["client"] == "nettool" and r["ok"] and r.get("nt_elapsed_ms")]
    if gaps:
        meta.setdefault("notes", []).append(
            f"nettool's whole-process wall time exceeds the transfer time it "
            f"reports itself (`elapsed_ms` in --json) by a median "
            f"{statistics.median(gaps):.0f} ms (min {min(gaps):.0f}, max "
            f"{max(gaps):.0f}) over {len(gaps)} runs: its default dally (0.02 s) "
            "after the last ACK plus process start and exit. No other client "
            "dallies. The last column of the per-setting table shows nettool's "
            "MB/s by its own clock, i.e. without that fixed cost.")
    if meta.get("notes"):
        L.append("## Notes\n")
        for n in meta["notes"]:
            L.append(f"- {n}")
        L.append("")
    # Per-cell spread (for judging noise).
    L.append("## Wall times per run, s (for judging the noise)\n")
    L.append("| setting | client | runs |")
    L.append("|---|---|---|")
    for s in settings:
        for c in clients:
            d = cell[(s["key"], c)]
            if d.get("walls"):
                L.append(f"| {s['label']} | {c} | "
                         + ", ".join(f"{w:.3f}" for w in d["walls"]) + " |")
    L.append("")
    with open(a.results, "w") as f:
        f.write("\n".join(L))
    print("\n".join(C))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    r = sub.add_parser("run")
    r.add_argument("--log", required=True)
    r.add_argument("--client", required=True)
    r.add_argument("--setting", required=True)
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--sha256", required=True)
    r.add_argument("--size", type=int, required=True)
    r.add_argument("--timeout", type=float, default=180)
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("--log", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--results", required=True)
    a = ap.parse_args()
    cmd_run(a) if a.sub == "run" else cmd_report(a)


if __name__ == "__main__":
    main()
