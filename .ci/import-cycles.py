#!/usr/bin/env python3
"""Fails when a crate of the Cargo workspace has an import cycle between its source files.

File A depends on file B when A names an item defined in B: in a `use` (groups, `as`,
globs) or in a path written in code (`crate::x::Y`, `super::p::Packet::Event`, `m::f()`
after `use crate::m;`). Re-exports are followed to the file that defines the item, so a
crate root or mod.rs that only re-exports is no hub; `mod x;` is no dependency; inline
`mod x { ... }` blocks (tests included) are part of their file. Every target (lib, bins,
tests, examples, benches, build script) is a crate of its own; paths into other crates are
ignored. A cycle is a strongly connected component of more than one file.

Usage: import-cycles.py [WORKSPACE_DIR]   exit 1 with the cycles when there are any, 2 when
                                          a module file is missing or cannot be read whole
       import-cycles.py --self-test
"""

import glob
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# Comments, literals and lifetimes are matched whole so that nothing inside them is taken
# for a path; block comments nest, so they are skipped by hand (see `tokenize`).
TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>//[^\n]*)
      | (?P<block>/\*)
      | (?P<str>b?r(?P<hashes>\#*)".*?"(?P=hashes) | b?"(?:\\.|[^"\\])*")
      | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]*\}|.)|[^\\'])')
      | (?P<lifetime>'[A-Za-z_]\w*)
      | (?P<id>(?:r\#)?[A-Za-z_]\w*)
      | (?P<num>\d\w*)
      | (?P<p>::|.)""",
    re.X | re.S,
)
# Keywords that never start a path (`crate`, `self`, `super` do).
KEYWORDS = set(
    "as async await break const continue dyn else enum extern false fn for if impl in let "
    "loop match mod move mut pub ref return static struct trait true type unsafe use where "
    "while union macro_rules Self".split()
)
ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "union", "static", "const"}
# A single name right after one of these is being defined, not used.
DEFINING = ITEM_KEYWORDS | {"mod", "let", "mut", "ref"}


@dataclass
class Tok:
    kind: str
    text: str
    line: int


def tokenize(src):
    toks, pos, line = [], 0, 1
    while pos < len(src):
        m = TOKEN.match(src, pos)
        kind, text = m.lastgroup, m.group()
        if kind == "block":
            depth, end = 1, pos + 2
            while depth and end < len(src):
                if src.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif src.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
            text = src[pos:end]
        elif kind not in ("space", "comment"):
            toks.append(Tok(kind, text.removeprefix("r#") if kind == "id" else text, line))
        line += text.count("\n")
        pos += len(text)
    toks.append(Tok("eof", "", line))
    return toks


@dataclass
class Use:
    module: "Module"
    segments: list  # first segment "::" marks an extern path
    binding: str | None  # None for a glob
    pub: bool
    line: int


@dataclass(eq=False)
class Module:
    file: Path  # the file holding this module's code
    dir: Path  # where its `mod x;` files live
    parent: "Module | None"
    inline: bool
    children: dict = field(default_factory=dict)  # name -> (Module, pub)
    items: dict = field(default_factory=dict)  # name -> pub
    imports: dict = field(default_factory=dict)  # binding -> [Use]
    globs: list = field(default_factory=list)
    uses: list = field(default_factory=list)
    paths: list = field(default_factory=list)  # (segments, line) written in code

    def ancestors(self):
        m = self
        while m:
            yield m
            m = m.parent


class Crate:
    """One target's module tree, parsed from its root file as rustc loads it."""

    def __init__(self, root_file):
        self.files, self.modules, self.warnings = [], [], []
        self.root = self.load(root_file, root_file.parent, None)

    def load(self, file, dir, parent):
        module = Module(file, dir, parent, False)
        self.files.append(file)
        self.modules.append(module)
        toks = tokenize(file.read_text(encoding="utf-8"))
        end = self.body(toks, 0, module)
        if toks[end].kind != "eof":  # a literal the tokenizer misread would leave us blind
            self.warnings.append(f"{file}:{toks[end].line}: unbalanced `}}`, file not fully read")
        return module

    def body(self, toks, i, mod):
        """Reads a module body from toks[i]; returns the index of its closing brace (or eof)."""
        depth, pub, path_attr, prev = 0, False, None, ""
        while toks[i].kind != "eof":
            t, nxt = toks[i], toks[i + 1]
            j = i + 1 + (nxt.text == "!")  # `#[outer]` or `#![inner]`
            if t.text == "#" and t.kind == "p" and toks[j].text == "[":
                # Attributes name no items of this crate; only #[path] matters.
                end = close(toks, j)
                a = toks[j + 1 : end]
                if len(a) == 3 and a[0].text == "path" and a[1].text == "=":
                    path_attr = a[2].text.strip('"')
                i, prev = end + 1, "]"
                continue
            if t.kind == "p" and t.text in ("{", "}", ";"):
                if t.text == "}":
                    if depth == 0:
                        return i
                    depth -= 1
                depth += t.text == "{"
                pub, path_attr, prev, i = False, None, t.text, i + 1
                continue
            if t.kind == "id" and t.text == "use" and nxt.text != "<":
                trees = []
                i = use_tree(toks, i + 1, [], trees)
                for segments, binding, line in trees:
                    u = Use(mod, segments, binding, pub, line)
                    mod.uses.append(u)
                    if binding is None:
                        mod.globs.append(u)
                    elif binding != "_":
                        mod.imports.setdefault(binding, []).append(u)
                continue
            if depth == 0 and t.text == "pub" and t.kind == "id":
                pub, i = True, (close(toks, i + 1) + 1 if nxt.text == "(" else i + 1)
                continue
            if depth == 0 and t.text == "mod" and nxt.kind == "id":
                i = self.module(toks, i + 1, mod, pub, path_attr)
                pub, path_attr, prev = False, None, ";"
                continue
            if depth == 0 and t.kind == "id" and nxt.kind == "id" and (
                t.text in ITEM_KEYWORDS or (t.text == "mut" and prev == "static")
            ) and nxt.text not in KEYWORDS | {"_"}:
                mod.items[nxt.text] = pub
            elif depth == 0 and t.text == "macro_rules" and toks[i + 2].kind == "id":
                mod.items[toks[i + 2].text] = pub
            if t.kind == "id" and prev not in (".", "::") and t.text not in KEYWORDS:
                segments, line = [t.text], t.line
                while toks[i + 1].text == "::" and toks[i + 2].kind == "id":
                    segments.append(toks[i + 2].text)
                    i += 2
                # A lone name right after `fn`, `let`... or before `:` is being defined.
                if len(segments) > 1 or (prev not in DEFINING and toks[i + 1].text != ":"):
                    mod.paths.append((segments, line))
                t = toks[i]
            prev, i = t.text, i + 1
        return i

    def module(self, toks, i, parent, pub, path_attr):
        """`mod name;` or `mod name { ... }` at toks[i] (the name): returns the index after it."""
        name = toks[i].text
        if toks[i + 1].text == "{":
            child = Module(parent.file, parent.dir / (path_attr or name), parent, True)
            self.modules.append(child)
            parent.children[name] = (child, pub)
            return self.body(toks, i + 2, child) + 1
        if path_attr:
            # Relative to the file's directory, or to an inline module's directory; the
            # file then owns its directory like a mod.rs.
            file = (parent.dir if parent.inline else parent.file.parent) / path_attr
            candidates = [(file, file.parent)]
        else:
            candidates = [(parent.dir / f"{name}.rs", parent.dir / name),
                          (parent.dir / name / "mod.rs", parent.dir / name)]
        for file, dir in candidates:
            if file.is_file():
                parent.children[name] = (self.load(file, dir, parent), pub)
                break
        else:
            self.warnings.append(f"{parent.file}:{toks[i].line}: no file for `mod {name};`")
        return i + 2

    # Name resolution. A target is a Module, a Path (the file defining an item) or None
    # (another crate, the prelude, a local name).

    def lookup(self, mod, name, last, viewer, seen):
        """`name` in module `mod`'s namespace, as seen from module `viewer`."""
        if (id(mod), name) in seen:
            return None
        seen = seen | {(id(mod), name)}
        # Private names are visible to the module and its descendants (`use super::*`).
        visible = lambda pub: pub or mod in viewer.ancestors()
        if last and name in mod.items and visible(mod.items[name]):
            return mod.file
        if name in mod.children and visible(mod.children[name][1]):
            return mod.children[name][0]
        if name in mod.items and visible(mod.items[name]):
            return mod.file
        for u in mod.imports.get(name, []):
            if visible(u.pub) and (target := self.resolve(u.module, u.segments, seen)):
                return target
        # Explicit names shadow glob imports.
        for u in mod.globs:
            source = self.resolve(u.module, u.segments, seen) if visible(u.pub) else None
            if isinstance(source, Module):
                if target := self.lookup(source, name, last, mod, seen):
                    return target
        return None

    def resolve(self, mod, segments, seen=frozenset()):
        """The path `segments` written in module `mod`; stops at the first item, since
        what follows it (a variant, an associated item) is defined with it."""
        cur = mod
        for k, seg in enumerate(segments):
            if seg == "::":
                return None
            elif seg == "crate" and k == 0:
                cur = self.root
            elif seg == "super":
                cur = cur.parent
            elif seg != "self" or k > 0:
                cur = self.lookup(cur, seg, k == len(segments) - 1, mod, seen)
            if not isinstance(cur, Module):
                return cur
        return cur

    def edges(self):
        """{(from file, to file): (line, path)} for the first use of each dependency."""
        found = {}
        for mod in self.modules:
            named = [(u.segments, u.line) for u in mod.uses] + mod.paths
            for segments, line in named:
                target = self.resolve(mod, segments)
                if isinstance(target, Path) and target != mod.file:
                    found.setdefault((mod.file, target), (line, "::".join(segments)))
        return found


def close(toks, i):
    """Index of the bracket closing the one at toks[i]."""
    pairs, depth = {"(": ")", "[": "]", "{": "}"}, 0
    opener = toks[i].text
    while toks[i].kind != "eof":
        depth += (toks[i].text == opener) - (toks[i].text == pairs[opener])
        if depth == 0:
            return i
        i += 1
    return i


def use_tree(toks, i, prefix, out):
    """Appends (segments, binding, line) for the use tree at toks[i]; returns the index
    after it."""
    segments = list(prefix)
    if toks[i].text == "::":
        segments, i = segments or ["::"], i + 1
    while True:
        t = toks[i]
        if t.text == "{":
            i += 1
            while toks[i].text not in ("}", ""):
                j = use_tree(toks, i, segments, out)
                i = j + (toks[j].text == ",") if j > i else i + 1
            return i + 1
        if t.text == "*":
            out.append((segments, None, t.line))
            return i + 1
        if t.kind != "id":  # e.g. `$crate` in a macro: not a use we can read
            return i
        segments, i = segments + [t.text], i + 1
        if toks[i].text == "::":
            i += 1
            continue
        binding = segments[-1]
        if toks[i].text == "as":
            binding, i = toks[i + 1].text, i + 2
        if segments[-1] == "self":  # `use a::{self, b}` imports the module a
            segments = segments[:-1]
            binding = binding if binding != "self" else segments[-1]
        out.append((segments, binding, t.line))
        return i


def crate_roots(workspace):
    """(label, root file) of every target of every workspace member, as cargo finds them."""
    manifest = tomllib.loads((workspace / "Cargo.toml").read_text(encoding="utf-8"))
    ws = manifest.get("workspace", {})
    members = ws.get("members", []) + (["."] if "package" in manifest else [])
    excluded = {(workspace / e).resolve() for e in ws.get("exclude", [])}
    dirs = {Path(d).resolve() for m in members for d in glob.glob(str(workspace / m))}
    roots = []
    for pkg in sorted(dirs - excluded):
        pm = tomllib.loads((pkg / "Cargo.toml").read_text(encoding="utf-8"))
        name = pm["package"]["name"]
        build = pm["package"].get("build", "build.rs")  # may be `false`
        files = {pkg / pm.get("lib", {}).get("path", "src/lib.rs"), pkg / "src/main.rs"}
        files |= {pkg / build} if isinstance(build, str) else set()
        for kind, folder in (("bin", "src/bin"), ("test", "tests"),
                             ("example", "examples"), ("bench", "benches")):
            files |= {Path(f) for f in glob.glob(str(pkg / folder / "*.rs"))}
            files |= {Path(f) for f in glob.glob(str(pkg / folder / "*/main.rs"))}
            files |= {pkg / t["path"] for t in pm.get(kind, []) if "path" in t}
        roots += [(f"{name} {f.relative_to(workspace)}", f)
                  for f in sorted(files) if f.is_file()]
    return roots


def strongly_connected(nodes, succ):
    """Tarjan's algorithm; components of more than one node."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while v not in comp:
                comp.add(stack.pop())
            on_stack.difference_update(comp)
            if len(comp) > 1:
                out.append(comp)

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def ring(comp, succ):
    """The shortest cycle through the component's first file (breadth-first)."""
    start = min(comp)
    came_from, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(succ.get(v, ())):
                if w == start:
                    path = [v]
                    while came_from[path[-1]] is not None:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                if w in comp and w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt


def find_cycles(workspace):
    """[(crate labels, files, ring, edges)] for each distinct cycle, and the warnings."""
    cycles, warnings = {}, []
    for label, root in crate_roots(workspace):
        crate = Crate(root)
        warnings += crate.warnings
        edges = crate.edges()
        succ = {}
        for a, b in edges:
            succ.setdefault(a, set()).add(b)
        for comp in strongly_connected(crate.files, succ):
            key = frozenset(comp)
            if key in cycles:  # a shared module (tests/common) seen from another test
                cycles[key][0].append(label)
            else:
                cycles[key] = ([label], sorted(comp), ring(comp, succ), edges)
    return list(cycles.values()), warnings


def report(workspace):
    cycles, warnings = find_cycles(workspace)
    rel = lambda f: f.relative_to(workspace).as_posix()
    for w in dict.fromkeys(warnings):
        print(f"error: {w}", file=sys.stderr)
    for labels, files, cyc, edges in cycles:
        print(f"import cycle of {len(files)} files in {', '.join(labels)}:")
        for f in files:
            print(f"  {rel(f)}")
        print("  one ring (A -> B: A names an item defined in B):")
        for a, b in zip(cyc, cyc[1:] + cyc[:1]):
            line, path = edges[(a, b)]
            print(f"    {rel(a)}:{line} `{path}` -> {rel(b)}")
    if cycles:
        total = sum(len(files) for _, files, _, _ in cycles)
        print(f"{len(cycles)} import cycles, {total} files")
        return 1
    return 2 if warnings else 0


# Each case: files of a one-package workspace, and the cycles expected (sets of files).
SELF_TESTS = {
    "two-file cycle through a nested group and a rename": (
        {"src/lib.rs": "mod a; mod b;",
         "src/a.rs": "use crate::{b::{B as Bee, c::C}};\npub struct A;",
         "src/b.rs": "pub mod c { pub struct C; }\npub struct B;\nuse super::a::A;"},
        [{"src/a.rs", "src/b.rs"}]),
    "three-file ring in a binary": (
        {"src/main.rs": "mod a;\nmod b;\nmod c;\nfn main() {}",
         "src/a.rs": "use crate::b::B; pub struct A;",
         "src/b.rs": "use crate::c::C; pub struct B;",
         "src/c.rs": "use crate::a::A; pub struct C;"},
        [{"src/a.rs", "src/b.rs", "src/c.rs"}]),
    "comments, strings and chars name nothing": (
        {"src/lib.rs": "mod a; mod b;",
         "src/a.rs": "use crate::b::B; pub struct A;",
         "src/b.rs": ("pub struct B; // crate::a::A\n/* crate::a::A /* */ crate::a::A */\n"
                      "fn q<'a>(_: &'a str) -> char { '\"' }\n"
                      'const S: &str = "crate::a::A\\" crate::a::A";\n'
                      'const R: &str = r#"crate::a::A"#;')},
        []),
    "re-export hubs (crate root, mod.rs) create no cycle": (
        {"src/lib.rs": "pub mod m; pub use m::{A, B};",
         "src/m/mod.rs": "mod a; mod b; pub use a::A; pub use self::b::B;",
         "src/m/a.rs": "use crate::B; pub struct A(super::B);",
         "src/m/b.rs": "pub struct B;"},
        []),
    # `super` of the inline module is a.rs's module, not the crate root (whose `g` is b's).
    "a test module's `use super::*` stays in its file": (
        {"src/lib.rs": "mod a; mod b; pub use b::g;",
         "src/a.rs": ("pub fn f() {}\nfn g() {}\n"
                      "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn t() { f(); g(); }\n}"),
         "src/b.rs": "pub fn g() { crate::a::f(); }"},
        []),
    "a test module's imports count for its file": (
        {"src/lib.rs": "mod a; mod b;",
         "src/a.rs": "use crate::b::B; pub fn f() {}",
         "src/b.rs": ("pub struct B;\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
                      "    #[test]\n    fn t() { crate::a::f(); }\n}")},
        [{"src/a.rs", "src/b.rs"}]),
    "inline paths: crate::, super:: to a variant, and after `use` of a module": (
        {"src/lib.rs": "mod engine; mod p; mod q;",
         "src/engine/mod.rs": "mod sid; pub use sid::generate as generate_id;",
         "src/engine/sid.rs": "pub fn generate() { let _ = super::super::p::Packet::Event; }",
         "src/p.rs": ("use crate::engine;\npub enum Packet { Event }\n"
                      "fn f() { engine::generate_id(); }"),
         "src/q.rs": "fn g() { crate::p::Packet::Event; }"},
        [{"src/engine/sid.rs", "src/p.rs"}]),
    # A child's name is in scope from its `mod` line: no `use` is needed to name its items.
    "paths through a `mod`-declared child, in code and in a relative `use`": (
        {"src/lib.rs": "mod store; mod pages;",
         "src/store/mod.rs": "mod password;\npub enum StoreError {}\nfn f() { password::hash(); }",
         "src/store/password.rs": "use super::StoreError;\npub fn hash() {}",
         "src/pages/mod.rs": "mod rooms;\npub use rooms::room;\nfn home() {}",
         "src/pages/rooms.rs": "use super::home;\npub fn room() {}"},
        [{"src/store/mod.rs", "src/store/password.rs"},
         {"src/pages/mod.rs", "src/pages/rooms.rs"}]),
    "glob imports": (
        {"src/lib.rs": "mod a; mod b; mod c;",
         "src/a.rs": ("use crate::b::*;\npub fn f() -> u8 { helper() + crate::c::K }\n"
                      "fn hidden() {}"),
         "src/b.rs": "pub fn helper() -> u8 { crate::a::f(); 1 }",
         # A glob brings in public names only: c's `hidden` is its own parameter.
         "src/c.rs": "use crate::a::*;\npub const K: u8 = 1;\nfn g(hidden: u8) -> u8 { hidden }"},
        [{"src/a.rs", "src/b.rs"}]),
    "#[path], a.rs with a directory, tests/ and examples as their own crates": (
        {"src/lib.rs": '#[path = "other/x.rs"] mod x; mod y;',
         "src/other/x.rs": "mod z; pub struct X;",  # a #[path] file owns its directory
         "src/other/z.rs": "use crate::y::Y;",
         "src/y.rs": "mod w; pub struct Y;",
         "src/y/w.rs": "use crate::x::X;",
         "tests/t.rs": "mod common; pub struct T;\nfn t() { common::setup() }",
         "tests/common/mod.rs": "use crate::T; pub fn setup() {}",
         "examples/e/main.rs": "mod a; pub fn f() { a::g() }\nfn main() {}",
         "examples/e/a.rs": "pub fn g() { crate::f() }"},
        [{"tests/t.rs", "tests/common/mod.rs"}, {"examples/e/main.rs", "examples/e/a.rs"}]),
}


def self_test():
    failures = 0
    for name, (files, expected) in SELF_TESTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            ws = Path(tmp).resolve()
            (ws / "Cargo.toml").write_text('[package]\nname = "t"\nversion = "0.0.0"\n')
            for rel, text in files.items():
                (ws / rel).parent.mkdir(parents=True, exist_ok=True)
                (ws / rel).write_text(text)
            cycles, warnings = find_cycles(ws)
            found = [{f.relative_to(ws).as_posix() for f in c[1]} for c in cycles]
        ok = sorted(map(sorted, found)) == sorted(map(sorted, expected)) and not warnings
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {found} {warnings}"))
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(report(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
