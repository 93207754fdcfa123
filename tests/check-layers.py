#!/usr/bin/env python3
"""check-layers.py - the one rule of dependency, checked (docs/design.md).

A module is a .c file and the .h of the same name (either may be alone).
Module A depends on B when A's .c or .h includes B's .h, or when A's object
file uses a symbol that B's defines (so a header that declares another
module's functions cannot hide a cycle). This script fails when
  - the modules' dependency graph has a cycle (it prints one; the tables
    of handlers, src/emulators.c and fs/kind_table.c, are the places
    allowed to close a loop: the core finds an emulator in the table, the
    table names the emulators; fs/ dispatches through the kind table,
    which names the handlers), or
  - a layer includes what it must not:
      src/core/     nothing outside src/core/ (and no FUSE header)
      src/<emu>/    src/core/ and its own folder only
      src/*.c       (the table of emulators) anything under src/
      fs/           src/core/ and fs/ only (emulators only through the
                    connector table)
Usage: check-layers.py [BUILD_DIR]  (objects under BUILD_DIR/src, /fs;
without it, or before a build, only includes are checked).
Run by `make test`; prints one line per problem and a closing line.
"""
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SYS = re.compile(r'^\s*#\s*include\s+<(fuse[^>]*)>', re.M)


def files():
    for top in ("src", "fs"):
        for d, _, names in os.walk(top):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.join(d, n)


def module_of(path):
    return os.path.splitext(path)[0]


def resolve(including, name):
    """The repository path of a quoted include, as the compiler finds it
    (the including file's folder first, then -Isrc)."""
    for base in (os.path.dirname(including), "src"):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.exists(p):
            return p
    return None


# The tables of handlers: the one place of their layer that names every
# implementation (each emulator, each file kind's handlers), used by the
# code that dispatches through it. Edges from and to a table are not
# counted as dependencies, so they may close a loop.
TABLES = {os.path.join("src", "emulators"), os.path.join("fs", "kind_table")}


def layer(path):
    parts = path.split(os.sep)
    if parts[0] == "fs":
        return "fs"
    if len(parts) == 2:
        return "table"          # src/emulators.c
    return parts[1]             # core, qemu, renode, ...


def allowed(src_layer, dst_layer):
    return (src_layer == dst_layer or src_layer == "table" or
            dst_layer == "core")


problems = []
graph = {}
for f in files():
    text = open(f, encoding="utf-8").read()
    m = module_of(f)
    graph.setdefault(m, set())
    if layer(f) != "fs" and SYS.search(text):
        problems.append(f"{f}: includes a FUSE header outside fs/")
    for name in INC.findall(text):
        p = resolve(f, name)
        if p is None:
            problems.append(f"{f}: #include \"{name}\" not found")
            continue
        dm = module_of(p)
        if dm != m:
            graph[m].add(dm)
        if not allowed(layer(f), layer(p)):
            problems.append(f"{f}: {layer(f)} must not include {p} "
                            f"({layer(p)})")

def symbols(obj):
    """(defined, undefined) global symbols of an object file."""
    out = subprocess.run(["nm", "-g", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWC":
            defined.add(parts[2])
    return defined, undefined


build = sys.argv[1] if len(sys.argv) > 1 else None
if build:
    objs = {}
    for m in graph:
        o = os.path.join(build, m + ".o")
        # only objects of sources that exist: a moved file leaves one
        if os.path.exists(m + ".c") and os.path.exists(o):
            objs[m] = symbols(o)
    owner = {}
    for m, (defined, _) in objs.items():
        for s in defined:
            owner[s] = m
    for m, (_, undefined) in objs.items():
        if m in TABLES:
            continue
        for s in undefined:
            d = owner.get(s)
            if d and d != m and d not in TABLES:
                graph[m].add(d)
                if not allowed(layer(m), layer(d)):
                    problems.append(f"{m}.c uses {s} of {d}.c: "
                                    f"{layer(m)} must not use {layer(d)}")

# Cycles: depth-first search, reporting each cycle once.
WHITE, GREY, BLACK = 0, 1, 2
colour = {m: WHITE for m in graph}
stack = []
cycles = set()


def visit(m):
    colour[m] = GREY
    stack.append(m)
    for d in sorted(graph.get(m, ())):
        if colour.get(d, BLACK) == GREY:
            cyc = stack[stack.index(d):]
            k = cyc.index(min(cyc))
            cycles.add(tuple(cyc[k:] + cyc[:k]))
        elif colour.get(d) == WHITE:
            visit(d)
    stack.pop()
    colour[m] = BLACK


sys.setrecursionlimit(10000)
for m in sorted(graph):
    if colour[m] == WHITE:
        visit(m)
for c in sorted(cycles):
    problems.append("dependency cycle: " + " -> ".join(c + (c[0],)))

for p in problems:
    print(p)
print(f"layers: {len(graph)} modules, {len(problems)} problems")
sys.exit(1 if problems else 0)
