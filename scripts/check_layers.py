#!/usr/bin/env python3
"""Checks that Larder's libraries keep to their layers.

Usage: check_layers.py <build>/layers/manifest.json

The manifest (written by CMakeLists.txt) lists each layer: its folder, the
static library built from it, the layers it depends on and the public headers
of include/larder/ that it implements. A layer may use itself and the layers
it depends on, directly or through others; nothing else. The compiler already
refuses most crossings (each library sees only its own include directory and
those of its dependencies); this checks the rest:
  - includes, as text: in every header and source of a layer (tests aside),
    an include of another layer's folder or public header that the layer may
    not use, and any include that climbs out of its folder with "..";
  - symbols: every symbol that a layer's library leaves undefined and that
    another layer's library defines must come from a layer it may use (a
    function declared by hand instead of through a header, for example).
Prints each violation and exits 1 when there is one.
"""

import json
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
STRONG = set("TDBRGS")  # defined, not weak (W, V) or unique (u)


def allowed_layers(layers):
    """Maps each layer to itself plus every layer below it."""
    closure = {}

    def visit(name, path):
        if name in closure:
            return closure[name]
        if name in path:
            raise SystemExit("layer cycle: " + " -> ".join(path + [name]))
        result = {name}
        for dep in layers[name]["deps"]:
            result |= visit(dep, path + [name])
        closure[name] = result
        return result

    for name in layers:
        visit(name, [])
    return closure


def check_includes(source_dir, layers, allowed):
    folder_owner = {os.path.basename(spec["dir"]): name for name, spec in layers.items()}
    header_owner = {}
    for name, spec in layers.items():
        for header in spec["headers"]:
            header_owner["larder/" + header] = name
    problems = []
    for name, spec in sorted(layers.items()):
        root = os.path.join(source_dir, spec["dir"])
        for dirpath, _, files in os.walk(root):
            for file in sorted(files):
                if not file.endswith((".h", ".cc")) or file.endswith("_test.cc"):
                    continue
                path = os.path.join(dirpath, file)
                rel = os.path.relpath(path, source_dir)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for included in INCLUDE.findall(text):
                    if ".." in included.split("/"):
                        problems.append(f"{rel}: #include \"{included}\" climbs out of its folder;"
                                        " include other layers by their folder name")
                        continue
                    owner = header_owner.get(included)
                    if owner is None and "/" in included:
                        owner = folder_owner.get(included.split("/")[0])
                    if owner is not None and owner not in allowed[name]:
                        problems.append(f"{rel}: #include \"{included}\": layer {name} may not use"
                                        f" layer {owner} (it may use {', '.join(sorted(allowed[name]))})")
    return problems


def read_symbols(archive):
    """(undefined symbols with the member that needs them, strongly defined symbols)."""
    out = subprocess.run(["nm", "-A", "-P", archive], check=True, capture_output=True,
                         text=True).stdout
    undefined, defined = {}, set()
    for line in out.splitlines():
        where, _, rest = line.rpartition(": ")
        fields = rest.split()
        if len(fields) < 2:
            continue
        symbol, kind = fields[0], fields[1]
        if kind == "U":
            member = where[where.rfind("[") + 1:].rstrip("]") if "[" in where else where
            undefined.setdefault(symbol, member)
        elif kind in STRONG:
            defined.add(symbol)
    return undefined, defined


def demangle(symbols):
    out = subprocess.run(["c++filt"], input="\n".join(symbols), check=True, capture_output=True,
                         text=True).stdout
    return dict(zip(symbols, out.splitlines()))


def check_symbols(layers, allowed):
    undefined, owners = {}, {}
    for name, spec in layers.items():
        if not os.path.exists(spec["archive"]):
            return [f"{spec['archive']} is missing: build before running this check"]
        undefined[name], defined = read_symbols(spec["archive"])
        for symbol in defined:
            owners.setdefault(symbol, set()).add(name)
    found = []
    for name in sorted(layers):
        for symbol, member in sorted(undefined[name].items()):
            providers = owners.get(symbol, set())
            if providers and not providers & allowed[name]:
                found.append((name, member, symbol, sorted(providers)[0]))
    names = demangle([symbol for _, _, symbol, _ in found]) if found else {}
    return [f"{layers[name]['dir']}: {member} uses {names[symbol]}, from layer {owner},"
            f" which layer {name} may not use" for name, member, symbol, owner in found]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    layers = {layer["name"]: layer for layer in manifest["layers"]}
    for name, spec in layers.items():
        for dep in spec["deps"]:
            if dep not in layers:
                raise SystemExit(f"layer {name} depends on unknown layer {dep}")
    allowed = allowed_layers(layers)
    problems = check_includes(manifest["source_dir"], layers, allowed)
    problems += check_symbols(layers, allowed)
    for problem in problems:
        print(problem)
    order = ", ".join(layers)
    if problems:
        print(f"{len(problems)} layering violation(s); the layers, in dependency order: {order}")
        return 1
    print(f"layering holds for {len(layers)} layers, in dependency order: {order}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
