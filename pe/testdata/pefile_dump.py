#!/usr/bin/python3
"""Dump, per PE given on stdin (one path a line), the fields tomscan's
pe package cross-checks against pefile, as one JSON object per line.
Run with Debian's /usr/bin/python3 (python3-pefile)."""
import json
import sys

import pefile


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return b


def dump(path):
    out = {"path": path}
    try:
        pe = pefile.PE(path, fast_load=True)
        pe.parse_data_directories(directories=[
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"],
        ])
    except Exception as e:  # pefile refuses the file: reported, not fatal
        out["error"] = str(e)
        return out
    out["machine"] = pe.FILE_HEADER.Machine
    out["characteristics"] = pe.FILE_HEADER.Characteristics
    out["subsystem"] = getattr(pe.OPTIONAL_HEADER, "Subsystem", None)
    out["dll_characteristics"] = getattr(pe.OPTIONAL_HEADER, "DllCharacteristics", None)
    out["sections"] = [[text(s.Name.rstrip(b"\0")), s.SizeOfRawData] for s in pe.sections]
    imports = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
        funcs = []
        for imp in entry.imports:
            funcs.append(text(imp.name) if imp.name else "#%d" % imp.ordinal)
        imports.append([text(entry.dll), funcs])
    out["imports"] = imports
    try:
        out["imphash"] = pe.get_imphash()
    except Exception as e:
        out["imphash_error"] = str(e)
    leaves = 0
    stack = [getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)]
    while stack:
        d = stack.pop()
        if d is None:
            continue
        for e in getattr(d, "entries", []):
            if hasattr(e, "directory"):
                stack.append(e.directory)
            elif hasattr(e, "data"):
                leaves += 1
    out["resources"] = leaves
    version = []
    try:
        for fi in getattr(pe, "FileInfo", []) or []:
            for block in fi:
                if getattr(block, "Key", b"") != b"StringFileInfo":
                    continue
                for st in block.StringTable:
                    for k, v in st.entries.items():
                        version.append([text(st.LangID), text(k), text(v)])
    except Exception as e:
        out["version_error"] = str(e)
    out["version"] = version
    out["overlay"] = pe.get_overlay_data_start_offset()
    clr = pe.OPTIONAL_HEADER.DATA_DIRECTORY[14] if len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) > 14 else None
    out["dotnet"] = bool(clr and clr.VirtualAddress and clr.Size)
    rich = pe.parse_rich_header()
    # [product id, build, count] per @comp.id, as tomscan lists them
    out["rich"] = [[v >> 16, v & 0xFFFF, c] for v, c in zip(rich["values"][::2], rich["values"][1::2])] if rich else []
    return out


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if path:
            print(json.dumps(dump(path), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
