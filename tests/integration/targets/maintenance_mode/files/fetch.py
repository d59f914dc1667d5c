"""GET a URL from a chosen source address (uri cannot bind one); prints status, headers and body as JSON.

fetch.py URL [--source 127.0.0.2] [--header 'Name: value'] ...
"""

import argparse
import http.client
import json
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--source", default="")
parser.add_argument("--header", action="append", default=[])
args = parser.parse_args()
url = urllib.parse.urlsplit(args.url)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10, source_address=(args.source, 0))
headers = dict(line.split(": ", 1) for line in args.header)
connection.request("GET", url.path or "/", headers=headers)
response = connection.getresponse()
body = response.read().decode("utf-8", "replace")
print(json.dumps({"status": response.status, "headers": dict(response.getheaders()), "body": body}))
