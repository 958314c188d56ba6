#!/usr/bin/env python3
"""What a test run took, from nextest's JUnit report (`.ci/test --timings`):
the 20 slowest tests, then each test binary's tests, their summed time and
the wall-clock span from its first test's start to its last test's end,
then the same for each test group given as NAME=FILE, FILE listing the
group's tests one a line as `cargo nextest list --message-format oneline`
prints them (binary, then test). With `--cpu FILE` (lines of
.ci/cpu-runner: CPU seconds, binary, test), also the 20 tests that cost the
most CPU, and each binary's and group's CPU: on a machine whose cores are
all busy, the CPU, not the clock, is what a test costs the run.

    python3 .ci/timings.py target/nextest/ci/junit.xml [--cpu FILE] [NAME=FILE ...]
"""

import sys
import xml.etree.ElementTree as ET
from datetime import datetime


def when(stamp):
    """A JUnit timestamp (RFC 3339) as seconds since the epoch."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def summary(label, own, cpu):
    """One line: how many tests, their summed time, their wall-clock span,
    and their CPU if it was counted."""
    total = sum(t[0] for t in own)
    starts = [t[3] for t in own if t[3] is not None]
    ends = [t[3] + t[0] for t in own if t[3] is not None]
    span = f"{max(ends) - min(starts):7.1f} s" if starts else "      ?"
    used = f"  {sum(cpu.get((t[1], t[2]), 0) for t in own):8.1f} s" if cpu else ""
    print(f"  {label:24} {len(own):4}  {total:8.1f} s  {span}{used}")


def main(path, groups, cpu_path=None):
    tests = []  # (seconds, binary, name, start)
    for suite in ET.parse(path).getroot().iter("testsuite"):
        binary = suite.get("name", "?")
        for case in suite.iter("testcase"):
            stamp = case.get("timestamp")
            tests.append((float(case.get("time", 0)), binary, case.get("name", "?"), when(stamp) if stamp else None))
    if not tests:
        print("timings: no tests in", path)
        return
    cpu = {}  # (nextest's binary name, test): CPU seconds
    if cpu_path:
        binaries = {t[1].split("::")[-1]: t[1] for t in tests}
        with open(cpu_path) as f:
            for line in f:
                seconds, binary, name = line.rstrip("\n").split(" ", 2)
                key = (binaries.get(binary, binary), name)
                cpu[key] = cpu.get(key, 0) + float(seconds)  # a retried test, twice
    print("The 20 slowest tests:")
    for seconds, binary, name, _ in sorted(tests, reverse=True)[:20]:
        print(f"  {seconds:7.1f} s  {binary} {name}")
    if cpu:
        print("The 20 tests that cost the most CPU (every process each started):")
        for (binary, name), seconds in sorted(cpu.items(), key=lambda kv: -kv[1])[:20]:
            print(f"  {seconds:7.1f} s  {binary} {name}")
    columns = "tests, summed time, wall-clock span" + (", CPU" if cpu else "")
    print(f"By test binary ({columns}):")
    for binary in sorted({t[1] for t in tests}):
        summary(binary, [t for t in tests if t[1] == binary], cpu)
    summary("all", tests, cpu)
    if groups:
        print(f"By test group (.config/nextest.toml; {columns}):")
    for group in groups:
        name, listing = group.split("=", 1)
        with open(listing) as f:
            members = {tuple(line.split(None, 1)) for line in f.read().splitlines() if line.strip()}
        summary(name, [t for t in tests if (t[1], t[2]) in members], cpu)


if __name__ == "__main__":
    args = sys.argv[1:]
    cpu_path = None
    if "--cpu" in args:
        at = args.index("--cpu")
        cpu_path = args[at + 1]
        del args[at : at + 2]
    main(args[0] if args else "target/nextest/ci/junit.xml", args[1:], cpu_path)
