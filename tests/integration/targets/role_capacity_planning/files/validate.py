"""Validate JSON documents against a JSON Schema; print each error and exit 1 when any is invalid.

validate.py SCHEMA DOCUMENT...
"""

import json
import sys

import jsonschema

with open(sys.argv[1], encoding="utf-8") as handle:
    schema = json.load(handle)
validator = jsonschema.Draft202012Validator(schema)
failed = False
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    for error in validator.iter_errors(document):
        failed = True
        print(f"{path}: {'/'.join(str(part) for part in error.absolute_path)}: {error.message}")
sys.exit(1 if failed else 0)
