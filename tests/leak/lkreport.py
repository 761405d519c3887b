#!/usr/bin/env python3
"""lkreport.py -- reads goheap's leak reports (GOHEAP_LEAKCHECK=1, gh_check_leaks)
and valgrind memcheck logs, for tests/suites/leakcheck.sh.

  lkreport.py show FILE                     every report in FILE, frames symbolized
  lkreport.py known FILE EXE EXPECT LABEL [REPORT_INDEX]
        checks report REPORT_INDEX (default: the last) of FILE against the
        expectations in EXPECT (see leakcheck.sh) and prints PASS/FAIL lines
  lkreport.py compare LABEL GHFILE VGLOG...
        every group of every goheap report in GHFILE must be found by
        valgrind (VGLOG: logs of `valgrind -v -v --leak-check=full
        --show-leak-kinds=definite,indirect`) as "definitely lost" (a direct
        group) or "definitely"/"indirectly lost" (an indirect one); prints a
        PASS/FAIL line, the matches, and a one-line summary.

A frame is identified by (object, address in the object's ELF address space):
goheap prints object+offset from the object's load base (dladdr's
dli_fbase, the first mapped page); valgrind prints absolute addresses and,
with -v -v, each object's "svma ..., avma ..." pair, whose difference is the
load bias. Both become the ELF virtual address that addr2line takes (for a
PIE or a shared library the offset itself; for a non-PIE executable, like
Debian's python3, offset + 0x400000).

Matching a goheap group with a valgrind loss record: valgrind's frames inside
its own preload object (its replacement malloc, strdup, operator new...) are
dropped; goheap's leading frames may be skipped while they are allocator
frames valgrind replaced or never sees (in libc, libstdc++, libgoheap, or
named like an allocator: strdup, xmalloc...); then the next frames (up to
MATCH_DEPTH, at least all there are when fewer) must be the same in both.
"""
import os
import re
import shutil
import struct
import subprocess
import sys

MATCH_DEPTH = 4
ALLOC_NAME = re.compile(
    r'^(__libc_|__)?(malloc|calloc|realloc|reallocarray|free|memalign|posix_memalign|aligned_alloc|valloc|pvalloc|'
    r'strdup|strndup|wcsdup|x?(malloc|calloc|realloc|zalloc|strdup|strndup|memdup)|do_xmalloc|do_xmallocz|xmallocz|'
    r'xmemdupz|_Zn[wa]m.*|operator new.*|Py(Mem|Object)_\w*[Mm]alloc\w*|_Py(Mem|Object)_\w*[Mm]alloc\w*|'
    r'PyMem_RawCalloc|_PyMem_RawCalloc|sqlite3Malloc\w*|sqlite3_malloc\w*|sqlite3MemMalloc)$')
ALLOC_OBJECT = re.compile(r'/(libc\.so|libc-[\d.]+\.so|libstdc\+\+\.so|libgoheap[^/]*\.so|ld-linux[^/]*\.so)[^/]*$')

# ---- ELF and symbols ----------------------------------------------------------------


_elf = {}


def elf_extent(path):
    """(lowest PT_LOAD vaddr rounded down to a page, highest PT_LOAD end), or None."""
    if path in _elf:
        return _elf[path]
    r = None
    try:
        with open(path, 'rb') as f:
            h = f.read(64)
            if h[:4] == b'\x7fELF' and h[4] == 2:  # ELF64, little endian assumed (x86-64, arm64)
                phoff, = struct.unpack_from('<Q', h, 0x20)
                phentsize, phnum = struct.unpack_from('<HH', h, 0x36)
                f.seek(phoff)
                ph = f.read(phentsize * phnum)
                lo, hi = None, None
                for i in range(phnum):
                    p_type, = struct.unpack_from('<I', ph, i * phentsize)
                    if p_type != 1:
                        continue
                    vaddr, = struct.unpack_from('<Q', ph, i * phentsize + 0x10)
                    memsz, = struct.unpack_from('<Q', ph, i * phentsize + 0x28)
                    lo = vaddr if lo is None else min(lo, vaddr)
                    hi = vaddr + memsz if hi is None else max(hi, vaddr + memsz)
                if lo is not None:
                    r = (lo & ~0xfff, hi)
    except OSError:
        pass
    _elf[path] = r
    return r


_symbols = {}


def has_symbols(path):
    """Whether addr2line can name static functions in path: a .symtab or
    DWARF in the file, or a separate debug file found by build-id. Without
    them addr2line names the nearest exported symbol below, which is wrong
    for every static function; the dynamic symbol whose extent holds the
    address (what goheap prints after "in") is used instead."""
    if path in _symbols:
        return _symbols[path]
    r = False
    try:
        with open(path, 'rb') as f:
            data = f.read()
        if data[:4] == b'\x7fELF' and data[4] == 2:
            shoff, = struct.unpack_from('<Q', data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
            secs = []
            for i in range(shnum):
                name, typ, _, _, off, size = struct.unpack_from('<IIQQQQ', data, shoff + i * shentsize)
                secs.append((name, typ, off, size))
            stroff = secs[shstrndx][2] if shstrndx < len(secs) else 0

            def nm(k):
                e = data.index(b'\0', stroff + k)
                return data[stroff + k:e].decode(errors='replace')

            names = {nm(sec[0]): sec for sec in secs}
            if '.symtab' in names or '.debug_info' in names:
                r = True
            elif '.note.gnu.build-id' in names:
                _, _, off, size = names['.note.gnu.build-id']
                namesz, descsz = struct.unpack_from('<II', data, off)
                desc = data[off + 12 + ((namesz + 3) & ~3):][:descsz].hex()
                r = os.path.exists('/usr/lib/debug/.build-id/%s/%s.debug' % (desc[:2], desc[2:]))
    except (OSError, ValueError, struct.error, IndexError):
        pass
    _symbols[path] = r
    return r


def resolve(obj, hints=()):
    """The real path of an object name as goheap printed it (dladdr's name:
    absolute for libraries, argv[0] for the executable)."""
    cands = [obj] if obj.startswith('/') else [os.path.join(h, obj) for h in hints] + [obj]
    if '/' not in obj:
        w = shutil.which(obj)
        if w:
            cands.append(w)
    for c in cands:
        if os.path.exists(c):
            return os.path.realpath(c)
    return obj


_sym = {}


def symbolize(path, vaddrs):
    """addr2line -f for each vaddr: function name or None."""
    need = sorted({a for a in vaddrs if (path, a) not in _sym})
    if need and os.path.exists(path) and shutil.which('addr2line'):
        try:
            out = subprocess.run(['addr2line', '-f', '-e', path] + ['0x%x' % a for a in need],
                                 capture_output=True, text=True, timeout=120).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        for i, a in enumerate(need):
            fn = out[2 * i] if 2 * i < len(out) else '??'
            _sym[(path, a)] = None if fn in ('??', '') else fn
    for a in need:
        _sym.setdefault((path, a), None)
    return [_sym[(path, a)] for a in vaddrs]


# ---- goheap's reports ---------------------------------------------------------------

G_HDR = re.compile(r'^==(\d+)==goheap: detected memory leaks$')
G_GRP = re.compile(r'^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:$')
G_FRM = re.compile(r'^    #(\d+) 0x([0-9a-f]+)(?: in (\S+)\+0x([0-9a-f]+))?(?: \((.*)\+0x([0-9a-f]+)\))?$')
G_SUM = re.compile(r'^SUMMARY: goheap: (\d+) byte\(s\) leaked in (\d+) allocation\(s\) '
                   r'\(direct: (\d+) bytes in (\d+), indirect: (\d+) bytes in (\d+)\)\.$')


class Frame:
    def __init__(self, pc, sym, obj, off, hints=()):
        self.pc, self.sym, self.obj_printed, self.off = pc, sym, obj, off
        self.obj = resolve(obj, hints) if obj else None
        ext = elf_extent(self.obj) if self.obj else None
        self.vaddr = off + ext[0] if (ext and off is not None) else None
        self.fn = None  # filled by symbolize_frames

    def key(self):
        return (self.obj, self.vaddr) if self.obj and self.vaddr is not None else ('?', self.pc)

    def name(self):
        return self.fn or self.sym or '?'

    def desc(self):
        base = os.path.basename(self.obj) if self.obj else '?'
        where = '%s+0x%x' % (base, self.off) if self.off is not None else '0x%x' % self.pc
        return '%s (%s)' % (self.name(), where)


def symbolize_frames(frames):
    by_obj = {}
    for f in frames:
        if f.obj and f.vaddr is not None:
            by_obj.setdefault(f.obj, []).append(f)
    for obj, fs in by_obj.items():
        names = symbolize(obj, [f.vaddr for f in fs]) if has_symbols(obj) else [None] * len(fs)
        for f, n in zip(fs, names):
            f.fn = n or (f.sym if f.sym else None)
    for f in frames:
        if f.fn is None and f.sym:
            f.fn = f.sym


def parse_goheap(path, hints=()):
    """[{pid, groups: [{kind, bytes, count, frames}], summary: (6 ints) or None}]"""
    reports, rep, grp = [], None, None
    try:
        lines = open(path, errors='replace').read().splitlines()
    except OSError:
        lines = []
    for ln in lines:
        m = G_HDR.match(ln)
        if m:
            rep = {'pid': int(m.group(1)), 'groups': [], 'summary': None}
            reports.append(rep)
            grp = None
            continue
        if rep is None:
            continue
        m = G_GRP.match(ln)
        if m:
            grp = {'kind': m.group(1), 'bytes': int(m.group(2)), 'count': int(m.group(3)), 'frames': []}
            rep['groups'].append(grp)
            continue
        m = G_FRM.match(ln)
        if m and grp is not None:
            pc = int(m.group(2), 16)
            sym = m.group(3)
            obj = m.group(5)
            off = int(m.group(6), 16) if m.group(6) else None
            grp['frames'].append(Frame(pc, sym, obj, off, hints))
            continue
        m = G_SUM.match(ln)
        if m:
            rep['summary'] = tuple(int(x) for x in m.groups())
            rep, grp = None, None
    allf = [f for r in reports for g in r['groups'] for f in g['frames']]
    symbolize_frames(allf)
    return reports


# ---- valgrind's logs ----------------------------------------------------------------

V_READ = re.compile(r'^--\d+-- Reading syms from (\S+)')
V_SVMA = re.compile(r'^--\d+--\s+svma 0x([0-9a-fA-F]+), avma 0x([0-9a-fA-F]+)')
V_CMD = re.compile(r'^==(\d+)== Command: (.*)$')
V_REC = re.compile(r'^==\d+== ([\d,]+) (?:\(([\d,]+) direct, ([\d,]+) indirect\) )?bytes in ([\d,]+) blocks '
                   r'are (definitely|indirectly|possibly) lost in loss record')
V_FRM = re.compile(r'^==\d+==    (?:at|by) 0x([0-9A-Fa-f]+): (.*)$')
V_SUM = re.compile(r'^==\d+==\s+(definitely|indirectly|possibly) lost: ([\d,]+) bytes in ([\d,]+) blocks')
V_IN = re.compile(r'^(.*?) \(in (.*)\)$')


def num(s):
    return int(s.replace(',', '')) if s else 0


class VFrame:
    def __init__(self, addr, text, objects):
        self.addr = addr
        self.fn, self.obj, self.vaddr = text, None, None
        m = V_IN.match(text)
        path = None
        if m:
            self.fn, path = m.group(1), os.path.realpath(m.group(2))
        else:
            self.fn = re.sub(r' \([^()]*\)$', '', text)
        for o in objects:  # (real path, bias, lo, hi)
            if (path is None or o[0] == path) and o[2] <= addr < o[3]:
                self.obj, self.vaddr = o[0], addr - o[1]
                break
        if self.obj is None and path:
            self.obj = path
        if self.fn == '???':
            self.fn = None

    def key(self):
        return (self.obj, self.vaddr) if self.obj and self.vaddr is not None else ('?', self.addr)

    def name(self):
        return self.fn or '?'

    def desc(self):
        base = os.path.basename(self.obj) if self.obj else '?'
        return '%s 0x%x (%s)' % (self.fn or '?', self.addr, base)


def parse_valgrind(path):
    """{cmd, pid, records: [{kind, direct, indirect, blocks, frames}], sums: {kind: (bytes, blocks)}}"""
    lines = open(path, errors='replace').read().splitlines()
    objects, cur = [], None
    log = {'cmd': '?', 'pid': 0, 'records': [], 'sums': {}, 'noleaks': False, 'file': path}
    # first pass: the objects and their load biases
    for ln in lines:
        m = V_READ.match(ln)
        if m:
            cur = os.path.realpath(m.group(1))
            continue
        m = V_SVMA.match(ln)
        if m and cur:
            bias = int(m.group(2), 16) - int(m.group(1), 16)
            ext = elf_extent(cur)
            if ext:
                objects.append((cur, bias, ext[0] + bias, ext[1] + bias))
            cur = None
    rec = None
    for ln in lines:
        m = V_CMD.match(ln)
        if m:
            log['pid'], log['cmd'] = int(m.group(1)), m.group(2)
            continue
        m = V_REC.match(ln)
        if m:
            total, d, i, blocks, kind = num(m.group(1)), m.group(2), m.group(3), num(m.group(4)), m.group(5)
            direct = num(d) if d is not None else (total if kind != 'indirectly' else 0)
            indirect = num(i) if i is not None else (total if kind == 'indirectly' else 0)
            rec = {'kind': kind, 'direct': direct, 'indirect': indirect, 'blocks': blocks, 'frames': []}
            log['records'].append(rec)
            continue
        m = V_FRM.match(ln)
        if m and rec is not None:
            fr = VFrame(int(m.group(1), 16), m.group(2), objects)
            # an inlined frame repeats its caller's address: keep one per address
            if not rec['frames'] or rec['frames'][-1].addr != fr.addr:
                rec['frames'].append(fr)
            else:
                rec['frames'][-1] = fr  # the outermost name for that address
            continue
        if rec is not None and re.match(r'^==\d+== ?$', ln):
            rec = None
        m = V_SUM.match(ln)
        if m:
            log['sums'][m.group(1)] = (num(m.group(2)), num(m.group(3)))
        if 'All heap blocks were freed -- no leaks are possible' in ln:
            log['noleaks'] = True
    for r in log['records']:
        r['frames'] = [f for f in r['frames'] if not (f.obj and 'vgpreload' in os.path.basename(f.obj))]
    return log


# ---- matching -----------------------------------------------------------------------


def is_alloc_frame(f):
    return bool((f.name() and ALLOC_NAME.match(f.name())) or (f.obj and ALLOC_OBJECT.search(f.obj)))


def match_depth(gframes, vframes):
    """How many frames agree after the allocator frames; 0: no match."""
    if not vframes:
        return 0
    for i in range(0, min(4, len(gframes))):
        if i > 0 and not is_alloc_frame(gframes[i - 1]):
            break
        if gframes[i].key() != vframes[0].key():
            continue
        n = 0
        while i + n < len(gframes) and n < len(vframes) and gframes[i + n].key() == vframes[n].key():
            n += 1
        need = min(MATCH_DEPTH, len(gframes) - i, len(vframes))
        # a short stack may end differently in the C library (a thread's
        # clone3 is clone under valgrind): enough when 2 frames agree first
        if n < need and n >= 2 and i + n < len(gframes) and gframes[i + n].obj and \
                re.search(r'/(libc\.so|ld-linux)[^/]*$', gframes[i + n].obj):
            return n
        return n if n >= need else 0
    return 0


def cmd_compare(label, ghfile, vgfiles):
    reports = parse_goheap(ghfile)
    logs = [parse_valgrind(p) for p in vgfiles]
    records = [(lg, r) for lg in logs for r in lg['records'] if r['kind'] != 'possibly']
    vdef = [sum(lg['sums'].get('definitely', (0, 0))[k] for lg in logs) for k in (0, 1)]
    vind = [sum(lg['sums'].get('indirectly', (0, 0))[k] for lg in logs) for k in (0, 1)]
    # goheap's groups with the same stack and kind in several processes (git
    # commit twice) add up, as valgrind's records of those processes will
    agg = {}
    for rep in reports:
        for g in rep['groups']:
            k = (g['kind'], tuple(f.key() for f in g['frames']))
            if k not in agg:
                agg[k] = {'kind': g['kind'], 'bytes': 0, 'count': 0, 'frames': g['frames'], 'pids': []}
            agg[k]['bytes'] += g['bytes']
            agg[k]['count'] += g['count']
            agg[k]['pids'].append(rep['pid'])
    groups = sorted(agg.values(), key=lambda g: (g['kind'] != 'Direct', -g['bytes']))
    gd, gi = [0, 0], [0, 0]
    nsize = 0
    unconfirmed, lines, used = [], [], set()
    for g in groups:
        acc = gd if g['kind'] == 'Direct' else gi
        acc[0] += g['bytes']
        acc[1] += g['count']
        ok_kinds = ('definitely',) if g['kind'] == 'Direct' else ('definitely', 'indirectly')
        cands = []
        for lg, r in records:
            d = match_depth(g['frames'], r['frames'])
            if d:
                good = r['kind'] in ok_kinds and (g['kind'] == 'Indirect' or r['direct'] > 0)
                cands.append((d, good, lg, r))
        best = [c for c in cands if c[1]]
        if best:  # the records agreeing on the most frames
            top = max(c[0] for c in best)
            best = [c for c in best if c[0] == top]
        k0 = next((k for k, f in enumerate(g['frames']) if not is_alloc_frame(f)), 0)
        where = ' <- '.join(f.desc() for f in g['frames'][k0:k0 + 2]) or '(no stack)'
        gdesc = '%s %d B in %d [pid %s] at %s' % (g['kind'].lower(), g['bytes'], g['count'],
                                                   ','.join(map(str, g['pids'])), where)
        if not best:
            other = [c for c in cands if not c[1]]
            why = 'no valgrind loss record with that stack'
            if other:
                why = 'valgrind has that stack only as: ' + '; '.join(
                    '%s lost %d B (%d direct) in %d blocks [%s]' % (r['kind'], r['direct'] + r['indirect'], r['direct'],
                                                                  r['blocks'], lg['cmd'][:60]) for _, _, lg, r in other[:3])
            unconfirmed.append((gdesc, why, g))
            continue
        if g['kind'] == 'Direct':
            vb = sum(r['direct'] for _, _, _, r in best)
            vn = sum(r['blocks'] for _, _, _, r in best)
        else:  # valgrind's indirect records of that stack; failing those, the
            # indirect part of its definite ones (blocks from any stack)
            ind = [c for c in best if c[3]['kind'] == 'indirectly'] or best
            vb = sum(r['indirect'] for _, _, _, r in ind)
            vn = sum(r['blocks'] for _, _, _, r in ind if r['kind'] == 'indirectly')
            best = ind
        same = vb == g['bytes'] and vn == g['count']
        nsize += same
        for _, _, _, r in best:
            used.add(id(r))
        kinds = '/'.join(sorted({r['kind'] for _, _, _, r in best}))
        lines.append('  matched: goheap %s == valgrind %s lost %d B in %d (%d record(s), %d frames agree%s)' % (
            gdesc, kinds, vb, vn, len(best), best[0][0], '' if same else ', SIZE DIFFERS'))
    for gdesc, why, g in unconfirmed:
        lines.append('  UNCONFIRMED: goheap %s -- %s' % (gdesc, why))
        for k, f in enumerate(g['frames'][:12]):
            lines.append('      #%d %s' % (k, f.desc()))
    # valgrind's definite records goheap did not report (information: goheap may miss them)
    missed = [(lg, r) for lg, r in records if r['kind'] == 'definitely' and r['direct'] > 0 and id(r) not in used]
    for lg, r in missed:
        fr = next((f for f in r['frames'] if not is_alloc_frame(f)), r['frames'][0] if r['frames'] else None)
        lines.append('  valgrind only: definitely lost %d B in %d blocks at %s [%s]' % (
            r['direct'], r['blocks'], fr.desc() if fr else '?', lg['cmd'][:70]))
    print('SUMMARY %s: goheap direct %d B in %d, indirect %d B in %d (%d report(s), %d stack(s)) | '
          'valgrind definitely %d B in %d, indirectly %d B in %d (%d process(es)) | '
          'goheap stacks confirmed %d/%d (same bytes and count %d) | valgrind definite records goheap missed %d'
          % (label, gd[0], gd[1], gi[0], gi[1], len(reports), len(groups), vdef[0], vdef[1], vind[0], vind[1],
             len(logs), len(groups) - len(unconfirmed), len(groups), nsize, len(missed)))
    for ln in lines:
        print(ln)
    if unconfirmed:
        print('FAIL %s: every goheap leak confirmed by valgrind -- %d of %d stack(s) not confirmed (above)' % (
            label, len(unconfirmed), len(groups)))
        return 1
    print('PASS %s: every goheap leak confirmed by valgrind (%d stack(s))' % (label, len(groups)))
    return 0


# ---- known.c's report ---------------------------------------------------------------


def cmd_known(path, exe, expect_file, label, index=None):
    """EXPECT lines:
         group KIND FUNCTION BYTES COUNT [FRAME0_REGEX]
         absent FUNCTION              (no group has a frame in FUNCTION)
         summary TOTAL N DBYTES DN IBYTES IN
       Prints PASS/FAIL lines; returns the number of FAILs."""
    exe = os.path.realpath(exe)
    reports = parse_goheap(path, hints=(os.path.dirname(exe),))
    fails = 0

    def res(ok, what, why=''):
        nonlocal fails
        fails += not ok
        print('%s %s: %s%s' % ('PASS' if ok else 'FAIL', label, what, '' if ok or not why else ' -- ' + why))

    if not reports:
        res(False, 'a leak report on stderr', 'none found in %s' % path)
        return fails
    rep = reports[-1 if index is None else index]
    groups = rep['groups']

    expect = [ln.split() for ln in open(expect_file)]
    expect = [w for w in expect if w and not w[0].startswith('#')]
    known_fns = {w[2] for w in expect if w[0] == 'group'} | {w[1] for w in expect if w[0] == 'absent'}

    def site(g):
        """The allocating function as (frame index, name): the first frame
        naming one of EXPECT's functions, else the first in the executable."""
        for k, f in enumerate(g['frames']):
            if f.name() in known_fns:
                return k, f.name()
        for k, f in enumerate(g['frames']):
            if f.obj == exe:
                return k, f.name()
        return None, None

    expected_sites = set()
    for w in expect:
        if not w or w[0].startswith('#'):
            continue
        if w[0] == 'group':
            kind, fn, nbytes, count = w[1], w[2], int(w[3]), int(w[4])
            f0re = w[5] if len(w) > 5 else '^%s$' % re.escape(fn)
            expected_sites.add((kind, fn))
            found = [g for g in groups if g['kind'] == kind and site(g)[1] == fn]
            what = '%s leak from %s: %d byte(s) in %d object(s)' % (kind, fn, nbytes, count)
            if len(found) != 1:
                have = ', '.join('%s %d in %d' % (g['kind'], g['bytes'], g['count'])
                                 for g in groups if site(g)[1] == fn) or 'nothing'
                res(False, what, '%d such groups (so frame #0 not checked); groups from %s: %s' % (len(found), fn, have))
                continue
            g = found[0]
            res(g['bytes'] == nbytes and g['count'] == count, what,
                'reported %d byte(s) in %d object(s)' % (g['bytes'], g['count']))
            f0 = g['frames'][0] if g['frames'] else None
            ok0 = bool(f0 and re.search(f0re, f0.name()))
            k, _ = site(g)
            ok1 = k == 0 or (k == 1 and f0re != '^%s$' % re.escape(fn))
            res(ok0 and ok1, '%s leak from %s: frame #0 symbolizes to %s' % (kind, fn, w[5] if len(w) > 5 else fn),
                'frame #0 is %s%s' % (f0.desc() if f0 else 'missing',
                                      '; %s is frame #%s' % (fn, k) if k else ''))
        elif w[0] == 'absent':
            fn = w[1]
            bad = [g for g in groups if any(f.name() == fn for f in g['frames'])]
            res(not bad, 'not reported: %s' % fn,
                '; '.join('%s %d B in %d' % (g['kind'], g['bytes'], g['count']) for g in bad))
        elif w[0] == 'summary':
            want = tuple(int(x) for x in w[1:7])
            got = rep['summary']
            res(got == want, 'SUMMARY: %d byte(s) in %d allocation(s) (direct: %d in %d, indirect: %d in %d)' % want,
                'reported %s' % (('%d byte(s) in %d allocation(s) (direct: %d in %d, indirect: %d in %d)' % got)
                                 if got else 'no SUMMARY line'))
        elif w[0] == 'no-others':
            extra = [g for g in groups if (g['kind'], site(g)[1]) not in expected_sites]
            res(not extra, 'no group other than the expected ones',
                '; '.join('%s %d B in %d at %s' % (g['kind'], g['bytes'], g['count'],
                                                   ' <- '.join(f.desc() for f in g['frames'][:3])) for g in extra))
    return fails


def cmd_show(path):
    for r in parse_goheap(path, hints=(os.getcwd(),)):
        print('report pid %d summary %s' % (r['pid'], r['summary']))
        for g in r['groups']:
            print('  %s %d B in %d' % (g['kind'], g['bytes'], g['count']))
            for k, f in enumerate(g['frames']):
                print('    #%d %s' % (k, f.desc()))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'show':
        return cmd_show(argv[1])
    if len(argv) >= 5 and argv[0] == 'known':
        return 1 if cmd_known(argv[1], argv[2], argv[3], argv[4], int(argv[5]) if len(argv) > 5 else None) else 0
    if len(argv) >= 3 and argv[0] == 'compare':
        return cmd_compare(argv[1], argv[2], argv[3:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # a FAIL line, so the suite counts it
        import traceback
        traceback.print_exc(file=sys.stdout)
        print('FAIL %s: lkreport.py %s crashed: %r' % (sys.argv[4 if sys.argv[1:2] == ['known'] else 2]
                                                        if len(sys.argv) > 4 else '?', sys.argv[1:2], e))
        sys.exit(3)
