#!/usr/bin/env python3
"""Render the four templates with sample-context.json (and variants) to check them.

    python3 -m venv /tmp/tplvenv && /tmp/tplvenv/bin/pip install jinja2 "minijinja<3"
    /tmp/tplvenv/bin/python templates/render.py [OUT_DIR]      # default /tmp/dsar-templates

Renders every template with Jinja2 *and* with minijinja (the Python binding of
the same minijinja version the Rust crate uses, when installed), using the
settings dsar uses: auto-escape for .html, no trim_blocks/lstrip_blocks,
trailing newline dropped. Checks that both engines agree, that the notice holds
no identifier values or record data, that HTML values are escaped, that no
"None"/"none" leaks into the text, and that README.txt and notice.txt stay
within 78 columns except for lines holding long values (URLs, hashes, paths).
Variants written: complete (S3 link, passphrase), partial (one failed source),
local (no link, recipients), hostile (markup in every string).
"""
import copy
import json
import os
import re
import sys

import jinja2

try:
    import minijinja
except ImportError:  # optional
    minijinja = None

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = ["index.html", "README.txt", "notice.txt", "notice.html"]


def variants(base):
    out = {"complete": base}

    p = copy.deepcopy(base)
    for s in p["sources"]:
        if s["name"] == "chat":
            s.update(status="failed", record_count=0, files=[],
                     error="could not read data/chat.ndjson: line 212 is not valid JSON (expected ',' or '}' at column 88)")
    p["failed_sources"] = [{"name": "chat", "error": next(s["error"] for s in p["sources"] if s["name"] == "chat")}]
    p["total_records"] = sum(s["record_count"] for s in p["sources"])
    out["partial"] = p

    loc = copy.deepcopy(base)
    loc["link"] = None
    loc["open_page_link"] = None
    loc["archive"].update(encryption="recipients", armor=True, file_name=loc["archive"]["file_name"])
    loc["controller"].update(dpo_contact=None, supervisory_authority=None)
    for s in loc["sources"]:
        if s["name"] == "surveys":
            s.update(record_count=0, files=[], purpose=None, recipients=[], transfers=None)
    loc["total_records"] = sum(s["record_count"] for s in loc["sources"])
    out["local"] = loc

    h = copy.deepcopy(base)
    evil = '<script>alert("x")</script>&<b>'
    h["controller"]["name"] = "Evil " + evil
    h["identifiers"][0]["value"] = '<img src=x onerror="alert(1)">id-value'

    for s in h["sources"]:
        s["category"] = (s["category"] or "") + evil
        s["purpose"] = evil
        s["recipients"] = [evil, "Second " + evil]
    h["sources"][0]["files"][0]["path"] = 'records/a"b<c>#d e.json'
    out["hostile"] = h
    return out


def same_escapes(html):
    """minijinja escapes / as &#x2f; and quotes differently from Jinja2; both decode the same."""
    for a, b in (("&#x2f;", "/"), ("&#x27;", "'"), ("&#39;", "'"), ("&#34;", "&quot;")):
        html = html.replace(a, b)
    return html


def render_jinja2(name, ctx):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=name.endswith(".html"),
                             undefined=jinja2.Undefined, keep_trailing_newline=False)
    # minijinja has a builtin `split` filter (str.split semantics); Jinja2 does not.
    env.filters["split"] = lambda s, sep=None, maxsplit=-1: [] if s is None else str(s).split(sep, maxsplit)
    return env.get_template(name).render(**ctx)


def render_minijinja(name, ctx):
    env = minijinja.Environment(auto_escape_callback=lambda n: n.endswith(".html"))
    env.pycompat = False          # the Rust crate has no Python-compat methods
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        env.add_template(name, f.read())
    return env.render_template(name, **ctx)


def check(variant, name, text, ctx, problems):
    def bad(msg):
        problems.append(f"{variant}/{name}: {msg}")

    stripped = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    for v in sorted(set(_strings(ctx, 1)), key=len, reverse=True):
        stripped = stripped.replace(v, "")
    if re.search(r"\bNone\b|\bnone\b", stripped):
        bad("prints None/none")
    if "undefined" in text.lower():
        bad("prints undefined")
    if name.startswith("notice"):
        for i in ctx["identifiers"]:
            if i["value"] and i["value"] in text:
                bad(f"notice leaks identifier value {i['value']!r}")
        for s in ctx["sources"]:
            for f in s["files"]:
                if f["sha256"] in text:
                    bad("notice leaks a per-file checksum")
    if name.endswith(".html"):
        if "<script" in text or "<img" in text or "<b>" in text:
            bad("unescaped markup from data")
        if not text.startswith("<!DOCTYPE html>"):
            bad("does not start with <!DOCTYPE html>")
        if re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text) and name == "index.html":
            bad("external resource or link in index.html")
    if name.endswith(".txt"):
        for n, line in enumerate(text.split("\n"), 1):
            if len(line) > 78 and not re.search(r"https?://|[0-9a-f]{64}|\S{30,}", line):
                # lines holding data values may be longer; static prose must not
                dynamic = any(v and str(v) in line for v in _strings(ctx))
                if not dynamic:
                    bad(f"line {n} is {len(line)} columns: {line[:60]}...")
        if "\t" in text:
            bad("contains a tab")


def _strings(obj, min_len=13):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v, min_len)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, min_len)
    elif isinstance(obj, str) and len(obj) >= min_len:
        yield obj


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "/tmp/dsar-templates"
    with open(os.path.join(HERE, "sample-context.json"), encoding="utf-8") as f:
        base = json.load(f)
    problems = []
    for variant, ctx in variants(base).items():
        d = os.path.join(out_dir, variant)
        os.makedirs(d, exist_ok=True)
        for name in TEMPLATES:
            text = render_jinja2(name, ctx)
            if minijinja is not None:
                text2 = render_minijinja(name, ctx)
                if same_escapes(text2) != same_escapes(text):
                    import difflib
                    diff = "\n".join(list(difflib.unified_diff(text.split("\n"), text2.split("\n"), "jinja2",
                                                               "minijinja", lineterm=""))[:20])
                    problems.append(f"{variant}/{name}: jinja2 and minijinja differ:\n{diff}")
            check(variant, name, text, ctx, problems)
            with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                f.write(text)
    print(f"rendered {len(TEMPLATES)} templates x 4 variants into {out_dir}"
          + ("" if minijinja else " (minijinja not installed: Jinja2 only)"))
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
