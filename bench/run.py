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

Collected memory (the gc-* workloads): each algorithm is written once in C
against bench/workloads/gc.h and built twice -- linked with $GOHEAP_LIB
(gh_alloc & co.) and with bdwgc (libgc-dev, GC_MALLOC & co.) -- and once in
Go (bench/go/<name>/main.go, built with Debian's golang-go); the three run in
the same interleaved rounds and get their own table, chart and callgrind
rows. `--only gc` runs just that part, `--only manual` just the malloc part.

Missing peers are installed from Debian with apt-get (unless --no-install);
a peer that still cannot be found is reported as "not installed". A variant
that does not build (e.g. goheap's before its collector links) is FAILED.

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
# Collected-memory (GC) workloads: bench/workloads/<src>.c written against
# gc.h, built as build/bench/<src>-goheap (linked with $GOHEAP_LIB) and
# <src>-bdwgc (-lgc), and bench/go/<src>/main.go built as <src>-go; run under
# the GC_ALLOCATORS below (no preload). Sizes: a full run of each takes about
# 1-8 s (quick: 0.1-0.6 s) under bdwgc or Go on a 2-core machine; the
# binary-trees depth 20 is the Benchmarks Game's smaller size (21 is theirs).
COLLECTED_WORKLOADS = [
    # name                kind         src                full args                  quick args
    ("gc-gcbench",        "collected", "gc-gcbench",      "18 16 500000 4 16 3",     "18 16 500000 4 16 1"),
    ("gc-binary-trees",   "collected", "gc-binary-trees", "20 1",                    "16 1"),
    ("gc-binary-trees-2t", "collected", "gc-binary-trees", "20 2",                   "16 2"),
    ("gc-live-heap",      "collected", "gc-live-heap",    "256 1000000 4",           "32 200000 4"),
    ("gc-threads",        "collected", "gc-threads",      "8 100000 16",             "8 20000 16"),
    ("gc-finalizers",     "collected", "gc-finalizers",   "2000000 1000",            "300000 1000"),
]
# The collectors: name, what is needed (Debian package), how it is built.
GC_ALLOCATORS = [
    ("goheap", None, "linked with $GOHEAP_LIB: gh_alloc, gh_alloc_noscan, gh_collect, gh_set_finalizer"),
    ("bdwgc", "libgc-dev", "linked with -lgc (GC_THREADS): GC_MALLOC, GC_MALLOC_ATOMIC, GC_gcollect, "
                           "GC_REGISTER_FINALIZER"),
    ("go", "golang-go", "the same algorithm in Go (bench/go/), built with `go build`"),
    ("goheap-concurrent", None, "the goheap build, run with GOHEAP_GC_MODE=concurrent: the mark runs beside "
                                "the program between two short stops (Linux 6.7+; stw where the kernel refuses)"),
]
# Collectors that are another one's build run with settings: name -> (build, environment).
GC_VARIANTS = {"goheap-concurrent": ("goheap", {"GOHEAP_GC_MODE": "concurrent"})}
# Environment variables that change a collector's pacing; recorded in the report if set.
GC_ENV = ["GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "GOHEAP_GOGC", "GOHEAP_MEMLIMIT", "GOHEAP_DEBUG",
          "GC_MARKERS", "GC_NPROCS", "GC_FREE_SPACE_DIVISOR", "GC_INITIAL_HEAP_SIZE", "GC_MAXIMUM_HEAP_SIZE"]

CALLGRIND_N = {"full": (20000, 220000), "quick": (10000, 60000)}
# cg-gc-alloc: N1, N2 collected allocations (the difference is what is counted).
CALLGRIND_GC_N = {"full": (100000, 1100000), "quick": (100000, 600000)}


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


def go_exe():
    """Debian's go (golang-go puts it in /usr/bin; /usr/lib/go/bin otherwise)."""
    return shutil.which("go") or next((g for g in ("/usr/lib/go/bin/go", "/usr/local/go/bin/go")
                                       if os.access(g, os.X_OK)), None)


def have_gc_peer(name):
    if name == "bdwgc":
        return Path("/usr/include/gc/gc.h").exists() and find_lib(["libgc.so"]) is not None
    if name == "go":
        return go_exe() is not None
    return True


def ensure_installed(want_peers, no_install, want_gc=()):
    """apt-get install whatever peer or tool is missing (never vendored)."""
    missing = []
    for name, pkg, libs in PEERS:
        if name in want_peers and libs and not find_lib(libs):
            missing.append(pkg)
    for name, pkg, _ in GC_ALLOCATORS:
        if name in want_gc and pkg and not have_gc_peer(name):
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
        if not src.name.startswith("gc-"):  # collected workloads: build_collected
            ok &= build_one(src, BUILD / src.stem)
    if Path("/usr/include/valgrind/callgrind.h").exists():
        for src in sorted(CGDIR.glob("*.c")):
            if not src.name.startswith("cg-gc-"):
                ok &= build_one(src, BUILD / src.stem)
    return ok


def build_variant(out, deps, cmd, env=None, cwd=None):
    """Builds out with cmd unless it is newer than every dep; '' or the error."""
    if out.exists() and all(out.stat().st_mtime >= Path(d).stat().st_mtime for d in deps if Path(d).exists()):
        return ""
    try:
        out.unlink()  # never run a stale binary after a failed build
    except FileNotFoundError:
        pass
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot build: {e}"
    if r.returncode != 0:
        log(f"bench: build failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
        errs = [l for l in r.stderr.splitlines() if "error" in l.lower() or "undefined" in l]
        return "did not build: " + ((errs[0] if errs else r.stderr.strip()[-200:]) or f"exit {r.returncode}")[:200]
    return ""


def gc_build_cmd(alloc, src, out, goheap_lib):
    """(deps, command, env) that builds one collected program for one collector."""
    cflags = [cc(), "-O2", "-g", "-Wall", "-pthread", "-o", str(out), str(src)]
    hdrs = [src, WDIR / "gc.h", WDIR / "bench.h"]
    if alloc == "goheap":
        lib = Path(goheap_lib)
        real = lib.resolve()
        return (hdrs + [real, ROOT / "include" / "goheap.h"],
                cflags[:1] + ["-DUSE_GOHEAP", "-I", str(ROOT / "include")] + cflags[1:]
                + [str(lib), f"-Wl,-rpath,{lib.parent}"], None)
    if alloc == "bdwgc":
        return hdrs, cflags[:1] + ["-DUSE_BDWGC"] + cflags[1:] + ["-lgc"], None
    raise ValueError(alloc)


def go_env():
    env = dict(os.environ)
    env.setdefault("GOCACHE", str(BUILD / "go-cache"))  # no $HOME needed
    env.setdefault("GOPATH", str(BUILD / "go-path"))
    env["GOFLAGS"] = "-buildvcs=false"
    env["GO111MODULE"] = "on"  # bench/go/go.mod: the programs and their shared harness package
    env["GOPROXY"] = "off"     # the standard library only: nothing is ever downloaded
    env["CGO_ENABLED"] = "0"
    return env


def build_collected(srcs, gc_allocs, goheap_lib):
    """Builds build/bench/<src>-<alloc>; returns {(src, alloc): error message} for failures."""
    BUILD.mkdir(parents=True, exist_ok=True)
    errors = {}
    for src in srcs:
        for a in sorted({GC_VARIANTS.get(n, (n,))[0] for n in gc_allocs}):
            out = BUILD / f"{src}-{a}"
            if a == "go":
                g = go_exe()
                if not g:
                    errors[(src, a)] = "go is not installed"
                    continue
                gdir = BENCH / "go"
                deps = [gdir / src / "main.go", gdir / "harness" / "harness.go", gdir / "go.mod", g]
                err = build_variant(out, deps, [g, "build", "-o", str(out), "./" + src], go_env(), cwd=gdir)
            else:
                deps, cmd, env = gc_build_cmd(a, WDIR / f"{src}.c", out, goheap_lib)
                err = build_variant(out, deps, cmd, env)
            if err:
                errors[(src, a)] = err
    return errors


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
    if kind == "collected":  # "{alloc}": the collector's build of the program
        return [str(BUILD / (src + "-{alloc}"))] + args, None, {}
    raise ValueError(kind)


def python_exe():
    # Debian's interpreter if there is one (reproducible), else ours.
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def parse_measures(stdout):
    """The measurement lines of the gc-* programs (not compared across allocators):
    "pause: n=.. max_ms=.. p99_ms=.. total_ms=.. ..." and "throughput: X steps/s"."""
    m = {}
    for line in stdout.splitlines():
        if line.startswith("pause:"):
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                try:
                    m["pause_" + k] = float(v)
                except ValueError:
                    pass
        elif line.startswith("throughput:"):
            try:
                m["throughput"] = float(line.split()[1])
            except (IndexError, ValueError):
                pass
    return m


def run_once(cmd, stdin_path, env_extra, lib, timeout, measures=None):
    """One run through build/bench/runner: (status, secs, maxrss_kib, result, note).
    If measures is a dict, the program's pause/throughput lines are parsed into it."""
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
    if measures is not None:
        measures.update(parse_measures(stdout))
    return "ok", secs, rss, result, ""


# ----------------------------------------------------------------- callgrind
def callgrind_count(prog_args, lib, extra_env=None, stdout_out=None):
    """Instructions counted between the program's CALLGRIND toggles
    (the program's stdout is appended to stdout_out if that is a list)."""
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
        if stdout_out is not None:
            stdout_out.append(r.stdout)
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


def run_callgrind_gc(gc_allocs, mode, goheap_lib):
    """Ir per collected allocation (cg-gc-alloc), goheap and bdwgc (Go: not under valgrind)."""
    n1, n2 = CALLGRIND_GC_N[mode]
    if not shutil.which("valgrind") or not Path("/usr/include/valgrind/callgrind.h").exists():
        return {"error": "valgrind (or valgrind/callgrind.h) is not installed"}
    rows = {}
    src = CGDIR / "cg-gc-alloc.c"
    for a in gc_allocs:
        if a == "go" or a in GC_VARIANTS:
            continue
        if a == "bdwgc" and not have_gc_peer("bdwgc"):
            rows[a] = {"error": "libgc-dev is not installed"}
            continue
        out = BUILD / f"cg-gc-alloc-{a}"
        deps, cmd, env = gc_build_cmd(a, src, out, goheap_lib)
        err = build_variant(out, deps, cmd, env)
        if err:
            rows[a] = {"error": err}
            continue
        outs = []
        c1, e1 = callgrind_count([str(out), str(n1)], None, stdout_out=outs)
        c2, e2 = (None, "") if c1 is None else callgrind_count([str(out), str(n2)], None, stdout_out=outs)
        if c1 is None or c2 is None:
            rows[a] = {"error": e1 or e2}
        else:
            gcs = [int(m.group(1)) for o in outs for m in [re.search(r"collections: (\d+)", o)] if m]
            rows[a] = {"ir": (c2 - c1) / (n2 - n1), "ir_n1": c1, "ir_n2": c2,
                       "gcs_n1": gcs[0] if len(gcs) == 2 else None, "gcs_n2": gcs[1] if len(gcs) == 2 else None}
        r = rows[a]
        log(f"bench: callgrind {a} (collected): " + (f"{r['ir']:.1f} Ir/alloc, collections {r.get('gcs_n1')}"
                                                     f" -> {r.get('gcs_n2')}" if "ir" in r else f"FAILED ({r['error']})"))
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


def summarize(data, workloads, allocs, majority=()):
    """Per (workload, allocator): status, median/min/max time, peak RSS.
    The reference answer is glibc's if it has one, else the most common; with
    majority=(a, b, ...) (the collected part: three independent programs), the
    most common result over every run, ties going to a's, then b's."""
    cells = {}
    for w in workloads:
        runs_w = [r for r in data["runs"] if r["workload"] == w]
        ok_results = [r["result"] for r in runs_w if r["status"] == "ok"]
        ref = None
        glibc_res = [r["result"] for r in runs_w if r["status"] == "ok" and r["alloc"] == "glibc"]
        if majority and ok_results:
            def rank(v):
                pref = [i for i, a in enumerate(majority) if any(
                    r["result"] == v and r["alloc"] == a for r in runs_w if r["status"] == "ok")]
                return (ok_results.count(v), -(min(pref) if pref else len(majority)))
            ref = max(set(ok_results), key=rank)
        elif glibc_res:
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
            ms = [r["measures"] for r in rs if r["status"] == "ok" and r.get("measures")]
            if ms and not bad:
                # pauses: the median of the runs' p99, the largest max; throughput: median
                if all("pause_p99_ms" in m for m in ms):
                    c["p99_ms"] = statistics.median(m["pause_p99_ms"] for m in ms)
                    c["p99_lo"] = min(m["pause_p99_ms"] for m in ms)
                    c["p99_hi"] = max(m["pause_p99_ms"] for m in ms)
                    c["max_ms"] = max(m["pause_max_ms"] for m in ms)
                    c["gcs"] = statistics.median(m.get("pause_n", 0) for m in ms)
                    c["pause_total_ms"] = statistics.median(m.get("pause_total_ms", 0) for m in ms)
                    c["pause_lost"] = max(m.get("pause_lost", 0) for m in ms)
                    if all("pause_collection_max_ms" in m for m in ms):
                        c["collection_max_ms"] = max(m["pause_collection_max_ms"] for m in ms)
                if all("throughput" in m for m in ms):
                    c["throughput"] = statistics.median(m["throughput"] for m in ms)
            cells[(w, a)] = c
    return cells


def write_chart(base, workloads, peers, baseline, cells, svg=None, label=""):
    """SVG with time ratios (top) and RSS ratios (bottom), one bar per peer
    (written to svg, default base.svg; label prefixes both titles)."""
    if not shutil.which("gnuplot") or not peers:
        return "gnuplot is not installed" if peers else "no peers"
    svg = Path(svg) if svg else base.with_suffix(".svg")
    dat = svg.with_suffix(".dat")
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
        tic = w + ("\\n(FAILED: " + ", ".join(failed) + ")" if failed else "")
        tics.append(f'"{tic}" {i}')
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
set output '{svg}'
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
set title noenhanced '{label}Wall time (median) relative to {baseline}: above 1 means {baseline} is faster'
plot {plot_t}, 1 with lines lw 2 lc rgb 'black' notitle
set ylabel 'peak RSS / {baseline} peak RSS'
{yr(2)}
set title noenhanced '{label}Peak RSS relative to {baseline}: above 1 means {baseline} uses less memory'
plot {plot_r}, 1 with lines lw 2 lc rgb 'black' notitle
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
    dat.unlink()
    if r.returncode != 0:
        return "gnuplot failed: " + r.stderr.strip()[-300:]
    return ""


def failed_cell(c):
    what = {"wrong": "WRONG ANSWER", "timeout": "TIMEOUT"}.get(c["status"], "FAILED")
    return f"**{what}** ({c['failed']}/{c['runs']} runs): {c['note']}".replace("|", "\\|")


def ratio_tables(L, data, cells, workloads, allocs, baseline):
    """The wall-time and peak-RSS tables with ratios and geometric means."""
    peers = [a for a in allocs if a != baseline]
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


def write_report(base, data, cells, workloads, allocs, baseline, chart_err, gc=None):
    """gc: the collected part, a dict with workloads, allocs, baseline, cells,
    chart_err, svg (None or empty workloads: not run)."""
    m = data["machine"]
    L = []
    baseline = baseline or (gc or {}).get("baseline", "goheap")  # a collected-only run has no malloc baseline
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
    for a in data.get("gc_allocators", []):
        if a["name"] == "goheap" and any(x["name"] == "goheap" for x in data["allocators"]):
            continue
        L.append(f"- {a['name']} (collected): {a['version']}"
                 + (f" — **{a['missing']}**" if a.get("missing") else ""))
    for k, v in data["tools"].items():
        L.append(f"- {k}: {v}")
    L.append("")
    L.append("## Manual memory (malloc/free)")
    L.append("")
    if workloads and allocs:
        L.append("Each program's header comment (bench/workloads/) says what it stresses, its parameters "
                 "(shown under its name) and where the idea comes from. `T` = "
                 f"{data['threads']} threads. Ratios are to {baseline}: **above 1.00×, {baseline} is "
                 "faster / smaller**.")
        L.append("")
        ratio_tables(L, data, cells, workloads, allocs, baseline)
        if chart_err:
            L.append(f"Chart: not drawn ({chart_err}).")
        else:
            L.append(f"![time and RSS ratios]({base.with_suffix('.svg').name})")
    else:
        L.append("Not run in this report (`--only gc`, or no manual workload selected).")
    L.append("")
    L.append("## Collected memory (gh_alloc)")
    L.append("")
    if gc and gc["workloads"] and gc["allocs"]:
        gb = gc["baseline"]
        env_set = {k: os.environ[k] for k in GC_ENV if k in os.environ}
        L.append("Programs that never free: each allocates with the collector's allocation call and "
                 "leaves reclaiming to it. Each algorithm is one C source (bench/workloads/gc-*.c, "
                 "written against the shim bench/workloads/gc.h; its header comment says what it "
                 "stresses, its parameters -- shown under its name -- and where the idea comes from), "
                 "built twice, and one Go translation (bench/go/gc-*/main.go) that prints the same "
                 "result line:")
        L.append("")
        for name, _, how in GC_ALLOCATORS:
            if name in gc["allocs"]:
                L.append(f"- **{name}**: {how}")
        L.append("")
        L.append("Every collector runs at its defaults: goheap and Go start a collection when the heap "
                 "has grown by GOGC = 100 % over what the last one found live; bdwgc collects when it "
                 "has allocated about a third of its heap (free-space divisor 3) and marks in parallel "
                 "on every CPU with the world stopped. "
                 + ("Collector settings in the environment of this run: "
                    + ", ".join(f"`{k}={v}`" for k, v in env_set.items()) + "."
                    if env_set else "No collector setting was in the environment (GOGC, GOHEAP_GOGC, "
                    "GC_MARKERS, ... all unset).")
                 + " A run is FAILED if it crashes, exits non-zero (the programs check their data and "
                 "exit 3 on a wrong value) or prints a result line different from the most common one "
                 f"over all runs of the three. Ratios are to {gb}: **above 1.00×, {gb} is faster / "
                 "smaller**.")
        L.append("")
        ratio_tables(L, data, gc["cells"], gc["workloads"], gc["allocs"], gb)
        pw = [w for w in gc["workloads"] if any("p99_ms" in gc["cells"].get((w, a), {}) for a in gc["allocs"])]
        pw += [w for w in gc["workloads"] if w not in pw and w == "gc-live-heap"]
        for w in pw:
            L.append(f"### Pauses and throughput: {w}")
            L.append("")
            L.append("Measured inside the program over the whole run: every collection's pause, read "
                     "from the collector (goheap: `gh_read_stats` pause_ns; Go: `runtime.MemStats.PauseNs`; "
                     "both the stop-the-world time of a collection, read every 65 536 steps so that the "
                     "256-entry rings never wrap) or, for bdwgc, timed from `GC_EVENT_PRE_STOP_WORLD` to "
                     "`GC_EVENT_POST_START_WORLD` (`GC_set_on_collection_event`: the time the world was "
                     "stopped, which for bdwgc includes the whole mark phase). *p99*: the median over "
                     "the runs of each run's 99th-percentile pause [min–max]; *max*: the longest "
                     "pause of all runs; *collections*: per run (median) -- with few collections p99 "
                     "is the maximum. *Throughput*: replacement steps per second (median).")
            L.append("")
            L.append("| allocator | collections | p99 pause ms | max pause ms | total pause ms | steps/s |")
            L.append("|---|---:|---:|---:|---:|---:|")
            for a in gc["allocs"]:
                c = gc["cells"].get((w, a))
                if c is None:
                    continue
                if c["status"] != "ok":
                    L.append(f"| {a} | " + failed_cell(c) + " | | | | |")
                    continue
                if "p99_ms" not in c:
                    L.append(f"| {a} | (no pause line) | | | | |")
                    continue
                extra = (f" <br><sub>whole collection: {c['collection_max_ms']:.1f}</sub>"
                         if "collection_max_ms" in c else "")
                lost = f" ({int(c['pause_lost'])} not seen)" if c.get("pause_lost") else ""
                L.append(f"| {a} | {c['gcs']:.0f}{lost} | {c['p99_ms']:.3f} [{c['p99_lo']:.3f}–{c['p99_hi']:.3f}] | "
                         f"{c['max_ms']:.3f}{extra} | {c['pause_total_ms']:.1f} | "
                         + (f"{c['throughput']:,.0f}" if "throughput" in c else "?") + " |")
            L.append("")
        if gc.get("chart_err"):
            L.append(f"Chart: not drawn ({gc['chart_err']}).")
        else:
            L.append(f"![collected: time and RSS ratios]({Path(gc['svg']).name})")
    elif gc is not None and gc["workloads"]:
        L.append("Not run: no collector selected (`--allocators`).")
    else:
        L.append("Not run in this report (`--only manual`, or no gc-* workload selected).")
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
    cgg = data.get("callgrind_gc")
    if cgg:
        L.append("")
        L.append("### Collected allocation")
        L.append("")
        if "error" in cgg:
            L.append(f"Not measured: {cgg['error']}.")
        else:
            L.append(f"bench/callgrind/cg-gc-alloc.c, built like the gc-* workloads: after a warm-up of "
                     f"200 000 allocations, N allocations of 16, 32, 48, 64 bytes (cycling) with the "
                     f"collector's scanned allocation (goheap `gh_alloc`, bdwgc `GC_MALLOC`), the last "
                     f"4096 kept alive in a global ring, the rest garbage. Ir per allocation = (Ir at "
                     f"N={cgg['n2']} − Ir at N={cgg['n1']}) / {cgg['n2'] - cgg['n1']}: the collections "
                     "the extra allocations trigger are counted in, on whatever thread they run "
                     "(callgrind counts every thread). Go is not measured: the counting toggles are "
                     "valgrind client requests, C macros a Go program cannot issue without cgo.")
            L.append("")
            L.append("| collector | Ir per allocation (collections amortised) | collections in the loop (N₁ → N₂) |")
            L.append("|---|---|---|")
            rows = cgg["rows"]
            gb = (gc or {}).get("baseline", "goheap")
            for a, v in rows.items():
                if "ir" in v:
                    s = f"{v['ir']:.1f}"
                    bv = rows.get(gb, {})
                    if a != gb and "ir" in bv and bv["ir"] > 0:
                        s += f" ({v['ir'] / bv['ir']:.2f}×)"
                    L.append(f"| {a} | {s} | {v.get('gcs_n1')} → {v.get('gcs_n2')} |")
                else:
                    err = str(v.get("error", "?")).replace("|", "\\|")
                    L.append(f"| {a} | **FAILED**: {err} | |")
    L.append("")
    L.append("## How to read this / reproduce")
    L.append("")
    L.append("- `make bench` (full) or `make bench-quick`; `python3 bench/run.py --help` for a subset "
             "(`--only manual|gc`, `--workloads`, `--allocators`, `--runs`).")
    L.append("- One workload by hand: `LD_PRELOAD=$PWD/build/libgoheap.so build/bench/<name> <args>` "
             "(args as in the table); glibc: the same without LD_PRELOAD.")
    L.append("- A collected one: `build/bench/<name>-goheap <args>`, `build/bench/<name>-bdwgc <args>`, "
             "`build/bench/<name>-go <args>` (gc-binary-trees-2t is gc-binary-trees with 2 threads).")
    L.append("- Raw numbers of every run: the .json beside this file.")
    base.with_suffix(".md").write_text("\n".join(L) + "\n")


# ---------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    ap.add_argument("--runs", type=int, default=5, help="runs per workload and allocator (default 5; at least 5 for a report to publish)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)) or 2,
                    help="T in the parameters (default: the CPUs this process may use)")
    ap.add_argument("--only", choices=["all", "manual", "gc"], default="all",
                    help="run only the malloc part (manual) or only the collected part (gc); default all")
    ap.add_argument("--workloads", help="comma-separated subset of workloads (of either part)")
    ap.add_argument("--allocators", help="comma-separated subset of goheap,glibc,mimalloc,jemalloc,tcmalloc "
                    "(and goheap-noprof: goheap with its heap profile off, on request only) "
                                         "(malloc part) and goheap,bdwgc,go (collected part)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the callgrind tables")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing peers")
    ap.add_argument("--timeout", type=float, help="seconds before a run counts as hung (default 60 full, 20 quick)")
    ap.add_argument("--out", help="output path without extension (default bench/results/DATE[-quick])")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    timeout = args.timeout or (20.0 if args.quick else 60.0)
    t_start = time.time()

    all_names = ["goheap"] + [p[0] for p in PEERS]
    gc_all_names = [g[0] for g in GC_ALLOCATORS]
    want = args.allocators.split(",") if args.allocators else all_names + gc_all_names[1:]
    all_names.append("goheap-noprof")  # only on request: the heap profile's cost (GOHEAP_PROFILE_RATE=0)
    for n in want:
        if n not in all_names + gc_all_names:
            ap.error(f"unknown allocator {n}")

    workloads = MANUAL_WORKLOADS if args.only in ("all", "manual") else []
    gc_workloads = COLLECTED_WORKLOADS if args.only in ("all", "gc") else []
    if args.workloads:
        sel = args.workloads.split(",")
        unknown = set(sel) - {w[0] for w in workloads + gc_workloads}
        if unknown:
            ap.error(f"unknown workloads (for --only {args.only}): {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w[0] in sel]
        gc_workloads = [w for w in gc_workloads if w[0] in sel]
    manual_part = args.only in ("all", "manual") and bool(workloads)
    gc_part = bool(gc_workloads)
    want_gc = [n for n in gc_all_names if n in want] if gc_part else []
    ensure_installed(want if manual_part else [], args.no_install, want_gc)

    goheap_lib = str(Path(os.environ.get("GOHEAP_LIB") or str(ROOT / "build" / "libgoheap.so")).resolve())
    allocators = []
    for n in all_names:
        if n not in want or not manual_part:
            continue
        if n == "goheap":
            if not Path(goheap_lib).exists():
                log(f"bench: goheap library {goheap_lib} not found (run `make` first, or set GOHEAP_LIB)")
                sys.exit(2)
            allocators.append({"name": n, "lib": goheap_lib, "version": goheap_version()})
            continue
        if n == "goheap-noprof":
            allocators.append({"name": n, "lib": goheap_lib, "env": {"GOHEAP_PROFILE_RATE": "0"},
                               "version": goheap_version() + ", heap profile off (GOHEAP_PROFILE_RATE=0)"})
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
    baseline = "goheap" if "goheap" in names else (names[0] if names else None)

    # The collected part: goheap always runs (a variant that does not build is FAILED).
    gc_allocators = []
    for n in want_gc:
        if n == "goheap":
            gc_allocators.append({"name": n, "version": goheap_version() + f" — `{goheap_lib}`"})
        elif n == "bdwgc":
            e = {"name": n, "version": f"libgc-dev {pkg_version('libgc-dev')} (bdwgc)"}
            if not have_gc_peer(n):
                e["missing"] = "not installed: left out"
            gc_allocators.append(e)
        elif n in GC_VARIANTS:
            base, venv = GC_VARIANTS[n]
            gc_allocators.append({"name": n, "version": f"the {base} build, with "
                                  + " ".join(f"{k}={v}" for k, v in venv.items())})
        elif n == "go":
            e = {"name": n, "version": (sh([go_exe(), "version"]) if go_exe() else "")
                 + f" (golang-go {pkg_version('golang-go')})"}
            if not have_gc_peer(n):
                e["missing"] = "not installed: left out"
            gc_allocators.append(e)
    for e in gc_allocators:
        if e.get("missing"):
            log(f"bench: {e['name']} not found, left out of the collected part")
    gc_names = [e["name"] for e in gc_allocators if not e.get("missing")]
    gc_baseline = "goheap" if "goheap" in gc_names else (gc_names[0] if gc_names else None)

    if manual_part and not build_all():
        log("bench: some workloads failed to build; they will show as FAILED")
    elif not manual_part:
        BUILD.mkdir(parents=True, exist_ok=True)
        if not build_one(BENCH / "runner.c", BUILD / "runner"):
            sys.exit("bench: cannot build bench/runner.c")
    gc_build_err = {}
    if gc_part and gc_names:
        log("bench: building the collected workloads (" + ", ".join(gc_names) + ")")
        gc_build_err = build_collected(sorted({w[2] for w in gc_workloads}), gc_names, goheap_lib)
        for (src, a), e in sorted(gc_build_err.items()):
            log(f"bench: {src} for {a}: {e}; shown as FAILED")

    params, cmds = {}, {}
    for w in workloads + gc_workloads:
        cmd, stdin, env = workload_cmd(w, mode, args.threads)
        cmds[w[0]] = (cmd, stdin, env)
        wargs = expand(w[3] if mode == "full" else w[4], args.threads)
        params[w[0]] = " ".join(wargs) if w[1] in ("c", "collected") else "N=" + " ".join(wargs)

    data = {
        "date": datetime.date.today().isoformat(),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "command": "python3 bench/run.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        "rounds": args.runs,
        "threads": args.threads,
        "machine": machine_info(),
        "allocators": allocators,
        "gc_allocators": gc_allocators,
        "gc_env": {k: os.environ[k] for k in GC_ENV if k in os.environ},
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
    if not manual_part:
        del data["tools"]["sqlite3"], data["tools"]["python (workload)"]

    total = args.runs * (len(workloads) * len(runnable) + len(gc_workloads) * len(gc_names))
    done = 0
    hung = set()

    def one(rnd, wname, aname, run):
        nonlocal done
        measures = {}
        if (wname, aname) in hung:  # one hang is enough: don't wait out every round
            st, secs, rss, result, note = "skipped", None, None, "", "not run: an earlier run timed out"
        else:
            st, secs, rss, result, note = run(measures)
        if st == "timeout":
            hung.add((wname, aname))
        done += 1
        rec = {"workload": wname, "alloc": aname, "round": rnd, "status": st,
               "secs": secs, "maxrss_kib": rss, "result": result, "note": note}
        if measures:
            rec["measures"] = measures
        data["runs"].append(rec)
        msg = f"{secs:.3f}s {rss / 1024:.1f}MiB" if st == "ok" else f"{st.upper()}: {note}"
        if measures.get("pause_n") is not None:
            msg += f" (collections {measures['pause_n']:.0f}, max pause {measures.get('pause_max_ms', 0):.2f} ms)"
        log(f"[{done}/{total}] round {rnd + 1} {wname:18s} {aname:9s} {msg}")

    for rnd in range(args.runs):
        for w in workloads:
            cmd, stdin, env = cmds[w[0]]
            for a in runnable:
                one(rnd, w[0], a["name"], lambda ms, a=a: run_once(cmd, stdin, {**env, **a.get("env", {})}, a["lib"], timeout))
        for w in gc_workloads:
            cmd, stdin, env = cmds[w[0]]
            for a in gc_names:
                base, venv = GC_VARIANTS.get(a, (a, {}))
                err = gc_build_err.get((w[2], base))
                if err:
                    one(rnd, w[0], a, lambda ms, err=err: ("fail", None, None, "", err))
                    continue
                acmd = [x.replace("{alloc}", base) for x in cmd]
                aenv = {**env, **venv}
                one(rnd, w[0], a, lambda ms, acmd=acmd, aenv=aenv: run_once(acmd, stdin, aenv, None, timeout, ms))

    if not args.no_callgrind:
        if manual_part and runnable:
            data["callgrind"] = run_callgrind(runnable, mode)
        else:
            data["callgrind"] = {"error": "the malloc part was not run"}
        if gc_part and gc_names:
            data["callgrind_gc"] = run_callgrind_gc(gc_names, mode, goheap_lib)

    wnames = [w[0] for w in workloads]
    gc_wnames = [w[0] for w in gc_workloads]
    cells = summarize(data, wnames, names)
    gc_cells = summarize(data, gc_wnames, gc_names, majority=("bdwgc", "go", "goheap"))
    data["elapsed_s"] = time.time() - t_start
    data["summary"] = {f"{w}|{a}": c for (w, a), c in list(cells.items()) + list(gc_cells.items())}

    if args.out:
        base = Path(args.out).resolve()
    else:
        base = RESULTS / (data["date"] + ("-quick" if args.quick else ""))
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    chart_err = "not run"
    if wnames and names:
        chart_err = write_chart(base, wnames, [n for n in names if n != baseline], baseline, cells)
        if not chart_err:
            written.append(base.with_suffix(".svg").name)
    gc_svg = base.parent / (base.name + "-gc.svg")
    gc = None
    if gc_wnames:
        gc = {"workloads": gc_wnames, "allocs": gc_names, "baseline": gc_baseline, "cells": gc_cells,
              "svg": str(gc_svg), "chart_err": "no collector ran"}
        if gc_names:
            gc["chart_err"] = write_chart(base, gc_wnames, [n for n in gc_names if n != gc_baseline],
                                          gc_baseline, gc_cells, svg=gc_svg, label="Collected memory: ")
            if not gc["chart_err"]:
                written.append(gc_svg.name)
    write_report(base, data, cells, wnames, names, baseline, chart_err, gc)
    base.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    log(f"bench: wrote {base.with_suffix('.md')}" + "".join(f", {x}" for x in written)
        + f", {base.with_suffix('.json').name} in {data['elapsed_s'] / 60:.1f} min")
    print(base.with_suffix(".md").read_text())
    bad = [f"{w}/{a} ({c['status']})" for (w, a), c in list(cells.items()) + list(gc_cells.items())
           if c["status"] != "ok"]
    if bad:
        log(f"bench: {len(bad)} failed (shown as such in the report): {', '.join(bad)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
