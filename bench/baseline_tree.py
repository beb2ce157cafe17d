#!/usr/bin/env python3
"""Build the plaintext tree a dsar export of the bench subject would hold, for the baseline.

    baseline_tree.py CORPUS OUT

Reads a corpus made by bench/gen_corpus.py, resolves the subject the way dsar's identity
graph would (email -> customers.id -> profile cookie_ids / last_ip -> events, web_access;
email -> clicks), and writes OUT/tree/records/<source>.json (a JSON array) and
OUT/tree/records/<source>.csv (RFC 4180, nested objects flattened to dotted columns, arrays
as JSON text, formula-looking cells prefixed with ') plus OUT/counts.json.

The bench then times `zip -6 -r - tree | age -r RECIPIENT` over OUT: a naive pipeline doing
the same compression and encryption work, without the searching. Building this tree is not
timed. Counts are checked against CORPUS/expected.json; a mismatch is an error.
"""

import csv
import ipaddress
import json
import os
import re
import sys
import time
import unicodedata

SUBJECT_EMAIL = "subject@example.com"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CLF = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S*) ?(\S*)" (\d{3}) (\S+)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?')
MONTHS = {m: i + 1 for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}


def norm_email(v):
    return unicodedata.normalize("NFC", v.strip()).lower()


def norm_ip(v):
    try:
        ip = ipaddress.ip_address(v.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def norm_text(v):
    return str(v).strip()


def as_list(v):
    return v if isinstance(v, list) else [v]


def flatten(obj, prefix="", out=None):
    out = {} if out is None else out
    for k, v in obj.items():
        key = prefix + k
        if isinstance(v, dict):
            flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        s = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    else:
        s = str(v)
    return "'" + s if s.startswith(FORMULA_START) else s


class Sink:
    """Writes records/<name>.json as it goes; keeps flattened rows to learn CSV columns."""

    def __init__(self, root, name):
        self.path = os.path.join(root, name)
        self.json = open(self.path + ".json", "w", encoding="utf-8", buffering=1 << 22)
        self.json.write("[")
        self.rows = []
        self.columns = {}
        self.n = 0

    def add(self, rec):
        self.json.write(("\n" if self.n == 0 else ",\n") + json.dumps(rec, ensure_ascii=False))
        flat = flatten(rec)
        for k in flat:
            if k not in self.columns:
                self.columns[k] = len(self.columns)
        self.rows.append(flat)
        self.n += 1

    def close(self):
        self.json.write("\n]\n" if self.n else "]\n")
        self.json.close()
        cols = list(self.columns)
        with open(self.path + ".csv", "w", encoding="utf-8", newline="", buffering=1 << 22) as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(cols)
            w.writerows([cell(r.get(c)) for c in cols] for r in self.rows)
        self.rows = []


def csv_records(path):
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        header = next(r)
        for row in r:
            yield header, row


def clf_time(s):
    # 01/Jan/2025:00:00:01 +0000 -> 2025-01-01T00:00:01+00:00
    d, mon, rest = s.split("/", 2)
    y, hh, mm, ss_tz = rest.split(":", 3)
    ss, tz = ss_tz.split(" ")
    off = "Z" if tz == "+0000" else tz[:3] + ":" + tz[3:]
    return "%s-%02d-%sT%s:%s:%s%s" % (y, MONTHS[mon], d, hh, mm, ss, off)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    corpus, out = sys.argv[1], sys.argv[2]
    started = time.time()
    root = os.path.join(out, "tree", "records")
    os.makedirs(root, exist_ok=True)
    data = os.path.join(corpus, "data")
    counts = {}

    # customers: match email, provides customer_id = id; password_hash excluded
    emails = {SUBJECT_EMAIL}
    customer_ids = set()
    s = Sink(root, "customers")
    for header, row in csv_records(os.path.join(data, "customers.csv")):
        rec = dict(zip(header, row))
        if norm_email(rec["email"]) in emails:
            customer_ids.add(norm_text(rec["id"]))
            rec.pop("password_hash", None)
            s.add(rec)
    s.close()
    counts["customers"] = s.n

    # profile: match customer_id, provides cookie_id = cookie_ids, ip = last_ip
    cookies, ips = set(), set()
    s = Sink(root, "profile")
    with open(os.path.join(data, "profiles.ndjson"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if norm_text(rec["customer_id"]) in customer_ids:
                cookies.update(norm_text(c) for c in as_list(rec["cookie_ids"]))
                ips.add(norm_ip(rec["last_ip"]))
                s.add(rec)
    s.close()
    counts["profile"] = s.n

    # events: match cookie_id (prefilter on the raw line, then an exact check)
    s = Sink(root, "events")
    needles = tuple(sorted(cookies))
    with open(os.path.join(data, "events.ndjson"), encoding="utf-8", buffering=1 << 22) as f:
        for line in f:
            if any(n in line for n in needles):
                rec = json.loads(line)
                if any(norm_text(c) in cookies for c in as_list(rec.get("cookie_id"))):
                    s.add(rec)
    s.close()
    counts["events"] = s.n

    # clicks: match email
    s = Sink(root, "clicks")
    for header, row in csv_records(os.path.join(data, "clicks.csv")):
        if norm_email(row[1]) in emails:
            s.add(dict(zip(header, row)))
    s.close()
    counts["clicks"] = s.n

    # web_access: match ip = remote_addr
    s = Sink(root, "web_access")
    seen = {}
    path = os.path.join(corpus, "logs", "access.log")
    with open(path, encoding="utf-8", errors="replace", buffering=1 << 22) as f:
        for lineno, line in enumerate(f, 1):
            tok = line[:line.find(" ")]
            hit = seen.get(tok)
            if hit is None:
                hit = seen[tok] = norm_ip(tok) in ips
            if not hit:
                continue
            m = CLF.match(line)
            if not m:
                raise SystemExit("%s:%d: not Combined Log Format" % (path, lineno))
            g = m.groups()
            s.add({"remote_addr": g[0], "user": None if g[2] == "-" else g[2], "time": clf_time(g[3]),
                   "method": g[4], "path": g[5], "protocol": g[6] or None, "status": int(g[7]),
                   "bytes": None if g[8] == "-" else int(g[8]),
                   "referrer": None if g[9] in (None, "-") else g[9],
                   "user_agent": None if g[10] in (None, "-") else g[10],
                   "file": "logs/access.log", "line": lineno})
    s.close()
    counts["web_access"] = s.n

    with open(os.path.join(out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=2)
    tree_bytes = sum(os.path.getsize(os.path.join(root, n)) for n in os.listdir(root))
    print("baseline_tree: %s: %.1f MB of records in %.1f s: %s" % (
        out, tree_bytes / 1e6, time.time() - started, ", ".join("%s=%d" % kv for kv in counts.items())),
        file=sys.stderr)

    exp_path = os.path.join(corpus, "expected.json")
    if os.path.exists(exp_path):
        with open(exp_path) as f:
            expected = json.load(f)["records"]
        if expected != counts:
            sys.exit("baseline_tree: counts %s differ from %s %s" % (counts, exp_path, expected))


if __name__ == "__main__":
    main()
