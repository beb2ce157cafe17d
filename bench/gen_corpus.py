#!/usr/bin/env python3
"""Generate a synthetic DSAR benchmark corpus (stdlib only, deterministic, fast).

One very active data subject (customer id 1, email subject@example.com, cookie ids
ck_subject_1 / ck_subject_2, IP 198.51.100.7) among K other people.

    gen_corpus.py --out DIR --target-mb N --others K [--seed S]

Writes:
  DIR/data/customers.csv    K others + the subject (id 1)
  DIR/data/profiles.ndjson  one profile per customer: cookie_ids (JSON array), last_ip
  DIR/data/events.ndjson    web analytics events keyed by cookie id: ~N MB of the
                            subject's events, interleaved 1:1 by bytes with others'
  DIR/data/clicks.csv       email-keyed click events, ~N/4 MB of the subject's
  DIR/logs/access.log       Combined Log Format, ~N/4 MB from the subject's IP
  DIR/dsar.toml             config for `dsar export --subject email=subject@example.com`
  DIR/expected.json         what a correct export finds: record counts per source and
                            the bytes of matching input (for MB/s figures)

Exact matching is exercised on purpose: other people carry look-alike values that must
NOT match (subject+news@example.com, ck_subject_10, 198.51.100.70 ...), while a few of
the subject's own rows use forms that MUST match after normalisation (upper-case email,
IPv4-mapped IPv6 address).

MB means 1,000,000 bytes. Speed comes from pools of pre-rendered record tails and
timestamps, with only ids, keys and times formatted per line, written in ~8 MB chunks.
"""

import argparse
import json
import os
import random
import sys
import time

SUBJECT_EMAIL = "subject@example.com"
SUBJECT_COOKIES = ("ck_subject_1", "ck_subject_2")
SUBJECT_IP = "198.51.100.7"
SUBJECT_IP_MAPPED = "::ffff:198.51.100.7"
# Same-shaped values held by other people: an exact matcher must never pick them up.
DECOY_EMAILS = ("subject+news@example.com", "xsubject@example.com",
                "subject@example.com.au", "subject@example.co")
DECOY_COOKIES = ("ck_subject_10", "ck_subject_2x", "ck_subject_", "CK_SUBJECT_1")
DECOY_IPS = ("198.51.100.70", "198.51.100.17", "198.51.100.71", "98.51.100.7")

MB = 1_000_000
CHUNK = 8 * MB
BASE_EPOCH_DAY = 20089  # 2025-01-01 as days since 1970-01-01
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

PAGES = ["/", "/pricing", "/features", "/blog", "/blog/gdpr-explained", "/blog/email-tips",
         "/docs", "/docs/api", "/docs/sdk/python", "/signup", "/login", "/account",
         "/account/billing", "/checkout", "/cart", "/product/%d", "/search?q=%s",
         "/careers", "/careers/job/%d", "/support", "/support/ticket/%d", "/contact"]
WORDS = ["alpha", "beta", "gamma", "delta", "privacy", "email", "campaign", "sms",
         "push", "retail", "fintech", "journey", "segment", "widget", "report", "cafe",
         "naïve", "Zürich", "München", "東京", "Ελλάδα", "smörgåsbord"]
REFERRERS = ["https://www.google.com/", "https://www.bing.com/search?q=netcore",
             "https://duckduckgo.com/", "https://t.co/abc123", "https://news.ycombinator.com/",
             "https://www.linkedin.com/feed/", "android-app://com.google.android.gm/"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
]
EVENTS = ["page_view", "click", "scroll", "form_start", "form_submit", "add_to_cart",
          "purchase", "video_play", "search", "login", "logout", "share"]
CAMPAIGNS = ["spring_sale", "welcome_series", "cart_reminder", "newsletter_42",
             "reactivation", "=SUM(A1:A9)", "-discount", "@mention", "black friday, 2025"]
FIRST = ["Aarav", "Priya", "Vivaan", "Ananya", "Diya", "Arjun", "Sara", "Jonas",
         "Léa", "Chloé", "Mateo", "Sofía", "Wei", "Yuki", "Olu", "Amara", "Zoë", "Ravi"]
LAST = ["Sharma", "Patel", "Iyer", "Khan", "Müller", "Dubois", "García", "Rossi",
        "Nakamura", "Okafor", "O'Brien", "Nguyen", "Kowalski", "Smith", "Fernández"]


def civil_from_days(z):
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


class Clock:
    """Pre-rendered time strings; t is seconds since 2025-01-01T00:00:00Z."""

    def __init__(self):
        self.tod_iso = ["T%02d:%02d:%02dZ" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]
        self.tod_clf = [":%02d:%02d:%02d +0000]" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]
        self.day_iso = []
        self.day_clf = []
        for i in range(5000):
            y, m, d = civil_from_days(BASE_EPOCH_DAY + i)
            self.day_iso.append("%04d-%02d-%02d" % (y, m, d))
            self.day_clf.append("[%02d/%s/%04d" % (d, MONTHS[m - 1], y))

    def iso(self, t):
        return self.day_iso[t // 86400 % 5000] + self.tod_iso[t % 86400]

    def clf(self, t):
        return self.day_clf[t // 86400 % 5000] + self.tod_clf[t % 86400]


def page(rng):
    p = rng.choice(PAGES)
    if "%d" in p:
        return p % rng.randrange(1, 99999)
    if "%s" in p:
        return p % rng.choice(WORDS)
    return p


def event_tail(rng):
    """Everything in an event after ts, as JSON text (without the closing brace)."""
    props = {
        "session": {"id": "s_%08x" % rng.getrandbits(32), "seq": rng.randrange(1, 400)},
        "viewport": {"w": rng.choice([360, 390, 768, 1280, 1440, 1920]),
                     "h": rng.choice([640, 844, 1024, 720, 900, 1080])},
        "utm": {"source": rng.choice(["newsletter", "google", "direct", "partner"]),
                "campaign": rng.choice(CAMPAIGNS)},
        "value": round(rng.uniform(0, 500), 2) if rng.random() < 0.3 else None,
        "consent": {"analytics": rng.random() < 0.9, "marketing": rng.random() < 0.5},
    }
    tags = rng.sample(WORDS, rng.randrange(0, 4))
    ref = rng.choice(REFERRERS) if rng.random() < 0.6 else None
    return ('"event":%s,"page":%s,"referrer":%s,"user_agent":%s,"props":%s,"tags":%s' % (
        json.dumps(rng.choice(EVENTS)), json.dumps(page(rng), ensure_ascii=False),
        json.dumps(ref), json.dumps(rng.choice(USER_AGENTS)),
        json.dumps(props, ensure_ascii=False, separators=(",", ":")),
        json.dumps(tags, ensure_ascii=False, separators=(",", ":"))))


def csv_cell(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def click_tail(rng):
    """Columns after ts: campaign,link,ip,user_agent."""
    return ",".join(csv_cell(x) for x in (
        rng.choice(CAMPAIGNS),
        "https://www.example.com%s?utm_medium=email&lnk=%d" % (page(rng), rng.randrange(1, 50)),
        "%d.%d.%d.%d" % (rng.choice([203, 192, 100, 81]), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)),
        rng.choice(USER_AGENTS)))


def access_tail(rng):
    """Everything in a Combined Log Format line after the timestamp."""
    method = rng.choice(["GET"] * 8 + ["POST", "HEAD"])
    status = rng.choice([200] * 12 + [301, 302, 304, 404, 500])
    size = "-" if status == 304 or method == "HEAD" else str(rng.randrange(200, 90000))
    ref = rng.choice(REFERRERS) if rng.random() < 0.5 else "-"
    path = page(rng).replace(" ", "%20").encode("utf-8").decode("ascii", "ignore")
    return ' "%s %s HTTP/1.1" %d %s "%s" "%s"\n' % (method, path, status, size, ref, rng.choice(USER_AGENTS))


class Out:
    """Buffered writer that flushes a list of strings in large chunks."""

    def __init__(self, path):
        self.f = open(path, "w", encoding="utf-8", newline="", buffering=CHUNK)

    def write_all(self, parts):
        self.f.write("".join(parts))

    def close(self):
        self.f.close()


def people(rng, k):
    """Other people: (id, email, name, mobile, cookies, ip). id 1 is the subject."""
    out = []
    for i in range(k):
        cid = i + 2
        if i < len(DECOY_EMAILS):
            email = DECOY_EMAILS[i]
        else:
            email = "%s.%s%d@%s" % (rng.choice(FIRST).lower(), rng.choice(LAST).lower().replace("'", ""),
                                    cid, rng.choice(["example.com", "example.org", "example.net", "mail.example"]))
        ncook = 1 + (rng.random() < 0.4)
        cookies = ["ck_%016x" % rng.getrandbits(64) for _ in range(ncook)]
        if i < len(DECOY_COOKIES):
            cookies[0] = DECOY_COOKIES[i]
        if i < len(DECOY_IPS):
            ip = DECOY_IPS[i]
        else:
            ip = "%d.%d.%d.%d" % (rng.choice([203, 192, 100, 81, 2, 45]), rng.randrange(256),
                                  rng.randrange(256), rng.randrange(1, 255))
        name = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
        mobile = "+9198%08d" % rng.randrange(10 ** 8)
        out.append((cid, email, name, mobile, cookies, ip))
    return out


def write_customers(path, rng, others):
    parts = ["id,email,name,mobile,country,created_at,password_hash\r\n",
             "1,%s,Subject Person,+919876543210,IN,2023-04-01T09:30:00Z,$argon2id$v=19$subject\r\n" % SUBJECT_EMAIL]
    for cid, email, name, mobile, _c, _ip in others:
        parts.append("%d,%s,%s,%s,%s,2024-%02d-%02dT12:00:00Z,$argon2id$v=19$%08x\r\n" % (
            cid, email, csv_cell(name), mobile, rng.choice(["IN", "DE", "FR", "US", "JP", "NG"]),
            rng.randrange(1, 13), rng.randrange(1, 29), rng.getrandbits(32)))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(parts))


def write_profiles(path, rng, others):
    def line(cid, cookies, ip, plan):
        return json.dumps({"customer_id": cid, "cookie_ids": cookies, "last_ip": ip, "plan": plan,
                           "prefs": {"newsletter": rng.random() < 0.5, "lang": rng.choice(["en", "hi", "de"])}},
                          separators=(",", ":")) + "\n"
    parts = [line(1, list(SUBJECT_COOKIES), SUBJECT_IP, "pro")]
    for cid, _e, _n, _m, cookies, ip in others:
        parts.append(line(cid, cookies, ip, rng.choice(["free", "pro", "team"])))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(parts))


def interleave(out, target, subj_line, other_line):
    """Write subject lines until `target` bytes of them, with others' lines in between so
    that both sides get about the same number of bytes. Returns (subject_count, subject_bytes,
    other_count). Lines are ASCII-heavy; bytes are counted as encoded UTF-8 length."""
    subj_bytes = other_bytes = 0
    n_subj = n_other = 0
    while subj_bytes < target:
        parts = []
        chunk_end = min(target, subj_bytes + CHUNK // 2)
        while subj_bytes < chunk_end:
            s = subj_line()
            parts.append(s)
            subj_bytes += len(s.encode("utf-8")) if not s.isascii() else len(s)
            n_subj += 1
            while other_bytes < subj_bytes:
                o = other_line()
                parts.append(o)
                other_bytes += len(o.encode("utf-8")) if not o.isascii() else len(o)
                n_other += 1
        out.write_all(parts)
    return n_subj, subj_bytes, n_other


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="corpus directory to create")
    ap.add_argument("--target-mb", type=float, required=True,
                    help="MB (10^6 bytes) of the subject's web events; clicks and access log get a quarter each")
    ap.add_argument("--others", type=int, default=50000, help="number of other people (default 50000)")
    ap.add_argument("--seed", type=int, default=20250101)
    a = ap.parse_args(argv)
    if a.others < len(DECOY_EMAILS):
        ap.error("--others must be at least %d" % len(DECOY_EMAILS))

    started = time.time()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "data"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "logs"), exist_ok=True)
    clock = Clock()

    others = people(rng, a.others)
    write_customers(os.path.join(a.out, "data", "customers.csv"), rng, others)
    write_profiles(os.path.join(a.out, "data", "profiles.ndjson"), rng, others)

    # Pools of pre-rendered tails and a cycling random index stream keep per-line work tiny.
    ev_tails = [event_tail(rng) for _ in range(4096)]
    ck_tails = [click_tail(rng) for _ in range(2048)]
    ac_tails = [access_tail(rng) for _ in range(2048)]
    pick = [rng.getrandbits(32) for _ in range(1 << 16)]
    other_cookies = [c for p in others for c in p[4]]
    other_emails = [p[1] for p in others]
    other_ips = [p[5] for p in others]
    target = int(a.target_mb * MB)
    expected = {"subject": {"email": SUBJECT_EMAIL, "cookie_id": list(SUBJECT_COOKIES), "ip": SUBJECT_IP},
                "records": {"customers": 1, "profile": 1}, "matching_bytes": {}}

    # events.ndjson
    st = {"i": 0, "t": 0}
    ev_fmt = '{"event_id":"ev_%010d","cookie_id":"%s","ts":"%s",%s}\n'
    ne, no = len(ev_tails), len(other_cookies)

    def ev_subj():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ i
        st["t"] += 1 + (r & 7)
        return ev_fmt % (i, SUBJECT_COOKIES[r & 1], clock.iso(st["t"]), ev_tails[r % ne])

    def ev_other():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ (i * 2654435761 & 0xFFFFFFFF)
        return ev_fmt % (i, other_cookies[r % no], clock.iso(st["t"]), ev_tails[(r >> 7) % ne])

    out = Out(os.path.join(a.out, "data", "events.ndjson"))
    n, b, _ = interleave(out, target, ev_subj, ev_other)
    out.close()
    expected["records"]["events"] = n
    expected["matching_bytes"]["events"] = b

    # clicks.csv (1 in 16 of the subject's rows spell the email differently; it still matches)
    st = {"i": 0, "t": 0}
    nc, nm = len(ck_tails), len(other_emails)
    subj_spellings = [SUBJECT_EMAIL] * 14 + ["Subject@Example.COM", " subject@example.com"]
    ck_fmt = "clk_%09d,%s,%s,%s\r\n"

    def ck_subj():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ i
        st["t"] += 3 + (r & 31)
        return ck_fmt % (i, csv_cell(subj_spellings[(r >> 3) & 15]), clock.iso(st["t"]), ck_tails[r % nc])

    def ck_other():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ (i * 2654435761 & 0xFFFFFFFF)
        return ck_fmt % (i, other_emails[r % nm], clock.iso(st["t"]), ck_tails[(r >> 7) % nc])

    out = Out(os.path.join(a.out, "data", "clicks.csv"))
    out.write_all(["click_id,email,ts,campaign,link,ip,user_agent\r\n"])
    n, b, _ = interleave(out, target // 4, ck_subj, ck_other)
    out.close()
    expected["records"]["clicks"] = n
    expected["matching_bytes"]["clicks"] = b

    # logs/access.log (1 in 32 of the subject's lines logged as IPv4-mapped IPv6)
    st = {"i": 0, "t": 0}
    na, ni = len(ac_tails), len(other_ips)
    users = ["-"] * 7 + ["subject"]

    def ac_subj():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ i
        st["t"] += r & 3
        ip = SUBJECT_IP_MAPPED if (r >> 4) & 31 == 0 else SUBJECT_IP
        return "%s - %s %s%s" % (ip, users[(r >> 9) & 7], clock.clf(st["t"]), ac_tails[r % na])

    def ac_other():
        i = st["i"] = st["i"] + 1
        r = pick[i & 0xFFFF] ^ (i * 2654435761 & 0xFFFFFFFF)
        return "%s - - %s%s" % (other_ips[r % ni], clock.clf(st["t"]), ac_tails[(r >> 7) % na])

    out = Out(os.path.join(a.out, "logs", "access.log"))
    n, b, _ = interleave(out, target // 4, ac_subj, ac_other)
    out.close()
    expected["records"]["web_access"] = n
    expected["matching_bytes"]["web_access"] = b

    with open(os.path.join(a.out, "dsar.toml"), "w", encoding="utf-8") as f:
        f.write(CONFIG)
    with open(os.path.join(a.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")

    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _d, fns in os.walk(a.out) for fn in fns)
    secs = time.time() - started
    print("gen_corpus: %s: %.1f MB in %.1f s (%.0f MB/s); subject records: %s" % (
        a.out, total / MB, secs, total / MB / max(secs, 1e-9),
        ", ".join("%s=%d" % kv for kv in sorted(expected["records"].items()))), file=sys.stderr)


CONFIG = '''# Generated by bench/gen_corpus.py: synthetic benchmark corpus, no real people.
# dsar --config THIS export --subject email=subject@example.com ...

[controller]
name = "Bench Analytics Ltd."
contact = "privacy@bench.example"
address = "1 Benchmark Way, Testville 400013"

[[sources]]
name = "customers"
type = "csv"
path = "data/customers.csv"
match = { email = "email" }
provides = { customer_id = "id" }
exclude = ["password_hash"]
category = "Account and contact details"
purpose = "Registration and service delivery"
legal_basis = "Contract"
retention = "Life of the account plus 3 years"

[[sources]]
name = "profile"
type = "ndjson"
path = "data/profiles.ndjson"
match = { customer_id = "customer_id" }
provides = { cookie_id = "cookie_ids", ip = "last_ip" }
category = "Profile and preferences"
purpose = "Personalisation"
legal_basis = "Legitimate interest"
retention = "Life of the account"

[[sources]]
name = "events"
type = "ndjson"
path = "data/events.ndjson"
match = { cookie_id = "cookie_id" }
category = "Web analytics"
purpose = "Product analytics"
legal_basis = "Consent"
retention = "26 months"

[[sources]]
name = "clicks"
type = "csv"
path = "data/clicks.csv"
match = { email = "email" }
category = "Email engagement"
purpose = "Campaign measurement"
legal_basis = "Consent"
retention = "2 years"

[[sources]]
name = "web_access"
type = "access_log"
path = "logs/access.log"
match = { ip = "remote_addr" }
category = "Access logs"
purpose = "Security and troubleshooting"
legal_basis = "Legitimate interest"
retention = "90 days"
'''

if __name__ == "__main__":
    main()
