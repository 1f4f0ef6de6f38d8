#!/usr/bin/env python3
"""Markdown summary of bench/gateway/run.sh results: medians over rounds, ratios to nginx, and
the targets of issue #7 checked for the one-core non-streaming path through `smmf serve`."""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

out = Path(sys.argv[1])
rows = list(csv.DictReader(open(out / "results.tsv"), delimiter="\t"))
agg = defaultdict(lambda: defaultdict(list))
for r in rows:
    k = (r["target"], r["mode"], int(r["c"]))
    for f in ("rps", "p50_us", "p99_us", "rss_kb", "errors", "status_errors", "cpu_us_per_req"):
        agg[k][f].append(float(r[f]))
med = {k: {f: statistics.median(v) for f, v in d.items()} for k, d in agg.items()}
targets = [t for t in ("upstream", "nginx", "smmf", "cluster") if any(k[0] == t for k in med)]
modes = [m for m in ("json", "stream") if any(k[1] == m for k in med)]
conc = sorted({k[2] for k in med})
rounds = len({r["round"] for r in rows})
loads = [float(r["load"]) for r in rows]

print("| mode | c | target | req/s | ×nginx | p50 ms | p99 ms | added p50 ×nginx | p99 ×nginx | "
      "CPU µs/req | nginx÷CPU | RSS MB | errors |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for m in modes:
    for c in conc:
        ng = med.get(("nginx", m, c))
        up = med.get(("upstream", m, c))
        for t in targets:
            v = med.get((t, m, c))
            if not v:
                continue
            x_rps = x_p99 = x_add = x_cpu = ""
            if ng and t != "upstream":
                x_rps = f"{v['rps'] / ng['rps']:.2f}"
                x_p99 = f"{v['p99_us'] / ng['p99_us']:.2f}"
                if v["cpu_us_per_req"] > 0:
                    x_cpu = f"{ng['cpu_us_per_req'] / v['cpu_us_per_req']:.2f}"
                if up and ng["p50_us"] > up["p50_us"]:
                    x_add = f"{(v['p50_us'] - up['p50_us']) / (ng['p50_us'] - up['p50_us']):.2f}"
            err = int(v["errors"] + v["status_errors"])
            print(f"| {m} | {c} | {t} | {v['rps']:.0f} | {x_rps} | {v['p50_us'] / 1000:.2f} | "
                  f"{v['p99_us'] / 1000:.2f} | {x_add} | {x_p99} | {v['cpu_us_per_req']:.0f} | {x_cpu} | "
                  f"{v['rss_kb'] / 1024:.1f} | {err} |")
print()
print(f"{rounds} round(s); load average during the runs {min(loads):.2f}-{max(loads):.2f} "
      "(2 cores; >1 means other work shared the machine).")
print()


def ratio(t, m, c, f):
    a, b = med.get((t, m, c)), med.get(("nginx", m, c))
    return a[f] / b[f] if a and b else None


checks = []
for c in (16, 128):
    r = ratio("smmf", "json", c, "rps")
    if r is not None:
        checks.append((f"non-streaming req/s at c={c} ≥ 0.6× nginx", r, r >= 0.6))
    a, b = med.get(("smmf", "json", c)), med.get(("nginx", "json", c))
    if a and b and a["cpu_us_per_req"] > 0:
        r = b["cpu_us_per_req"] / a["cpu_us_per_req"]
        checks.append((f"non-streaming CPU per request at c={c}: nginx's ÷ smmf's (req/s on a "
                       "whole core) ≥ 0.6", r, r >= 0.6))
s, n, u = (med.get((t, "json", 1)) for t in ("smmf", "nginx", "upstream"))
if s and n and u and n["p50_us"] > u["p50_us"]:
    r = (s["p50_us"] - u["p50_us"]) / (n["p50_us"] - u["p50_us"])
    checks.append(("added p50 latency at c=1 ≤ 1.5× nginx's", r, r <= 1.5))
r = ratio("smmf", "json", 128, "p99_us")
if r is not None:
    checks.append(("p99 at c=128 ≤ 2× nginx's", r, r <= 2.0))
for c in conc:
    r = ratio("smmf", "stream", c, "rps")
    if r is not None:
        checks.append((f"streaming req/s at c={c} ≥ 0.5× nginx", r, r >= 0.5))
if checks:
    print("| target (smmf serve, one core) | measured | |")
    print("| --- | ---: | --- |")
    for name, r, ok in checks:
        print(f"| {name} | {r:.2f}× | {'met' if ok else '**missed**'} |")
    print()

st = out / "startup.tsv"
if st.exists():
    by = defaultdict(list)
    for r in csv.DictReader(open(st), delimiter="\t"):
        by[r["what"]].append((float(r["ready_ms"]), float(r["idle_rss_kb"])))
    print("| process | start-to-ready ms (median) | idle RSS MB |")
    print("| --- | ---: | ---: |")
    for w, v in by.items():
        print(f"| {w} | {statistics.median(x[0] for x in v):.0f} | "
              f"{statistics.median(x[1] for x in v) / 1024:.1f} |")
    print()

op = out / "open_streams.tsv"
if op.exists():
    for r in csv.DictReader(open(op), delimiter="\t"):
        n = int(r["streams_open"])
        d = (float(r["rss_open_kb"]) - float(r["rss_before_kb"])) / max(n, 1)
        print(f"Open streams: {n} of {r['streams_asked']} asked held open ({r['failed']} failed; "
              f"fd limit {r['fd_limit']}); smmf RSS {float(r['rss_before_kb']) / 1024:.1f} MB -> "
              f"{float(r['rss_open_kb']) / 1024:.1f} MB ({d:.1f} kB per stream, "
              f"{(float(r['rss_before_kb']) + d * 10000) / 1024:.0f} MB at 10,000); a non-streaming "
              f"call meanwhile: p50 {r['side_p50_ms_open']} ms, max {r['side_max_ms_open']} ms "
              f"(before: {r['side_p50_ms_before']} / {r['side_max_ms_before']} ms).")
