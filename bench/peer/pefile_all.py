#!/usr/bin/python3
"""Parse every PE under a folder with pefile, as an analyst's triage script
does: full parse (all data directories), then the facts tomscan reports
(sections, imports, exports, version info, resources), one line per PE.
Part of the peer pipeline of `make bench-e2e` (bench/peer/peer.sh)."""
import hashlib
import os
import sys

import pefile


def version_strings(pe):
    out = {}
    for fi in getattr(pe, "FileInfo", None) or []:
        for entry in fi:
            for st in getattr(entry, "StringTable", []) or []:
                for k, v in st.entries.items():
                    out[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
    return out


def resources(pe):
    n = 0
    root = getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)
    stack = [root] if root else []
    while stack:
        d = stack.pop()
        for e in d.entries:
            if hasattr(e, "directory"):
                stack.append(e.directory)
            else:
                n += 1
    return n


def main(root):
    count = 0
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if f.read(2) != b"MZ":
                        continue
                    f.seek(0)
                    data = f.read()
                pe = pefile.PE(data=data)
            except Exception:
                continue
            count += 1
            imports = sum(len(d.imports) for d in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []))
            exports = len(getattr(getattr(pe, "DIRECTORY_ENTRY_EXPORT", None), "symbols", []) or [])
            vs = version_strings(pe)
            print(
                hashlib.sha256(data).hexdigest(),
                len(pe.sections),
                imports,
                exports,
                resources(pe),
                vs.get("ProductVersion", ""),
                path,
                sep="\t",
            )
    print(f"pefile: {count} PEs", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
