#!/usr/bin/env python3
"""Helper for benches/probe.sh.

  probe_stats.py spawn --runs N --out FILE [--timeout S] -- CMD ARGS...
      Run CMD N times, one after the other, and record for each run the wall
      time of the whole process (spawn to reap, perf_counter_ns), its exit
      status and its stdout (stripped).  stdin is /dev/null, stderr is
      discarded.  Writes JSON {"cmd": [...], "runs": [{"wall_us", "rc",
      "stdout"}, ...]}.

  probe_stats.py report --dir DIR --meta META.json --results FILE
      Read the files benches/probe.sh left in DIR, print the results tables
      to stdout and write them, with the metadata, to FILE (Markdown).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time


# ------------------------------------------------------------------ spawn
def cmd_spawn(args):
    cmd = args.cmd
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        sys.exit("probe_stats.py spawn: no command")
    runs = []
    deadline = time.monotonic() + args.budget
    for _ in range(args.runs):
        if time.monotonic() > deadline:
            print(f"probe_stats.py: budget of {args.budget} s used up after "
                  f"{len(runs)} runs of {cmd[0]}", file=sys.stderr)
            break
        t0 = time.perf_counter_ns()
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL,
                               timeout=args.timeout)
            rc = p.returncode
            out = p.stdout.decode(errors="replace").strip()
        except subprocess.TimeoutExpired:
            rc, out = "timeout", ""
        t1 = time.perf_counter_ns()
        runs.append({"wall_us": (t1 - t0) / 1000.0, "rc": rc, "stdout": out})
    with open(args.out, "w") as f:
        json.dump({"cmd": cmd, "runs": runs}, f)


# ------------------------------------------------------------------ stats
def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def fmt(x, nd=1):
    if x is None:
        return "n/a"
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def load_jsonl(path):
    attempts, summary = [], None
    if not os.path.exists(path):
        return attempts, summary
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("type") == "attempt":
                attempts.append(rec)
            elif rec.get("type") == "summary":
                summary = rec
    return attempts, summary


def nettool_stats(path):
    attempts, summary = load_jsonl(path)
    hs, rtt, ovh = [], [], []
    fails = 0
    for a in attempts:
        o = a.get("outcome") or {}
        if o.get("result") != "open" or o.get("handshake_us") is None:
            fails += 1
            continue
        h = float(o["handshake_us"])
        hs.append(h)
        if o.get("kernel_rtt_us") is not None:
            r = float(o["kernel_rtt_us"])
            rtt.append(r)
            ovh.append(h - r)
    return {
        "n": len(attempts), "open": len(hs), "fails": fails,
        "hs": hs, "rtt": rtt, "ovh": ovh, "summary": summary,
        "closed_with": sorted({a.get("closed_with") for a in attempts
                               if a.get("closed_with")}),
    }


def spawn_stats(path, ok_rcs, parse_stdout=False):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        d = json.load(f)
    walls, vals, bad, rcs = [], [], 0, {}
    for r in d["runs"]:
        rcs[str(r["rc"])] = rcs.get(str(r["rc"]), 0) + 1
        if r["rc"] not in ok_rcs:
            bad += 1
            continue
        walls.append(r["wall_us"])
        if parse_stdout:
            try:
                v = float(r["stdout"].split()[0]) * 1e6  # seconds -> us
                if v > 0:
                    vals.append(v)
            except (ValueError, IndexError):
                pass
    return {"n": len(d["runs"]), "bad": bad, "walls": walls,
            "vals": vals, "rcs": rcs, "cmd": d["cmd"]}


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------ report
def env_section(d, env, title, lines, targets, console):
    nt = nettool_stats(os.path.join(d, f"{env}-nettool.jsonl"))
    one = spawn_stats(os.path.join(d, f"{env}-nettool1.json"), {0})
    curl_tc = spawn_stats(os.path.join(d, f"{env}-curl-connect.json"),
                          {0, 28, 52, 56}, parse_stdout=True)
    curl_w = spawn_stats(os.path.join(d, f"{env}-curl-wall.json"),
                         {0, 7, 52, 56}, parse_stdout=True)
    nc = spawn_stats(os.path.join(d, f"{env}-nc.json"), {0})
    floor = spawn_stats(os.path.join(d, f"{env}-true.json"), {0})
    if nt["n"] == 0 and one is None:
        return None
    s = nt["summary"] or {}
    aps = s.get("attempts_per_second")
    lines.append(f"## {title}\n")
    lines.append("| tool and what is timed | n ok / runs | median us | p95 us "
                 "| attempts/s | note |")
    lines.append("|---|---:|---:|---:|---:|---|")
    rows = []

    def row(name, n_ok, n_all, xs, rate, note):
        rows.append((name, f"{n_ok} / {n_all}", fmt(median(xs)),
                     fmt(pct(xs, 95)), rate, note))

    row("nettool probe -c N -i 0: handshake (connect() to writable)",
        nt["open"], nt["n"], nt["hs"], fmt(aps, 0),
        "attempts/s from the summary record; close: "
        + ",".join(nt["closed_with"]))
    row("  same attempts: kernel TCP_INFO rtt", len(nt["rtt"]), nt["n"],
        nt["rtt"], "", "tcpi_rtt right after the handshake")
    row("  same attempts: overhead = handshake - kernel rtt",
        len(nt["ovh"]), nt["n"], nt["ovh"], "", "median of per-attempt differences")
    for name, st, key, note in (
        ("nettool probe -c 1 -i 0 (whole process, wall)", one, "walls",
         "one attempt per process; with -c 1 nettool also watches the open "
         "connection 100 ms for the peer's first move (poll POLLIN, 100 ms), "
         "so this is ~100 ms + process cost"),
        ("curl -w %{time_connect} (accept target)", curl_tc, "vals",
         "curl's own connect timer; the request then times out (--max-time)"),
        ("curl whole process, wall (rst target)", curl_w, "walls",
         "same stack; server resets after accept so curl exits at once "
         "(rc 56: RST after connect; rc 7: the RST beat curl's connect check)"),
        ("  same runs: curl -w %{time_connect}", curl_w, "vals",
         "only runs where curl saw the connect succeed"),
        ("nc -z (whole process, wall)", nc, "walls", "netcat-openbsd"),
        ("spawn floor: /bin/true (whole process, wall)", floor, "walls",
         "cost of spawning any process from the harness"),
    ):
        if st is None:
            row(name, 0, 0, [], "n/a", "not run")
            continue
        xs = st[key]
        rate = ""
        if key == "walls" and xs:
            rate = fmt(1e6 / median(xs), 0)
        rcs = ", ".join(f"rc {k}: {v}" for k, v in sorted(st["rcs"].items()))
        row(name, len(xs), st["n"], xs, rate, (note + "; " if note else "") + rcs)
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    lines.append("")
    console.append(f"--- {title}")
    for r in rows:
        console.append(f"  {r[0][:58]:58s} {r[1]:>11s} med {r[2]:>9s} "
                       f"p95 {r[3]:>9s} {('/s ' + r[4]) if r[4] else ''}")

    med_h = median(nt["hs"])
    comps = []
    if med_h:
        if curl_tc and curl_tc["vals"]:
            comps.append(f"curl time_connect / nettool handshake = "
                         f"{median(curl_tc['vals']) / med_h:.2f}")
        if nc and nc["walls"]:
            comps.append(f"nc -z wall / nettool handshake = "
                         f"{median(nc['walls']) / med_h:.0f}")
        if aps and nc and nc["walls"]:
            comps.append(f"nettool attempts/s / nc -z attempts/s = "
                         f"{aps / (1e6 / median(nc['walls'])):.0f}")
        if aps and curl_w and curl_w["walls"]:
            comps.append(f"nettool attempts/s / curl attempts/s = "
                         f"{aps / (1e6 / median(curl_w['walls'])):.0f}")
    if comps:
        lines.append("Ratios (medians): " + "; ".join(comps) + ".\n")
        console.append("  " + "; ".join(comps))
    ovh = median(nt["ovh"])
    targets.append((f"{title}: median handshake overhead over kernel rtt < 50 us",
                    f"{fmt(ovh)} us (handshake {fmt(med_h)} us, rtt "
                    f"{fmt(median(nt['rtt']))} us, {nt['fails']} failed)",
                    "n/a" if ovh is None else ("met" if ovh < 50 and nt["fails"] == 0
                                               else "NOT met")))
    return nt


def cmd_report(args):
    d = args.dir
    with open(args.meta) as f:
        meta = json.load(f)
    lines, targets, console = [], [], []
    lines.append("# `nettool probe` benchmark\n")
    lines.append(f"Generated by `{meta.get('args', 'bash benches/probe.sh').strip()}`; "
                 "do not edit by hand.\n")
    lines.append(f"- Date: {meta['date']}, run took {meta.get('elapsed_s', '?')} s")
    lines.append(f"- Machine: nproc {meta['nproc']}, {meta['cpu']}, kernel "
                 f"{meta['kernel']}; load average at start {meta['load_start']}, "
                 f"at end {meta.get('load_end', '?')}")
    lines.append(f"- nettool: {meta['nettool']} (`{meta['bin']}`, git {meta['git']})")
    lines.append(f"- Tools: {meta['curl']}; {meta['nc']}; Python {meta['python']}")
    lines.append(f"- Kernel settings: ip_local_port_range {meta['port_range']}, "
                 f"tcp_tw_reuse {meta['tw_reuse']}, tcp_fin_timeout "
                 f"{meta['fin_timeout']}, tcp_max_tw_buckets {meta['max_tw']}")
    if meta.get("noisy"):
        lines.append(f"- NOTE: {meta['noisy']}")
    lines.append("- Method: see the header of benches/probe.sh. nettool's own "
                 "handshake and TCP_INFO rtt come from `--json` attempt records "
                 "(`outcome.handshake_us`, `outcome.kernel_rtt_us`); other "
                 "tools are timed per whole process by benches/probe_stats.py "
                 "(subprocess spawn to reap), so their attempts/s = 1 / median "
                 "process wall time, and the spawn floor row shows what the "
                 "harness itself adds. p95 is nearest-rank.\n")

    env_section(d, "lo", f"Loopback (127.0.0.1), {meta['count']} attempts at -i 0",
                lines, targets, console)
    env_section(d, "veth", f"veth pair between two namespaces "
                f"(198.51.100.1 -> 198.51.100.2), {meta['count']} attempts at -i 0",
                lines, targets, console)

    # Sustained and TIME_WAIT.
    lines.append("## Sustained rate and TIME_WAIT (loopback)\n")
    lines.append("| run | attempts | open | failed | attempts/s | elapsed s "
                 "| handshakes >= 200 ms (SYN retransmitted) | ListenOverflows during the run "
                 "| closed with | TIME_WAIT to the port afterwards (nettool sockstat / ss) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    console.append("--- Sustained rate and TIME_WAIT (loopback)")
    sus = None
    for key, name in (
            ("lo1000", "nettool probe -c %d -i 0 (the run in the loopback table)" % meta["count"]),
            ("sustained", "nettool probe -c %d -i 0" % meta["sustained"]),
            ("sustained-rst", "reference: nettool probe -c %d -i 0 against the rst server "
             "(failed = the server's reset right after accept, by design)"
             % meta["sustained"]),
            ("graceful", "nettool probe -c %d -i 0 --graceful" % meta["graceful"]),
            ("nc", "nc -z x %d (loopback, increase on the accept port)" % meta["ext_runs"]),
            ("curl", "curl x %d (loopback accept target, increase on its port)" % meta["ext_runs"])):
        tw_n = read_int(os.path.join(d, f"tw-{key}-nettool.txt"))
        tw_s = read_int(os.path.join(d, f"tw-{key}-ss.txt"))
        ovf = read_int(os.path.join(d, f"overflow-{key}.txt"))
        if key in ("lo1000", "sustained", "sustained-rst", "graceful"):
            st = nettool_stats(os.path.join(
                d, "lo-nettool.jsonl" if key == "lo1000" else f"{key}.jsonl"))
            if key == "sustained":
                sus = st
            if st["n"] == 0:
                continue
            s = st["summary"] or {}
            slow = sorted(h for h in st["hs"] if h >= 200000)
            slow_s = str(len(slow)) + (
                " (" + ", ".join(f"{h / 1000:.0f} ms" for h in slow[:5])
                + (", ..." if len(slow) > 5 else "") + ")" if slow else "")
            cells = [name, str(st["n"]), str(st["open"]),
                     str(s.get("failed", st["fails"])) if s else str(st["fails"]),
                     fmt(s.get("attempts_per_second"), 0),
                     fmt(s.get("elapsed_s"), 2), slow_s,
                     "n/a" if ovf is None else str(ovf),
                     ",".join(st["closed_with"]) or "n/a"]
        else:
            cells = [name, "", "", "", "", "", "", "", "FIN"]
        cells.append("n/a" if tw_n is None and tw_s is None else
                     f"{'n/a' if tw_n is None else tw_n} / {'n/a' if tw_s is None else tw_s}")
        lines.append("| " + " | ".join(cells) + " |")
        console.append("  " + " | ".join(cells))
    lines.append("")
    lines.append(
        "The nc and curl rows count how many TIME_WAIT sockets their runs "
        "added to the accept port (they close with FIN first); the count can "
        "be a little below the number of runs when a later loopback connect() "
        "recycled one (tcp_tw_reuse).\n")
    lines.append(
        "How TIME_WAIT is avoided: at `-i 0` nettool closes every probe "
        "connection with SO_LINGER 0 (a RST, `closed_with: rst` in each "
        "record), so no connection enters TIME_WAIT on either side and the "
        "ephemeral ports come back at once; the TIME_WAIT count above is "
        "taken right after the run on the server port (`nettool sockstat "
        "-tan --state time-wait --dport P --json`, cross-checked with `ss`). "
        "The `--graceful` run closes with FIN first, so the client side keeps "
        f"one TIME_WAIT per attempt for 60 s; {meta['sustained']} such attempts "
        f"to one destination would need more than the "
        f"{meta['port_span']} ports of ip_local_port_range (unless "
        "tcp_tw_reuse, which is set to "
        f"{meta['tw_reuse']} here, lets connect() recycle them; 2 = loopback only).\n")

    if sus is not None:
        s = sus["summary"] or {}
        aps = s.get("attempts_per_second")
        failed = s.get("failed", sus["fails"]) if s else sus["fails"]
        tw = read_int(os.path.join(d, "tw-sustained-nettool.txt"))
        ok = (aps is not None and aps >= 5000 and failed == 0
              and sus["n"] == meta["sustained"])
        slow = [h for h in sus["hs"] if h >= 200000]
        ovf = read_int(os.path.join(d, "overflow-sustained.txt"))
        targets.append((f"loopback: >= 5,000 attempts/s sustained over "
                        f"{meta['sustained']} attempts, 0 failures, no port exhaustion",
                        f"{fmt(aps, 0)} attempts/s, {failed} failed, "
                        f"{sus['n']} records, TIME_WAIT left: {tw}; "
                        f"{len(slow)} handshake(s) >= 200 ms, ListenOverflows +{ovf}",
                        "met" if ok else "NOT met"))
        if slow:
            lines.append(
                f"Note: {len(slow)} attempt(s) of the sustained run took >= 200 ms "
                "(a SYN retransmitted after the 1 s initial RTO). Each costs "
                "about 1 s of the run's elapsed time, so they, not the client, "
                "set the sustained attempts/s. The kernel's ListenOverflows "
                f"counter rose by {ovf} during the run: the SYN was dropped "
                "because the server's accept queue was full (`probe serve "
                "--behavior accept` spawns a thread per connection). The "
                "reference run against the inline rst server shows what the "
                "client sustains without that.\n")

    lines.append("## Targets\n")
    lines.append("| target | measured | result |")
    lines.append("|---|---|---|")
    console.append("--- Targets")
    for t in targets:
        lines.append(f"| {t[0]} | {t[1]} | {t[2]} |")
        console.append(f"  [{t[2]}] {t[0]}: {t[1]}")
    lines.append("")
    if meta.get("notes"):
        lines.append("## Notes\n")
        for n in meta["notes"]:
            lines.append(f"- {n}")
        lines.append("")
    with open(args.results, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(console))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="sub", required=True)
    sp = sub.add_parser("spawn")
    sp.add_argument("--runs", type=int, required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--timeout", type=float, default=5.0)
    sp.add_argument("--budget", type=float, default=120.0,
                    help="stop starting new runs after this many seconds")
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    rp = sub.add_parser("report")
    rp.add_argument("--dir", required=True)
    rp.add_argument("--meta", required=True)
    rp.add_argument("--results", required=True)
    a = ap.parse_args()
    if a.sub == "spawn":
        cmd_spawn(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
