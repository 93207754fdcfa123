#!/usr/bin/env python3
"""pinprof.py - split pinwake's wake-ups into their parts.

Run the bench with EMUFS_PIN_PROFILE=FILE in its environment (emufs writes
its pin watcher's rounds to FILE, bench/pinwake.c its toggles to
FILE.bench, both in microseconds of CLOCK_MONOTONIC), then
`bench/pinprof.py FILE`. For each toggle: the raw qom-set's round trip,
the wait from its reply to the start of the watcher's round that saw the
change, that round's sending of its qom-gets, the wait for the replies up
to the changed pin's (incl. parsing), and the wake of poll() after emufs
recorded the change. p50/p95/max per width, in ms.
"""
import bisect
import sys


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0


def main(path):
    rounds, changes = [], {}
    for line in open(path):
        f = line.split()
        if f[0] == 'round':
            rounds.append(tuple(float(x) for x in f[1:4]) + (int(f[4]),))
        elif f[0] == 'change':
            changes.setdefault(f[2], []).append(float(f[1]))
    rounds.sort()
    starts = [r[0] for r in rounds]
    width, parts = None, {}
    for line in open(path + '.bench'):
        f = line.split()
        if f[0] == 'width':
            width = int(f[1])
            parts[width] = {k: [] for k in
                            ('qom-set', 'period wait', 'send', 'replies',
                             'wake', 'round', 'total')}
            continue
        inst, t0, tset, t1, ok = f[1], *map(float, f[2:5]), int(f[5])
        if not ok:
            continue
        ch = changes.get(inst, [])
        j = bisect.bisect_left(ch, t0)
        if j == len(ch) or ch[j] > t1:
            continue
        tc = ch[j]
        k = bisect.bisect_right(starts, tc) - 1
        start, sent, done, _ = rounds[k]
        p = parts[width]
        p['qom-set'].append(tset - t0)
        p['period wait'].append(start - tset)
        p['send'].append(sent - start)
        p['replies'].append(tc - sent)
        p['wake'].append(t1 - tc)
        p['round'].append(done - start)
        p['total'].append(t1 - t0)
    for w, p in parts.items():
        n = len(p['total'])
        print(f'{w} watched pin(s), {n} toggles joined (ms: p50 / p95 / max)')
        for k, v in p.items():
            print(f'  {k:12s} {pct(v, 50) / 1e3:7.2f} {pct(v, 95) / 1e3:7.2f}'
                  f' {max(v, default=0) / 1e3:7.2f}')
    rs = [r for r in rounds if r[3] > 0]
    by_n = {}
    for r in rs:
        by_n.setdefault(r[3], []).append(r)
    for nq, v in sorted(by_n.items()):
        send = [r[1] - r[0] for r in v]
        coll = [r[2] - r[1] for r in v]
        gap = [b[0] - a[0] for a, b in zip(v, v[1:]) if b[0] - a[0] < 5e6]
        print(f'rounds of {nq} questions: {len(v)}; send p50 {pct(send, 50) / 1e3:.2f}'
              f' p95 {pct(send, 95) / 1e3:.2f}; replies p50 {pct(coll, 50) / 1e3:.2f}'
              f' p95 {pct(coll, 95) / 1e3:.2f}; start-to-start p50'
              f' {pct(gap, 50) / 1e3:.2f} p95 {pct(gap, 95) / 1e3:.2f} ms')


if __name__ == '__main__':
    main(sys.argv[1])
