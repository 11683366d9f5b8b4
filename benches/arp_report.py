#!/usr/bin/env python3
"""Report for benches/arp.sh: hyperfine timings + completeness of each sweep.

Reads the run's meta.json, hyperfine's JSON export, the lab's real
(IP, MAC) pairs (expected.tsv) and every completeness run's output
(comp/<key>.<run>.out/.rc), then writes a Markdown report to --results and
prints it to stdout.
"""

import argparse
import json
import re
import statistics
from pathlib import Path

ARPSCAN_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+)\t([0-9a-fA-F:]{17})\t")
ARPSCAN_END = re.compile(r"(\d+) hosts scanned in ([0-9.]+) seconds .*?(\d+) responded")


def parse_nettool(text):
    """(list of (ip, mac) answers, extra facts) from `nettool arp --json`."""
    v = json.loads(text)
    pairs = []
    for h in v["hosts"]:
        for mac in h.get("macs") or [h["mac"]]:
            pairs.append((h["ip"], mac.lower()))
    return pairs, {"sent": v.get("sent"), "elapsed_ms": v.get("elapsed_ms"),
                   "hosts": len(v["hosts"])}


def parse_arpscan(text):
    pairs = []
    facts = {}
    for line in text.splitlines():
        m = ARPSCAN_LINE.match(line)
        if m:
            pairs.append((m.group(1), m.group(2).lower()))
        m = ARPSCAN_END.search(line)
        if m:
            facts["elapsed_ms"] = float(m.group(2)) * 1000
    facts["hosts"] = len({ip for ip, _ in pairs})
    return pairs, facts


def completeness(key, comp_dir, expected):
    runs = []
    for out in sorted(comp_dir.glob(f"{key}.*.out"), key=lambda p: int(p.name.split(".")[1])):
        rc = int(out.with_suffix(".rc").read_text().strip() or "0")
        text = out.read_text()
        try:
            pairs, facts = (parse_nettool if key.startswith("nettool") else parse_arpscan)(text)
        except (ValueError, KeyError) as e:
            pairs, facts = [], {"error": f"unparsable output ({e}); rc={rc}"}
        got_ips = {ip for ip, _ in pairs}
        missing = sorted(set(expected) - got_ips, key=ip_key)
        wrong_mac = sorted({ip for ip, mac in pairs if ip in expected and mac != expected[ip]}, key=ip_key)
        extra = sorted(got_ips - set(expected), key=ip_key)
        dup_lines = len(pairs) - len(set(pairs))
        found = len(got_ips & set(expected))
        exact = not missing and not wrong_mac and not extra and dup_lines == 0 and len(pairs) == len(expected)
        runs.append(dict(rc=rc, found=found, missing=missing, wrong_mac=wrong_mac, extra=extra,
                         dup_lines=dup_lines, exact=exact, **facts))
    return runs


def ip_key(ip):
    return tuple(int(x) for x in ip.split("."))


def fmt_list(ips, limit=8):
    s = ", ".join(ips[:limit])
    return s + (f" (+{len(ips) - limit} more)" if len(ips) > limit else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--hyperfine", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--comp-dir", required=True)
    ap.add_argument("--results", required=True)
    a = ap.parse_args()

    meta = json.loads(Path(a.meta).read_text())
    hf = json.loads(Path(a.hyperfine).read_text())["results"]
    expected = {}
    for line in Path(a.expected).read_text().splitlines():
        ip, mac = line.split("\t")
        expected[ip] = mac.lower()
    n = len(expected)
    comp_dir = Path(a.comp_dir)

    rows = {}
    for name, key, cmd, res in zip(meta["names"], meta["keys"], meta["commands"], hf):
        times = [t * 1000 for t in res["times"]]
        codes = res.get("exit_codes") or []
        comp = completeness(key, comp_dir, expected)
        rows[key] = dict(
            name=name, cmd=cmd, median=statistics.median(times),
            mean=statistics.mean(times), sd=statistics.stdev(times) if len(times) > 1 else 0.0,
            tmin=min(times), tmax=max(times), runs=len(times),
            bad_codes=[c for c in codes if c != 0], comp=comp,
            fmin=min((c["found"] for c in comp), default=0),
            fmax=max((c["found"] for c in comp), default=0),
            complete=bool(comp) and all(c["exact"] for c in comp),
        )

    def short(cmd):
        cmd = cmd.replace(meta["bin"], "nettool").replace(meta["root"] + "/", "")
        cmd = re.sub(r"^/\S*/arp-scan", "arp-scan", cmd)
        return cmd.replace(meta["client_if"], "IF")

    ratio_def = rows["arpscan-default"]["median"] / rows["nettool-default"]["median"]
    ratio_fast = rows["arpscan-aggressive"]["median"] / rows["nettool-fastest"]["median"]
    ok_def = ratio_def >= 2 and rows["nettool-default"]["complete"]
    ok_fast = ratio_fast >= 1 and rows["nettool-fastest"]["complete"]

    L = []
    L.append("# nettool arp sweep vs arp-scan")
    L.append("")
    L.append(f"- Date: {meta['date']}")
    L.append(f"- Machine: {meta['nproc']} CPUs ({meta['cpu'] or 'unknown CPU'}), kernel {meta['kernel']}")
    L.append(f"- Tools: {meta['arpscan_version']}; {meta['nettool_version']} (release build); {meta['hyperfine_version']}")
    L.append(f"- Load average (1/5/15 min) before the measurements: {meta.get('load_before', '?')}, after: {meta.get('load_after', '?')}")
    try:
        busy = float(meta["load_before"].split()[0]) > 0.5 * int(meta["nproc"]) or \
            float(meta["load_after"].split()[0]) > 0.5 * int(meta["nproc"])
    except (KeyError, ValueError, IndexError):
        busy = False
    if busy:
        L.append("  - **Warning: the machine was busy with other work during this run; "
                 "the timings (paced sends and timeouts of both tools) are stretched and noisier than on an idle machine.**")
    L.append(f"- Lab: {n} hosts (198.51.100.11-{10 + n}) + client 198.51.100.1 on one Linux bridge, "
             "each in its own network namespace (veth pairs); sweep of 198.51.100.0/24 (253 targets) "
             "from inside the client namespace.")
    L.append(f"- Timing: one hyperfine invocation, `-N --warmup {meta['warmup']} --runs {meta['runs']}`, output discarded. "
             f"Completeness: each command run {meta['comp_runs']} more times on its own, answers compared with the "
             "hosts' real (IP, MAC) pairs from `ip link`.")
    L.append("- Produced by `bash benches/arp.sh`" + (f" (raw data: `{Path(meta['out']).relative_to(meta['root'])}`)" if meta['out'].startswith(meta['root']) else ""))
    L.append("")
    L.append("| command | median ms | mean ± sd ms | min–max ms | found (min/max of %d) | every run exact |" % n)
    L.append("|---|---:|---:|---:|---:|:---:|")
    for key in meta["keys"]:
        r = rows[key]
        L.append(f"| `{short(r['cmd'])}` | {r['median']:.1f} | {r['mean']:.1f} ± {r['sd']:.1f} | "
                 f"{r['tmin']:.1f}–{r['tmax']:.1f} | {r['fmin']}/{r['fmax']} | {'yes' if r['complete'] else 'NO'} |")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append(f"- arp-scan default median / nettool default median = "
             f"{rows['arpscan-default']['median']:.1f} / {rows['nettool-default']['median']:.1f} = "
             f"**{ratio_def:.2f}** (target >= 2, and every host found): **{'met' if ok_def else 'not met'}**")
    L.append(f"- arp-scan aggressive median / nettool fastest median = "
             f"{rows['arpscan-aggressive']['median']:.1f} / {rows['nettool-fastest']['median']:.1f} = "
             f"**{ratio_fast:.2f}** (target >= 1, and every host found): **{'met' if ok_fast else 'not met'}**")
    L.append(f"- nettool fastest setting used: `{meta['fast_args']}`")
    if "nettool-noretry" in rows and "arpscan-aggressive-bare" in rows:
        bare = rows["arpscan-aggressive-bare"]["median"]
        L.append("")
        L.append("Informational (`--extra`, not part of the targets): arp-scan parses its vendor database "
                 "(~35k lines) before it sends anything, and `--retry=1` means one attempt per address, "
                 "while nettool's `--retries 1` means two rounds.")
        L.append("")
        L.append(f"- arp-scan aggressive without vendor files / nettool fastest = {bare:.1f} / "
                 f"{rows['nettool-fastest']['median']:.1f} = **{bare / rows['nettool-fastest']['median']:.2f}**")
        L.append(f"- arp-scan aggressive without vendor files / nettool no retry = {bare:.1f} / "
                 f"{rows['nettool-noretry']['median']:.1f} = **{bare / rows['nettool-noretry']['median']:.2f}**")
        L.append(f"- arp-scan aggressive / nettool no retry = {rows['arpscan-aggressive']['median']:.1f} / "
                 f"{rows['nettool-noretry']['median']:.1f} = "
                 f"**{rows['arpscan-aggressive']['median'] / rows['nettool-noretry']['median']:.2f}**")
    L.append("")
    L.append("## Details")
    L.append("")
    for key in meta["keys"]:
        r = rows[key]
        bits = []
        inner = [c.get("elapsed_ms") for c in r["comp"] if c.get("elapsed_ms") is not None]
        if inner:
            what = ("nettool's own elapsed_ms (sweep only)" if key.startswith("nettool")
                    else "arp-scan's own 'scanned in' time"
                    + ("" if key.endswith("-bare") else " (includes parsing its vendor files)"))
            bits.append(f"{what}: median {statistics.median(inner):.1f} ms")
        sent = [c.get("sent") for c in r["comp"] if c.get("sent") is not None]
        if sent:
            bits.append(f"requests sent {min(sent)}–{max(sent)}")
        if r["bad_codes"]:
            bits.append(f"{len(r['bad_codes'])} timed run(s) exited non-zero ({sorted(set(r['bad_codes']))})")
        rcs = sorted({c["rc"] for c in r["comp"]})
        if rcs != [0]:
            bits.append(f"completeness exit codes {rcs}")
        for i, c in enumerate(r["comp"], 1):
            probs = []
            if c.get("error"):
                probs.append(c["error"])
            if c["missing"]:
                probs.append(f"missed {fmt_list(c['missing'])}")
            if c["wrong_mac"]:
                probs.append(f"wrong MAC for {fmt_list(c['wrong_mac'])}")
            if c["extra"]:
                probs.append(f"unexpected {fmt_list(c['extra'])}")
            if c["dup_lines"]:
                probs.append(f"{c['dup_lines']} duplicate answer line(s)")
            if probs:
                bits.append(f"run {i}: " + "; ".join(probs))
        L.append(f"- {r['name']}: " + ("; ".join(bits) if bits else "no remarks"))
    text = "\n".join(L) + "\n"
    Path(a.results).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
