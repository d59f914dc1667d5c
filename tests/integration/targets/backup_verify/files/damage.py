#!/usr/bin/env python
"""Damage a file of a backup set the ways the tests need, optionally re-sealing the manifest.

    damage.py SET FILE flip|truncate|corrupt-rdb [--reseal]

--reseal rewrites FILE's size and sha256 in MANIFEST.json, so only decoding can notice.
"""

import hashlib
import json
import os
import sys

set_dir, name, how = sys.argv[1:4]
path = os.path.join(set_dir, name)
with open(path, "rb") as handle:
    data = bytearray(handle.read())
if how == "flip":
    data[len(data) // 2] ^= 0xFF
elif how == "truncate":
    data = data[: len(data) * 6 // 10]
elif how == "corrupt-rdb":
    # Overwrite the middle of the payload, keeping the header and the trailing checksum.
    for index in range(len(data) // 3, len(data) // 3 + 8):
        data[index] ^= 0x5A
else:
    sys.exit(f"unknown damage {how}")
with open(path, "wb") as handle:
    handle.write(data)
if "--reseal" in sys.argv:
    manifest_path = os.path.join(set_dir, "MANIFEST.json")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    with open(manifest_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
