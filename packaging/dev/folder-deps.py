#!/usr/bin/env python3
"""Folder dependency graph of one Swift module, and any cycle in it.

Usage: folder-deps.py [--depth N] [--quiet] SOURCE_DIR [SOURCE_DIR ...]

A folder is a directory at depth N under SOURCE_DIR (default 1: its top-level folders; files
directly in SOURCE_DIR form the folder "."). Folder A depends on folder B when a file in A names
a top-level declaration of B (a type, protocol, typealias, function or global): a use, a
conformance or an `extension`. Comments and string literals are ignored. Prints each edge with
a few of the names behind it, then every cycle (strongly connected component of more than one
folder); exits 1 when there is a cycle. Approximate by design (names, not a type checker):
good enough to keep a module's folders layered.
"""
import argparse
import os
import re
import sys

DECL = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|private|fileprivate|package|open|final|indirect|"
    r"nonisolated|static|mutating)\s+)*(?:struct|class|enum|protocol|actor|typealias|func|let|var)\s+"
    r"([A-Za-z_]\w*)")
IDENT = re.compile(r"[A-Za-z_]\w*")


def strip_comments_and_strings(text):
    """Source text with comments and string literal contents blanked (line breaks kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "#" or c == '"':
            m = re.match(r'(#*)("""|")', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            hashes, quote = m.group(1), m.group(2)
            close = quote + hashes
            i += len(m.group(0))
            while i < n and not text.startswith(close, i):
                if text[i] == "\\" and not hashes:
                    i += 2
                    continue
                if text[i] == "\n":
                    out.append("\n")
                i += 1
            i += len(close)
            out.append('""')
        else:
            out.append(c)
            i += 1
    return "".join(out)


def folder_of(root, path, depth):
    parts = os.path.relpath(path, root).split(os.sep)[:-1]
    return "/".join(parts[:depth]) if parts else "."


def analyse(root, depth):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".swift"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    files[path] = strip_comments_and_strings(f.read())
    declared = {}
    for path, text in files.items():
        folder = folder_of(root, path, depth)
        for line in text.splitlines():
            m = DECL.match(line)
            if m:
                declared.setdefault(m.group(1), set()).add(folder)
    edges = {}
    for path, text in files.items():
        folder = folder_of(root, path, depth)
        for name in set(IDENT.findall(text)):
            for target in declared.get(name, ()):
                if target != folder and folder not in declared.get(name, ()):
                    edges.setdefault(folder, {}).setdefault(target, set()).add(name)
    folders = sorted({folder_of(root, p, depth) for p in files})
    return folders, edges


def cycles(folders, edges):
    """Tarjan's strongly connected components of more than one folder."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in folders:
        if v not in index:
            visit(v)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="print only cycles")
    parser.add_argument("roots", nargs="+")
    args = parser.parse_args()
    status = 0
    for root in args.roots:
        folders, edges = analyse(root, args.depth)
        print(f"{root}: {len(folders)} folders")
        if not args.quiet:
            for source in sorted(edges):
                for target in sorted(edges[source]):
                    names = sorted(edges[source][target])
                    shown = ", ".join(names[:4]) + (f", +{len(names) - 4}" if len(names) > 4 else "")
                    print(f"  {source} -> {target}  ({shown})")
        found = cycles(folders, edges)
        for component in found:
            print(f"  CYCLE: {' <-> '.join(component)}")
        if found:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
