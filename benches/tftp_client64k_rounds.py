#!/usr/bin/env python3
"""Interleaved rounds for a noisy machine: each round runs every command once
(round r before round r+1), so load that comes and goes hits every client
alike; hyperfine runs all of one command's runs before the next command's.

Usage: tftp_client64k_rounds.py ROUNDS MIB OUTPUT NAME=COMMAND...
OUTPUT is removed before each run; each command is split with shlex.
Prints per command: median and min wall ms (spawn to reap), median user+sys
CPU ms per MiB (from wait4's rusage).
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def main():
    rounds, mib, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cmds = [a.split("=", 1) for a in sys.argv[4:]]
    wall = {n: [] for n, _ in cmds}
    cpu = {n: [] for n, _ in cmds}
    for _ in range(rounds):
        for name, cmd in cmds:
            try:
                os.remove(output)
            except FileNotFoundError:
                pass
            t0 = time.perf_counter()
            p = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.perf_counter()
            if status != 0:
                sys.exit(f"{name} failed: {cmd}")
            wall[name].append((t1 - t0) * 1e3)
            cpu[name].append((ru.ru_utime + ru.ru_stime) * 1e3 / mib)
    print("| client | median ms | min ms | CPU ms/MiB (median user+sys) |")
    print("|---|---:|---:|---:|")
    for name, _ in cmds:
        print(f"| {name} | {statistics.median(wall[name]):.1f} | {min(wall[name]):.1f} "
              f"| {statistics.median(cpu[name]):.3f} |")


if __name__ == "__main__":
    main()
