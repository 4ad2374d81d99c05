#!/usr/bin/env python3
"""Deterministic generator for the `saas_ops` demo dbt project's seeds.

Stdlib only, fixed random seed: running it twice produces byte-identical CSVs.
The outputs are committed under seeds/; re-run only when changing the data model:

    python3 scripts/gen_demo_seeds.py            # writes ./seeds/*.csv
    python3 scripts/gen_demo_seeds.py --out DIR  # writes DIR/*.csv

The story: a B2B SaaS company's CRM (accounts, opportunities), billing
(plans, subscriptions, invoices) and product telemetry (users, events) over
the two years 2024-11-01 .. 2026-10-31. Won opportunities become subscriptions
(the first one is "new business", later ones are upgrades or add-ons), some
subscriptions are cancelled (contraction / churn), invoices are issued monthly
for every month a subscription is live, and users of paying accounts generate
product events while their account is a customer.
"""

import argparse
import csv
import datetime as dt
import os
import random

SEED = 20241101
START = dt.date(2024, 11, 1)
END = dt.date(2026, 10, 31)

N_ACCOUNTS = 300
N_OPPORTUNITIES = 1200
N_USERS = 2000
N_EVENTS = 28000  # ~40k would push the seeds past ~1.5 MB

SEGMENTS = [("SMB", 0.55), ("Mid-Market", 0.30), ("Enterprise", 0.15)]
REGIONS = [("NA", 0.5), ("EMEA", 0.32), ("APAC", 0.18)]
INDUSTRIES = ["Software", "Fintech", "Healthcare", "Retail", "Manufacturing",
              "Media", "Education", "Logistics"]
OWNERS = ["alice", "bruno", "chen", "dara", "emeka", "farah", "gus", "hana"]
OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]

# plan, list_price (monthly, USD), tier
PLANS = [("starter", 49, 1), ("growth", 199, 2), ("business", 599, 3),
         ("enterprise", 1499, 4)]
PLAN_PRICE = {p: price for p, price, _ in PLANS}
PLAN_TIER = {p: tier for p, _, tier in PLANS}
SEGMENT_PLANS = {
    "SMB": [("starter", 0.6), ("growth", 0.35), ("business", 0.05)],
    "Mid-Market": [("starter", 0.15), ("growth", 0.5), ("business", 0.35)],
    "Enterprise": [("growth", 0.15), ("business", 0.45), ("enterprise", 0.4)],
}
SEGMENT_SEATS = {"SMB": (1, 3), "Mid-Market": (1, 6), "Enterprise": (2, 10)}
SEGMENT_WIN_RATE = {"SMB": 0.45, "Mid-Market": 0.38, "Enterprise": 0.33}

EVENT_TYPES = [("login", 0.34), ("view", 0.30), ("create", 0.14), ("edit", 0.10),
               ("share", 0.05), ("export", 0.04), ("invite", 0.03)]

NAME_A = ["Acme", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor",
          "Iris", "Juniper", "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine",
          "Quartz", "River", "Summit", "Tidal", "Umber", "Vertex", "Willow", "Zephyr"]
NAME_B = ["Labs", "Systems", "Analytics", "Health", "Logistics", "Works", "Media",
          "Foods", "Capital", "Robotics", "Cloud", "Partners", "Studio", "Retail"]
FIRST = ["ana", "ben", "carla", "dev", "eli", "fay", "gil", "hugo", "ines", "jon",
         "kim", "leo", "mia", "nat", "omar", "pia", "raj", "sol", "tom", "uma",
         "vic", "wen", "yan", "zoe"]


def weighted(rng, pairs):
    r = rng.random() * sum(w for _, w in pairs)
    for value, w in pairs:
        r -= w
        if r <= 0:
            return value
    return pairs[-1][0]


def month_start(d):
    return d.replace(day=1)


def add_months(d, n):
    m = d.month - 1 + n
    return d.replace(year=d.year + m // 12, month=m % 12 + 1, day=1)


def rand_date(rng, lo, hi):
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def rand_ts(rng, lo, hi):
    """Uniform timestamp (whole seconds) in [lo, hi] (datetimes)."""
    span = int((hi - lo).total_seconds())
    return lo + dt.timedelta(seconds=rng.randint(0, span))


def fmt_ts(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


def money(x):
    return f"{x:.2f}"


def tf(b):
    return "True" if b else "False"


def write(out, name, header, rows):
    path = os.path.join(out, name + ".csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"{path}: {len(rows)} rows, {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "seeds")))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(SEED)

    # ---- accounts -------------------------------------------------------------
    accounts = []
    used_names = set()
    for account_id in range(1, N_ACCOUNTS + 1):
        while True:
            name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)}"
            if name in used_names:
                name = f"{name} {rng.choice(['Inc', 'Group', 'Co', 'GmbH', 'Ltd'])}"
            if name not in used_names:
                break
        used_names.add(name)
        accounts.append({
            "account_id": account_id,
            "account_name": name,
            "segment": weighted(rng, SEGMENTS),
            "region": weighted(rng, REGIONS),
            "industry": rng.choice(INDUSTRIES),
            # most accounts exist before the reporting window's last quarter
            # skewed early: most of the book exists in the first year
            "created_at": START + dt.timedelta(days=int(
                (dt.date(2026, 7, 31) - START).days * rng.random() ** 2)),
        })

    # ---- opportunities ---------------------------------------------------------
    # Spread opportunities over accounts (some accounts get many), created after
    # the account; closed ones have a close date no later than END, open ones an
    # expected close date in the future.
    opp_accounts = [a["account_id"] for a in accounts]
    opp_accounts += [rng.choice(accounts)["account_id"]
                     for _ in range(N_OPPORTUNITIES - N_ACCOUNTS)]
    rng.shuffle(opp_accounts)
    drafts = []
    for account_id in opp_accounts:
        acct = accounts[account_id - 1]
        lo = max(acct["created_at"], START)
        span = max(0, (END - dt.timedelta(days=5) - lo).days)
        created = lo + dt.timedelta(days=int(span * rng.random() ** 2.2))
        cycle = {"SMB": (7, 60), "Mid-Market": (20, 110),
                 "Enterprise": (45, 200)}[acct["segment"]]
        close = created + dt.timedelta(days=rng.randint(*cycle))
        drafts.append((created, close, account_id))
    drafts.sort()
    opportunities = []
    for opportunity_id, (created, close, account_id) in enumerate(drafts, start=1):
        acct = accounts[account_id - 1]
        plan = weighted(rng, SEGMENT_PLANS[acct["segment"]])
        seats = rng.randint(*SEGMENT_SEATS[acct["segment"]])
        discount = rng.choice([1.0, 1.0, 0.95, 0.9, 0.85])
        mrr = round(PLAN_PRICE[plan] * seats * discount, 2)
        is_closed = close <= END
        if is_closed:
            is_won = rng.random() < SEGMENT_WIN_RATE[acct["segment"]]
            stage = "Closed Won" if is_won else "Closed Lost"
        else:
            is_won = False
            # later-stage deals are the ones that have been open longer
            age = (END - created).days
            stage = OPEN_STAGES[min(3, age // 30 + rng.randint(0, 1))]
        opportunities.append({
            "opportunity_id": opportunity_id,
            "account_id": account_id,
            "owner": rng.choice(OWNERS),
            "stage": stage,
            "amount": round(mrr * 12, 2),  # annual contract value
            "created_date": created,
            "close_date": close,
            "is_won": is_won,
            "is_closed": is_closed,
            "_plan": plan,
            "_mrr": mrr,
        })

    # ---- subscriptions ---------------------------------------------------------
    # Each won opportunity starts a subscription a few days after closing. For an
    # account that already pays, a bigger deal replaces (upgrades) its current
    # largest subscription; otherwise it is an add-on. Some subscriptions are
    # cancelled later (contraction or churn). ended_on is the first day of the
    # first month no longer billed, so billing months are [start month, ended_on).
    subscriptions = []
    live = {}  # account_id -> list of live subscription dicts
    won = sorted((o for o in opportunities if o["is_won"]),
                 key=lambda o: (o["close_date"], o["opportunity_id"]))
    for opp in won:
        start = opp["close_date"] + dt.timedelta(days=rng.randint(0, 10))
        if start > END:
            start = END
        start_month = month_start(start)
        current = [s for s in live.get(opp["account_id"], [])
                   if s["ended_on"] is None or s["ended_on"] > start_month]
        biggest = max(current, key=lambda s: s["mrr"], default=None)
        if (biggest is not None and biggest["ended_on"] is None
                and opp["_mrr"] > biggest["mrr"]
                and month_start(biggest["started_on"]) < start_month):
            biggest["ended_on"] = start_month
            biggest["status"] = "upgraded"
        sub = {
            "subscription_id": len(subscriptions) + 1,
            "account_id": opp["account_id"],
            "opportunity_id": opp["opportunity_id"],
            "plan": opp["_plan"],
            "mrr": opp["_mrr"],
            "started_on": start,
            "ended_on": None,
            "status": "active",
        }
        subscriptions.append(sub)
        live.setdefault(opp["account_id"], []).append(sub)

    # Cancellations: decided after all upgrades so an upgraded subscription is
    # never also cancelled.
    for sub in subscriptions:
        if sub["status"] != "active":
            continue
        if rng.random() < 0.22:
            earliest = add_months(sub["started_on"], 3)
            if earliest <= dt.date(2026, 10, 1):
                months = (2026 - earliest.year) * 12 + 10 - earliest.month
                sub["ended_on"] = add_months(earliest, rng.randint(0, months))
                sub["status"] = "cancelled"

    # ---- invoices --------------------------------------------------------------
    invoices = []
    for sub in subscriptions:
        m = month_start(sub["started_on"])
        stop = sub["ended_on"] or add_months(END, 1)
        while m < stop:
            age_months = (END.year - m.year) * 12 + END.month - m.month
            p_unpaid = 0.35 if age_months == 0 else (0.08 if age_months <= 2 else 0.02)
            amount = sub["mrr"]
            if m == month_start(sub["started_on"]) and sub["started_on"].day > 1:
                # first invoice is prorated for a mid-month start
                days = (add_months(m, 1) - m).days
                amount = round(amount * (days - sub["started_on"].day + 1) / days, 2)
            invoices.append((m, sub["subscription_id"], sub["account_id"], amount,
                             rng.random() >= p_unpaid))
            m = add_months(m, 1)
    invoices.sort()
    invoice_rows = [(i, sid, aid, m.isoformat(), money(amt), tf(paid))
                    for i, (m, sid, aid, amt, paid) in enumerate(invoices, start=1)]

    # ---- users -----------------------------------------------------------------
    # Users belong to accounts that have paid at some point; they sign up while
    # the account is a customer. Bigger segments have more users.
    customer_span = {}
    for sub in subscriptions:
        first, last = customer_span.get(sub["account_id"], (END, START))
        end = (sub["ended_on"] - dt.timedelta(days=1)) if sub["ended_on"] else END
        customer_span[sub["account_id"]] = (min(first, sub["started_on"]), max(last, end))
    weight = {"SMB": 1, "Mid-Market": 3, "Enterprise": 8}
    customers = sorted(customer_span)
    cust_weights = [(a, weight[accounts[a - 1]["segment"]]) for a in customers]
    user_drafts = []
    for _ in range(N_USERS):
        account_id = weighted(rng, cust_weights)
        first, last = customer_span[account_id]
        lo = dt.datetime.combine(first, dt.time(8))
        hi = dt.datetime.combine(max(first, last), dt.time(20))
        user_drafts.append((rand_ts(rng, lo, hi), account_id))
    user_drafts.sort()
    users = []
    email_seen = set()
    for user_id, (signed_up_at, account_id) in enumerate(user_drafts, start=1):
        domain = accounts[account_id - 1]["account_name"].lower().replace(" ", "") + ".example"
        local = f"{rng.choice(FIRST)}.{rng.choice(FIRST)}"
        email = f"{local}@{domain}"
        if email in email_seen:
            email = f"{local}{user_id}@{domain}"
        email_seen.add(email)
        users.append({"user_id": user_id, "account_id": account_id, "email": email,
                      "signed_up_at": signed_up_at})

    # ---- events ----------------------------------------------------------------
    # Each user is active between sign-up and the end of their account's customer
    # span; a per-user "engagement" weight makes activity skewed.
    engagement = [(u, rng.random() ** 2 + 0.02) for u in users]
    events = []
    end_ts = dt.datetime.combine(END, dt.time(23, 59, 59))
    for _ in range(N_EVENTS):
        u = weighted(rng, engagement)
        last = customer_span[u["account_id"]][1]
        hi = min(end_ts, dt.datetime.combine(last, dt.time(23, 59, 59)))
        lo = u["signed_up_at"]
        if hi < lo:
            hi = lo + dt.timedelta(hours=2)
        events.append((rand_ts(rng, lo, hi), u["user_id"], weighted(rng, EVENT_TYPES)))
    events.sort()
    event_rows = [(i, uid, et, fmt_ts(t)) for i, (t, uid, et) in enumerate(events, start=1)]

    # ---- write -----------------------------------------------------------------
    write(args.out, "plans", ["plan", "list_price", "tier"], PLANS)
    write(args.out, "accounts",
          ["account_id", "account_name", "segment", "region", "industry", "created_at"],
          [(a["account_id"], a["account_name"], a["segment"], a["region"], a["industry"],
            a["created_at"].isoformat()) for a in accounts])
    write(args.out, "opportunities",
          ["opportunity_id", "account_id", "owner", "stage", "amount", "created_date",
           "close_date", "is_won", "is_closed"],
          [(o["opportunity_id"], o["account_id"], o["owner"], o["stage"], money(o["amount"]),
            o["created_date"].isoformat(), o["close_date"].isoformat(), tf(o["is_won"]),
            tf(o["is_closed"])) for o in opportunities])
    write(args.out, "subscriptions",
          ["subscription_id", "account_id", "opportunity_id", "plan", "mrr", "started_on",
           "ended_on", "status"],
          [(s["subscription_id"], s["account_id"], s["opportunity_id"], s["plan"],
            money(s["mrr"]), s["started_on"].isoformat(),
            s["ended_on"].isoformat() if s["ended_on"] else "", s["status"])
           for s in subscriptions])
    write(args.out, "invoices",
          ["invoice_id", "subscription_id", "account_id", "invoice_month", "amount", "paid"],
          invoice_rows)
    write(args.out, "users", ["user_id", "account_id", "email", "signed_up_at"],
          [(u["user_id"], u["account_id"], u["email"], fmt_ts(u["signed_up_at"]))
           for u in users])
    write(args.out, "events", ["event_id", "user_id", "event_type", "occurred_at"], event_rows)


if __name__ == "__main__":
    main()
