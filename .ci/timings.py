#!/usr/bin/env python3
"""What a test run took, from nextest's JUnit report (`.ci/test --timings`):
the 20 slowest tests, then each test binary's tests, their summed time and
the wall-clock span from its first test's start to its last test's end,
then the same for each test group given as NAME=FILE, FILE listing the
group's tests one a line as `cargo nextest list --message-format oneline`
prints them (binary, then test).

    python3 .ci/timings.py target/nextest/ci/junit.xml [NAME=FILE ...]
"""

import sys
import xml.etree.ElementTree as ET
from datetime import datetime


def when(stamp):
    """A JUnit timestamp (RFC 3339) as seconds since the epoch."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def summary(label, own):
    """One line: how many tests, their summed time, their wall-clock span."""
    total = sum(t[0] for t in own)
    starts = [t[3] for t in own if t[3] is not None]
    ends = [t[3] + t[0] for t in own if t[3] is not None]
    span = f"{max(ends) - min(starts):7.1f} s" if starts else "      ?"
    print(f"  {label:24} {len(own):4}  {total:8.1f} s  {span}")


def main(path, groups):
    tests = []  # (seconds, binary, name, start)
    for suite in ET.parse(path).getroot().iter("testsuite"):
        binary = suite.get("name", "?")
        for case in suite.iter("testcase"):
            stamp = case.get("timestamp")
            tests.append((float(case.get("time", 0)), binary, case.get("name", "?"), when(stamp) if stamp else None))
    if not tests:
        print("timings: no tests in", path)
        return
    print("The 20 slowest tests:")
    for seconds, binary, name, _ in sorted(tests, reverse=True)[:20]:
        print(f"  {seconds:7.1f} s  {binary} {name}")
    print("By test binary (tests, summed time, wall-clock span):")
    binaries = sorted({t[1] for t in tests})
    for binary in binaries:
        summary(binary, [t for t in tests if t[1] == binary])
    summary("all", tests)
    if groups:
        print("By test group (.config/nextest.toml; tests, summed time, wall-clock span):")
    for group in groups:
        name, listing = group.split("=", 1)
        with open(listing) as f:
            members = {tuple(line.split(None, 1)) for line in f.read().splitlines() if line.strip()}
        summary(name, [t for t in tests if (t[1], t[2]) in members])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/nextest/ci/junit.xml", sys.argv[2:])
