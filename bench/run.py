#!/usr/bin/env python3
"""bench/run.py -- should I switch to goheap? Numbers from this machine.

    python3 bench/run.py            # `make bench`: about 15 minutes on 2 cores
    python3 bench/run.py --quick    # `make bench-quick`: about 2 minutes

Runs every workload (bench/workloads/, each documented in its header
comment) under goheap and under each peer allocator, interleaved
(round 1: every workload x every allocator, A B C ...; round 2: the same;
...), so drift in the machine's speed hits everyone alike, then writes

    bench/results/YYYY-MM-DD.md    the report (…-quick.md for --quick)
    bench/results/YYYY-MM-DD.svg   the chart (gnuplot)
    bench/results/YYYY-MM-DD.json  every run's raw numbers

Allocators: goheap (LD_PRELOAD of $GOHEAP_LIB, default build/libgoheap.so),
glibc (no preload), mimalloc (libmimalloc2.0), jemalloc (libjemalloc2),
tcmalloc (libgoogle-perftools4; the minimal library libtcmalloc_minimal.so.4).
Missing peers are installed from Debian with apt-get (unless --no-install);
a peer that still cannot be found is reported as "not installed".

A run that exits non-zero, dies on a signal, runs past the time limit, or
prints a result different from the other allocators' is a failure; a
workload with any failed run under an allocator is shown as FAILED for that
allocator in the report -- never dropped.

Times are wall-clock seconds of the whole process (start to exit, via
wait4); peak RSS is the child's ru_maxrss from the same wait4.
Callgrind counts: bench/callgrind/*.c, see the table's notes in the report.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WDIR = BENCH / "workloads"
CGDIR = BENCH / "callgrind"
BUILD = ROOT / "build" / "bench"
RESULTS = BENCH / "results"

APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]

# ---------------------------------------------------------------- allocators
# name, Debian package, library file names searched for (None: no preload).
PEERS = [
    ("glibc", None, None),
    ("mimalloc", "libmimalloc2.0", ["libmimalloc.so.2"]),
    ("jemalloc", "libjemalloc2", ["libjemalloc.so.2"]),
    ("tcmalloc", "libgoogle-perftools4", ["libtcmalloc_minimal.so.4"]),
]
TOOLS = [("gnuplot", "gnuplot-nox"), ("valgrind", "valgrind"), ("sqlite3", "sqlite3")]
LIBDIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
           "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu"]

# ----------------------------------------------------------------- workloads
# Each manual workload: name, what runs, and its parameters for the full and
# the quick run. {T} is the thread count (--threads, default: the number of
# CPUs). Sizes are chosen so that under glibc one run takes about 1.5-2 s
# (full) or 0.1-0.2 s (quick) on a 2-core machine; see bench/README.md.
#
# kind "c": bench/workloads/<src>.c built into build/bench/<src>.
# kind "sqlite"/"python": a real program, see the script's header.
MANUAL_WORKLOADS = [
    # name              kind      src              full args                        quick args
    ("larson",          "c",      "larson",        "{T} 30 700000 1000 8 1000",     "{T} 10 200000 1000 8 1000"),
    ("xmalloc-test",    "c",      "xmalloc-test",  "{T/2} {T/2} 32000000 64 256",   "{T/2} {T/2} 3000000 64 256"),
    ("cache-scratch",   "c",      "cache-scratch", "{T} 1000 8 300000",             "{T} 400 8 80000"),
    ("cache-thrash",    "c",      "cache-thrash",  "{T} 1000 8 300000",             "{T} 400 8 80000"),
    ("alloc-test",      "c",      "alloc-test",    "{T} 30000000 10000",            "{T} 3000000 10000"),
    ("sh6bench",        "c",      "sh6bench",      "{T} 10000 2000 1000",           "{T} 1000 2000 1000"),
    ("compiler",        "c",      "compiler",      "2400 200 7 4 512",              "240 200 7 4 512"),
    ("realloc-growth",  "c",      "realloc-growth", "64 25000000 262144",           "64 2500000 262144"),
    ("malloc-large",    "c",      "malloc-large",  "5000 8 64 16384",               "500 8 64 16384"),
    ("thread-churn",    "c",      "thread-churn",  "10000 {T*2} 500",               "1000 {T*2} 500"),
    ("sqlite3",         "sqlite", "sqlite-workload.sql", "300000",                  "50000"),
    ("python",          "python", "python-workload.py",  "1800",                    "180"),
]
# Collected-memory (GC) workloads come with the collector issue. They will
# be programs linked against build/libgoheap.a that use gh_alloc & co., so
# they have no peers to compare with except as noted there; add them to
# this list with kind "collected" and a runner for that kind below, and they
# get their own section in the report (see write_report: "Collected memory").
COLLECTED_WORKLOADS = []

CALLGRIND_N = {"full": (20000, 220000), "quick": (10000, 60000)}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    """Run a command for its output; '' if it fails."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw).stdout.strip()
    except Exception:
        return ""


# ------------------------------------------------------------------- install
def find_lib(names):
    for d in LIBDIRS:
        for n in names:
            p = Path(d) / n
            if p.exists():
                return str(p)
    return None


def ensure_installed(want_peers, no_install):
    """apt-get install whatever peer or tool is missing (never vendored)."""
    missing = []
    for name, pkg, libs in PEERS:
        if name in want_peers and libs and not find_lib(libs):
            missing.append(pkg)
    for tool, pkg in TOOLS:
        if not shutil.which(tool):
            missing.append(pkg)
    if not Path("/usr/include/valgrind/callgrind.h").exists() and "valgrind" not in missing:
        missing.append("valgrind")
    if not missing:
        return
    if no_install or not shutil.which("apt-get"):
        log(f"bench: missing packages, not installing: {' '.join(missing)}")
        return
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        log(f"bench: missing packages and not root: {' '.join(missing)}")
        return
    log(f"bench: installing {' '.join(missing)} (apt-get)")
    cmd = prefix + APT + ["install", "-y", "--no-install-recommends"] + missing
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(prefix + APT + ["update"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------- build
def cc():
    return os.environ.get("CC", "cc")


def build_one(src, out, extra=()):
    deps = [src, WDIR / "bench.h"] + [Path(x) for x in extra if x.endswith(".a")]
    if out.exists() and all(out.stat().st_mtime >= d.stat().st_mtime for d in deps if d.exists()):
        return True
    cmd = [cc(), "-O2", "-g", "-Wall", "-pthread", "-o", str(out), str(src), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"bench: build failed: {' '.join(cmd)}\n{r.stderr}")
        return False
    return True


def build_all():
    BUILD.mkdir(parents=True, exist_ok=True)
    ok = build_one(BENCH / "runner.c", BUILD / "runner")
    if not ok:
        sys.exit("bench: cannot build bench/runner.c")
    for src in sorted(WDIR.glob("*.c")):
        ok &= build_one(src, BUILD / src.stem)
    if Path("/usr/include/valgrind/callgrind.h").exists():
        for src in sorted(CGDIR.glob("*.c")):
            ok &= build_one(src, BUILD / src.stem)
    return ok


# ----------------------------------------------------------------------- run
def expand(args, threads):
    def sub(m):
        e = m.group(1)
        return str(max(1, int(eval(e.replace("T", str(threads)), {"__builtins__": {}}))))
    return re.sub(r"\{([^}]*)\}", sub, args).split()


def workload_cmd(w, mode, threads):
    name, kind, src, full, quick = w
    args = expand(full if mode == "full" else quick, threads)
    if kind == "c":
        return [str(BUILD / src)] + args, None, {}
    if kind == "sqlite":
        return ([shutil.which("sqlite3") or "sqlite3", "-bail", "-cmd", f".parameter set @n {args[0]}",
                 ":memory:"], str(WDIR / src), {})
    if kind == "python":
        return ([python_exe(), "-I", "-S", str(WDIR / src)] + args, None,
                {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"})
    raise ValueError(kind)


def python_exe():
    # Debian's interpreter if there is one (reproducible), else ours.
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def run_once(cmd, stdin_path, env_extra, lib, timeout):
    """One run through build/bench/runner: (status, secs, maxrss_kib, result, note)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the runner sets it for the workload only
    env.update(env_extra)
    with tempfile.TemporaryDirectory() as d:
        resf = os.path.join(d, "res")
        with open(os.path.join(d, "out"), "w+b") as out, open(os.path.join(d, "err"), "w+b") as err:
            stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
            try:
                p = subprocess.Popen([str(BUILD / "runner"), resf, lib or "-"] + cmd, stdin=stdin,
                                     stdout=out, stderr=err, env=env, start_new_session=True,
                                     cwd=str(BUILD))
            except OSError as e:
                return "fail", None, None, "", f"cannot start: {e}"
            try:
                p.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                p.terminate()  # the runner kills the workload and reaps it
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)  # the runner and the workload
                    except OSError:
                        pass
                    p.wait()
            if stdin_path:
                stdin.close()
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        res = {}
        if os.path.exists(resf):
            for kv in open(resf).read().split():
                k, v = kv.split("=", 1)
                res[k] = float(v)
    lines = [l for l in stderr.splitlines() if l.strip()]
    last_err = lines[-1][:200] if lines else ""
    if timed_out:
        return "timeout", None, None, "", f"killed after {timeout:g} s"
    if p.returncode != 0 or "status" not in res:
        return "fail", None, None, "", f"runner failed (exit {p.returncode}): {last_err}"
    secs, rss, ws = res["secs"], int(res["maxrss_kib"]), int(res["status"])
    rc = os.waitstatus_to_exitcode(ws)
    if rc != 0:
        why = f"signal {-rc} ({signal.Signals(-rc).name})" if rc < 0 else f"exit {rc}"
        wrongs = [l for l in lines if l.startswith("WRONG")]
        if wrongs:
            return "wrong", secs, rss, "", f"{why}: {wrongs[0][:200]}"
        return "fail", secs, rss, "", f"{why}: {last_err}" if last_err else why
    if "BAD" in stdout:
        return "wrong", secs, rss, "", "a check printed BAD"
    res_lines = [l for l in stdout.splitlines() if l.startswith("result:")]
    result = res_lines[-1] if res_lines else stdout.strip()
    if not result:
        return "wrong", secs, rss, "", "no result printed"
    return "ok", secs, rss, result, ""


# ----------------------------------------------------------------- callgrind
def callgrind_count(prog_args, lib, extra_env=None):
    """Instructions counted between the program's CALLGRIND toggles."""
    with tempfile.TemporaryDirectory() as d:
        outf = os.path.join(d, "cg.out")
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if lib:
            env["LD_PRELOAD"] = lib
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
               f"--callgrind-out-file={outf}"] + prog_args
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=str(BUILD))
        except subprocess.TimeoutExpired:
            return None, "valgrind timed out"
        if r.returncode != 0:
            tail = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("==")]
            return None, f"exit {r.returncode}: {(tail[-1] if tail else r.stderr.strip()[-200:])[:200]}"
        total = 0
        for name in os.listdir(d):  # one file per thread if --separate-threads
            with open(os.path.join(d, name)) as f:
                for line in f:
                    if line.startswith("totals:") or line.startswith("summary:"):
                        total += int(line.split()[1])
                        break
        return total, ""


def run_callgrind(allocs, mode):
    n1, n2 = CALLGRIND_N[mode]
    rows = {}
    if not shutil.which("valgrind") or not (BUILD / "cg-malloc-free").exists():
        return {"error": "valgrind (or valgrind/callgrind.h) is not installed"}
    tests = [("pair", ["cg-malloc-free", "pair"]), ("batch", ["cg-malloc-free", "batch"]),
             ("remote", ["cg-remote-free"])]
    def measure(a, static_suffix=""):
        row = {}
        lib = None if static_suffix else a["lib"]
        for key, args in tests:
            prog = [str(BUILD / (args[0] + static_suffix))] + args[1:]
            c1, e1 = callgrind_count(prog + [str(n1)], lib)
            c2, e2 = (None, "") if c1 is None else callgrind_count(prog + [str(n2)], lib)
            if c1 is None or c2 is None:
                row[key] = {"error": e1 or e2}
            else:
                row[key] = {"ir": (c2 - c1) / (n2 - n1), "ir_n1": c1, "ir_n2": c2}
        return row

    for a in allocs:
        row = measure(a)
        if a["name"] == "goheap" and any("error" in v for v in row.values()):
            # Preloading under valgrind failed: try the static library instead.
            static = Path(a["lib"]).with_suffix(".a")
            if static.exists() and all(
                    build_one(CGDIR / f"{t}.c", BUILD / f"{t}-goheap-static", [str(static), "-ldl", "-lm"])
                    for t in ("cg-malloc-free", "cg-remote-free")):
                row2 = measure(a, "-goheap-static")
                if not any("error" in v for v in row2.values()):
                    row = row2
                    row["note"] = f"linked statically with {static.name} (the preload failed under valgrind)"
                else:
                    row["note"] = "the static library failed under valgrind too"
        rows[a["name"]] = row
        log(f"bench: callgrind {a['name']}: " + ", ".join(
            f"{k}={v['ir']:.1f}" if "ir" in v else f"{k}=FAILED ({v.get('error')})"
            for k, v in row.items() if k != "note"))
    return {"n1": n1, "n2": n2, "rows": rows}


# ------------------------------------------------------------- machine info
def machine_info():
    info = {}
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = cpu or platform.processor()
    info["cpus"] = os.cpu_count()
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except OSError:
        pass
    info["kernel"] = platform.release()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["glibc"] = " ".join(platform.libc_ver())
    info["cc"] = sh([cc(), "--version"]).splitlines()[0] if sh([cc(), "--version"]) else "?"
    info["load_before"] = " ".join(open("/proc/loadavg").read().split()[:3]) if Path("/proc/loadavg").exists() else ""
    return info


def pkg_version(pkg):
    return sh(["dpkg-query", "-W", "-f", "${Version}", pkg]) or "?"


def goheap_version():
    v = "?"
    try:
        h = (ROOT / "include" / "goheap.h").read_text()
        parts = [re.search(rf"GOHEAP_VERSION_{k}\s+(\d+)", h).group(1) for k in ("MAJOR", "MINOR", "PATCH")]
        v = ".".join(parts)
    except Exception:
        pass
    rev = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "include"])
    return f"{v} (git {rev or 'no commit'}{', modified' if dirty else ''})"


# ------------------------------------------------------------------- report
def fmt_t(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def fmt_mib(kib):
    return f"{kib / 1024:.1f}"


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(data, workloads, allocs):
    """Per (workload, allocator): status, median/min/max time, peak RSS."""
    cells = {}
    for w in workloads:
        runs_w = [r for r in data["runs"] if r["workload"] == w]
        # the reference answer: glibc's if it has one, else the most common
        ok_results = [r["result"] for r in runs_w if r["status"] == "ok"]
        ref = None
        glibc_res = [r["result"] for r in runs_w if r["status"] == "ok" and r["alloc"] == "glibc"]
        if glibc_res:
            ref = max(set(glibc_res), key=glibc_res.count)
        elif ok_results:
            ref = max(set(ok_results), key=ok_results.count)
        for r in runs_w:
            if r["status"] == "ok" and r["result"] != ref:
                r["status"] = "wrong"
                r["note"] = f"result differs: {r['result'][:60]!r}, others: {ref[:60]!r}"
        for a in allocs:
            rs = [r for r in runs_w if r["alloc"] == a]
            if not rs:
                continue
            bad = [r for r in rs if r["status"] != "ok"]
            ts = sorted(r["secs"] for r in rs if r["status"] == "ok")
            rss = [r["maxrss_kib"] for r in rs if r["status"] == "ok"]
            c = {"runs": len(rs), "failed": len(bad)}
            if bad:
                c["status"] = bad[0]["status"]
                c["note"] = bad[0]["note"]
            else:
                c["status"] = "ok"
            if ts:
                c["median"] = statistics.median(ts)
                c["min"], c["max"] = ts[0], ts[-1]
                c["rss_kib"] = max(rss)
            cells[(w, a)] = c
    return cells


def write_chart(base, workloads, peers, baseline, cells):
    """SVG with time ratios (top) and RSS ratios (bottom), one bar per peer."""
    if not shutil.which("gnuplot") or not peers:
        return "gnuplot is not installed" if peers else "no peers"
    dat = base.with_suffix(".dat")
    lines = ["# workload " + " ".join(f"t_{p} r_{p}" for p in peers)]
    tics = []
    ok_any = False
    for i, w in enumerate(workloads):
        b = cells.get((w, baseline), {})
        row = [w]
        failed = [a for a in [baseline] + peers if cells.get((w, a), {}).get("status") not in (None, "ok")]
        for p in peers:
            c = cells.get((w, p), {})
            if b.get("status") == "ok" and c.get("status") == "ok" and b["median"] > 0:
                row += [f"{c['median'] / b['median']:.4f}", f"{c['rss_kib'] / b['rss_kib']:.4f}"]
                ok_any = True
            else:
                row += ["NaN", "NaN"]
        lines.append(" ".join(row))
        label = w + ("\\n(FAILED: " + ", ".join(failed) + ")" if failed else "")
        tics.append(f'"{label}" {i}')
    dat.write_text("\n".join(lines) + "\n")
    if not ok_any:
        dat.unlink()
        return "no workload succeeded under both"
    n = len(workloads)

    def yr(first):  # a range that always shows the 1.0 line with room around it
        vals = [float(v) for l in lines[1:] for v in l.split()[first::2] if v != "NaN"]
        lo, hi = min(vals + [0.8]), max(vals + [1.25])
        return f"set yrange [{lo / 1.15:.4f}:{hi * 1.15:.4f}]"
    plot_t = ", ".join(f"'{dat}' using {2 + 2 * i} title '{p}'" for i, p in enumerate(peers))
    plot_r = ", ".join(f"'{dat}' using {3 + 2 * i} title '{p}'" for i, p in enumerate(peers))
    gp = f"""
set terminal svg size {max(900, 90 * n)},900 dynamic font 'sans,11' background '#ffffff'
set output '{base.with_suffix('.svg')}'
set multiplot layout 2,1
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set ytics (0.0625, 0.125, 0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 8, 16, 32, 64)
set key outside right top
set xtics ({", ".join(tics)}) rotate by 30 right noenhanced
set xrange [-0.6:{n - 0.4}]
set datafile missing 'NaN'
set ylabel 'time / {baseline} time'
{yr(1)}
set title noenhanced 'Wall time (median) relative to {baseline}: above 1 means {baseline} is faster'
plot {plot_t}, 1 with lines lw 2 lc rgb 'black' notitle
set ylabel 'peak RSS / {baseline} peak RSS'
{yr(2)}
set title noenhanced 'Peak RSS relative to {baseline}: above 1 means {baseline} uses less memory'
plot {plot_r}, 1 with lines lw 2 lc rgb 'black' notitle
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
    dat.unlink()
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.strip()[-300:]
    return ""


def write_report(base, data, cells, workloads, allocs, baseline, chart_err):
    peers = [a for a in allocs if a != baseline]
    m = data["machine"]
    L = []
    L.append(f"# goheap benchmarks, {data['date']}{' (quick)' if data['mode'] == 'quick' else ''}")
    L.append("")
    L.append(f"Produced by `{data['command']}` in {data['elapsed_s'] / 60:.1f} minutes. "
             f"Every workload was run {data['rounds']} time{'s' if data['rounds'] != 1 else ''} "
             "under every allocator, interleaved "
             "(each round runs every workload under every allocator in turn), so slow drift of the "
             "machine hits every allocator alike. Times are the wall-clock seconds of the whole "
             "process; peak RSS is the process's maximum resident set (wait4's ru_maxrss), the "
             f"largest over the runs. Ratios are *allocator / {baseline}*: above 1.00 means "
             f"{baseline} is faster (or smaller). FAILED cells are runs that crashed, timed out or "
             "gave a wrong answer; they are shown, never dropped, and kept out of the geometric means.")
    L.append("")
    warn = []
    if data["mode"] == "quick":
        warn.append("this is the quick run: small sizes, where process start-up weighs more and "
                    "single runs are short; quote the full run (`make bench`), not this one")
    if data["rounds"] < 5:
        warn.append(f"only {data['rounds']} run(s) per workload and allocator (5 or more for numbers to quote)")
    try:
        load = float(m.get("load_before", "0").split()[0])
    except (ValueError, IndexError):
        load = 0.0
    if load > 0.5 * (m.get("cpus") or 1):
        warn.append(f"the machine was busy when the run started (load average {load:.2f} on "
                    f"{m.get('cpus')} CPUs): expect noise, compare ratios rather than seconds")
    for w_ in warn:
        L.append(f"> **Note:** {w_}.")
        L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- CPU: {m.get('cpu')} ({m.get('cpus')} CPUs), memory {m.get('memory', '?')}")
    L.append(f"- OS: {m.get('os', '?')}, kernel {m.get('kernel')}, {m.get('glibc')}")
    L.append(f"- Compiler: {m.get('cc')} (workloads built with -O2)")
    L.append(f"- Load average before the run: {m.get('load_before')}; threads per workload (T): {data['threads']}")
    L.append("")
    L.append("## Versions")
    L.append("")
    for a in data["allocators"]:
        L.append(f"- {a['name']}: {a['version']}" + (f" — `{a['lib']}`" if a["lib"] else " (no preload)")
                 + (f" — **{a['missing']}**" if a.get("missing") else ""))
    for k, v in data["tools"].items():
        L.append(f"- {k}: {v}")
    L.append("")
    L.append("## Manual memory (malloc/free)")
    L.append("")
    L.append("Each program's header comment (bench/workloads/) says what it stresses, its parameters "
             "(shown under its name) and where the idea comes from. `T` = "
             f"{data['threads']} threads. Ratios are to {baseline}: **above 1.00×, {baseline} is "
             "faster / smaller**.")
    L.append("")

    def failed_cell(c):
        what = {"wrong": "WRONG ANSWER", "timeout": "TIMEOUT"}.get(c["status"], "FAILED")
        return f"**{what}** ({c['failed']}/{c['runs']} runs): {c['note']}".replace("|", "\\|")

    for title, key, fmt_val in (
            ("Wall time: median seconds [min–max], ratio to " + baseline, "median",
             lambda c: f"{fmt_t(c['median'])} [{fmt_t(c['min'])}–{fmt_t(c['max'])}]"),
            ("Peak RSS: MiB (largest of the runs), ratio to " + baseline, "rss_kib",
             lambda c: f"{fmt_mib(c['rss_kib'])}")):
        L.append(f"### {title}")
        L.append("")
        L.append("| workload | " + " | ".join(allocs) + " |")
        L.append("|---|" + "---:|" * len(allocs))
        ratios = {p: [] for p in peers}
        for w in workloads:
            row = [f"**{w}** <br><sub>{data['params'].get(w, '')}</sub>"]
            b = cells.get((w, baseline), {})
            for a in allocs:
                c = cells.get((w, a))
                if c is None:
                    row.append("not run")
                    continue
                if c["status"] != "ok":
                    row.append(failed_cell(c))
                    continue
                s = fmt_val(c)
                if a != baseline:
                    if b.get("status") == "ok" and b[key] > 0:
                        r = c[key] / b[key]
                        ratios[a].append(r)
                        s += f" · **{r:.2f}×**"
                    else:
                        s += f" · (no ratio: {baseline} failed)"
                row.append(s)
            L.append("| " + " | ".join(row) + " |")
        gm = [f"**geometric mean** <br><sub>of the ratios to {baseline}</sub>"]
        for a in allocs:
            if a == baseline:
                nf = sum(1 for w in workloads if cells.get((w, a), {}).get("status") != "ok")
                gm.append("1.00×" + (f" ({nf} failed)" if nf else ""))
            elif ratios[a]:
                gm.append(f"**{geomean(ratios[a]):.2f}×** ({len(ratios[a])} of {len(workloads)})")
            else:
                gm.append("n/a")
        L.append("| " + " | ".join(gm) + " |")
        L.append("")
    if chart_err:
        L.append(f"Chart: not drawn ({chart_err}).")
    else:
        L.append(f"![time and RSS ratios]({base.with_suffix('.svg').name})")
    L.append("")
    L.append("## Collected memory (gh_alloc)")
    L.append("")
    if COLLECTED_WORKLOADS:
        L.append("(see the table above the chart)")
    else:
        L.append("Not measured yet: the collected-memory (GC) workloads come with the collector "
                 "issue; they go in COLLECTED_WORKLOADS in bench/run.py and get their table here.")
    L.append("")
    L.append("## Fast paths (callgrind instruction counts)")
    L.append("")
    cg = data.get("callgrind")
    if not cg:
        L.append("Not measured (--no-callgrind).")
    elif "error" in cg:
        L.append(f"Not measured: {cg['error']}.")
    else:
        L.append(f"Instructions (Ir) per operation, counted by `valgrind --tool=callgrind` only inside the "
                 f"measured loop, as (Ir at N={cg['n2']} − Ir at N={cg['n1']}) / {cg['n2'] - cg['n1']}, so "
                 "one-time costs cancel. Sizes cycle 16, 32, 48, 64 bytes. *pair*: malloc then free "
                 "of the same object (bench/callgrind/cg-malloc-free.c pair); *batch*: 1000 mallocs then "
                 "1000 frees (cache refills and flushes amortised in); *cross-thread free*: a second "
                 "thread frees objects the main thread allocated (cg-remote-free.c). Loop overhead "
                 "(a few instructions) is included for every allocator alike.")
        L.append("")
        L.append("| allocator | malloc+free pair | malloc+free (batch of 1000) | cross-thread free |")
        L.append("|---|---|---|---|")
        for a in allocs:
            row = cg["rows"].get(a)
            if not row:
                continue
            cols = []
            for k in ("pair", "batch", "remote"):
                v = row.get(k, {})
                if "ir" in v:
                    s = f"{v['ir']:.1f}"
                    bv = cg["rows"].get(baseline, {}).get(k, {})
                    if a != baseline and "ir" in bv and bv["ir"] > 0:
                        s += f" ({v['ir'] / bv['ir']:.2f}×)"
                    cols.append(s)
                else:
                    cols.append(f"**FAILED**: {v.get('error', '?')}".replace("|", "\\|"))
            L.append(f"| {a} | " + " | ".join(cols) + " |")
        for a in allocs:
            note = cg["rows"].get(a, {}).get("note")
            if note:
                L.append(f"\n{a}: {note}.")
    L.append("")
    L.append("## How to read this / reproduce")
    L.append("")
    L.append("- `make bench` (full) or `make bench-quick`; `python3 bench/run.py --help` for a subset "
             "(`--workloads`, `--allocators`, `--runs`).")
    L.append("- One workload by hand: `LD_PRELOAD=$PWD/build/libgoheap.so build/bench/<name> <args>` "
             "(args as in the table); glibc: the same without LD_PRELOAD.")
    L.append("- Raw numbers of every run: the .json beside this file.")
    base.with_suffix(".md").write_text("\n".join(L) + "\n")


# ---------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    ap.add_argument("--runs", type=int, default=5, help="runs per workload and allocator (default 5; at least 5 for a report to publish)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)) or 2,
                    help="T in the parameters (default: the CPUs this process may use)")
    ap.add_argument("--workloads", help="comma-separated subset of workloads")
    ap.add_argument("--allocators", help="comma-separated subset of goheap,glibc,mimalloc,jemalloc,tcmalloc")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the callgrind table")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing peers")
    ap.add_argument("--timeout", type=float, help="seconds before a run counts as hung (default 60 full, 20 quick)")
    ap.add_argument("--out", help="output path without extension (default bench/results/DATE[-quick])")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    timeout = args.timeout or (20.0 if args.quick else 60.0)
    t_start = time.time()

    all_names = ["goheap"] + [p[0] for p in PEERS]
    want = args.allocators.split(",") if args.allocators else all_names
    for n in want:
        if n not in all_names:
            ap.error(f"unknown allocator {n}")
    ensure_installed(want, args.no_install)

    allocators = []
    for n in all_names:
        if n not in want:
            continue
        if n == "goheap":
            lib = os.environ.get("GOHEAP_LIB") or str(ROOT / "build" / "libgoheap.so")
            lib = str(Path(lib).resolve())
            if not Path(lib).exists():
                log(f"bench: goheap library {lib} not found (run `make` first, or set GOHEAP_LIB)")
                sys.exit(2)
            allocators.append({"name": n, "lib": lib, "version": goheap_version()})
            continue
        pkg, libs = next((p[1], p[2]) for p in PEERS if p[0] == n)
        if libs is None:
            allocators.append({"name": n, "lib": None, "version": "glibc " + (platform.libc_ver()[1] or "?")})
            continue
        lib = find_lib(libs)
        entry = {"name": n, "lib": lib, "version": f"{pkg} {pkg_version(pkg)}"}
        if not lib:
            entry["missing"] = "not installed: left out"
            log(f"bench: {n} ({pkg}) not found, left out")
        allocators.append(entry)
    runnable = [a for a in allocators if a["lib"] or a["name"] == "glibc"]
    names = [a["name"] for a in runnable]
    baseline = "goheap" if "goheap" in names else names[0]

    workloads = MANUAL_WORKLOADS
    if args.workloads:
        sel = args.workloads.split(",")
        unknown = set(sel) - {w[0] for w in workloads}
        if unknown:
            ap.error(f"unknown workloads: {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w[0] in sel]

    if not build_all():
        log("bench: some workloads failed to build; they will show as FAILED")

    params, cmds = {}, {}
    for w in workloads:
        cmd, stdin, env = workload_cmd(w, mode, args.threads)
        cmds[w[0]] = (cmd, stdin, env)
        wargs = expand(w[3] if mode == "full" else w[4], args.threads)
        params[w[0]] = " ".join(wargs) if w[1] == "c" else "N=" + " ".join(wargs)

    data = {
        "date": datetime.date.today().isoformat(),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "command": "python3 bench/run.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        "rounds": args.runs,
        "threads": args.threads,
        "machine": machine_info(),
        "allocators": allocators,
        "tools": {
            "valgrind": sh(["valgrind", "--version"]) or "not installed",
            "gnuplot": sh(["gnuplot", "--version"]) or "not installed",
            "sqlite3": (sh(["sqlite3", "--version"]).split() or ["not installed"])[0],
            "python (workload)": sh([python_exe(), "--version"]),
        },
        "params": params,
        "commands": {k: v[0] + (["<", v[1]] if v[1] else []) for k, v in cmds.items()},
        "runs": [],
    }

    total = args.runs * len(workloads) * len(runnable)
    done = 0
    hung = set()
    for rnd in range(args.runs):
        for w in workloads:
            cmd, stdin, env = cmds[w[0]]
            for a in runnable:
                if (w[0], a["name"]) in hung:  # one hang is enough: don't wait out every round
                    st, secs, rss, result, note = "skipped", None, None, "", "not run: an earlier run timed out"
                else:
                    st, secs, rss, result, note = run_once(cmd, stdin, env, a["lib"], timeout)
                if st == "timeout":
                    hung.add((w[0], a["name"]))
                done += 1
                data["runs"].append({"workload": w[0], "alloc": a["name"], "round": rnd, "status": st,
                                     "secs": secs, "maxrss_kib": rss, "result": result, "note": note})
                msg = f"{secs:.3f}s {rss / 1024:.1f}MiB" if st == "ok" else f"{st.upper()}: {note}"
                log(f"[{done}/{total}] round {rnd + 1} {w[0]:15s} {a['name']:9s} {msg}")

    if not args.no_callgrind:
        data["callgrind"] = run_callgrind(runnable, mode)

    wnames = [w[0] for w in workloads]
    cells = summarize(data, wnames, names)
    data["elapsed_s"] = time.time() - t_start
    data["summary"] = {f"{w}|{a}": c for (w, a), c in cells.items()}

    if args.out:
        base = Path(args.out).resolve()
    else:
        base = RESULTS / (data["date"] + ("-quick" if args.quick else ""))
    base.parent.mkdir(parents=True, exist_ok=True)
    chart_err = write_chart(base, wnames, [n for n in names if n != baseline], baseline, cells)
    write_report(base, data, cells, wnames, names, baseline, chart_err)
    base.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    log(f"bench: wrote {base.with_suffix('.md')}" + ("" if chart_err else f", {base.with_suffix('.svg').name}")
        + f", {base.with_suffix('.json').name} in {data['elapsed_s'] / 60:.1f} min")
    print(base.with_suffix(".md").read_text())
    bad = [f"{w}/{a} ({c['status']})" for (w, a), c in cells.items() if c["status"] != "ok"]
    if bad:
        log(f"bench: {len(bad)} failed (shown as such in the report): {', '.join(bad)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
