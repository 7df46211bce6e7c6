#!/usr/bin/env python3
"""Regenerates the demo data: employees.csv (the HR export) and directory.json (the
starting state of the `file` target) next to this script.

The output is committed; run `python3 generate.py` only after changing this script, and
commit the regenerated files with it. The script is fully deterministic (no randomness, no
clock): every run writes byte-identical files.

The demo is evaluated with `--as-of 2026-11-22`; every date below is chosen relative to that
day. See CASES at the bottom of the script for which employee ids exercise which rule.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 11, 22)
DOMAIN = "acme.example"
PERSONAL_DOMAIN = "mail.example"
PREFIX = "acme-hris:"

COLUMNS = [
    "id", "employeeNumber", "firstName", "lastName", "preferredName", "primaryEmail",
    "workEmail", "secondaryEmail", "personalEmail", "otherEmail", "employmentStatus",
    "startDate", "endDate", "managerId", "department", "title", "location",
    "preferredLanguage", "customFields.costCenter",
]
# HR value -> directory value (the manifest's aliases).
ALIASES = {"r&d": "Engineering", "people ops": "People"}

# --------------------------------------------------------------------------------------------
# Names. Four pools by region; list lengths are pairwise coprime within a pool so that
# (first, last) pairs do not repeat.
# --------------------------------------------------------------------------------------------

POOLS = {
    "se": (
        ["Anna", "Erik", "Karin", "Lars", "Sofia", "Johan", "Åsa", "Björn", "Ingrid", "Magnus",
         "Linnea", "Oskar", "Elin", "Henrik", "Frida", "Gustav", "Sara", "Mattias", "Ebba",
         "Fredrik", "Ida", "Per", "Emma", "Viktor", "Hanna", "Agnes", "Axel", "Klara", "Sven",
         "Tove", "Olle", "Saga", "Pontus", "Märta", "Göran", "Astrid", "Ulf", "Stina", "Kjell",
         "Therese", "Rasmus", "Alva", "Mikael"],
        ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
         "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Hansson", "Bengtsson",
         "Lindberg", "Jakobsson", "Magnusson", "Lindström", "Olofsson", "Lindqvist",
         "Lindgren", "Axelsson", "Bergström", "Lundberg", "Lundgren", "Lundqvist", "Mattsson",
         "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg", "Wallin",
         "Engström", "Eklund", "Danielsson", "Håkansson", "Lundin", "Björk", "Gunnarsson",
         "Samuelsson", "Fransson", "Wikström", "Isaksson", "Bergman", "Nyström"],
    ),
    "nl": (
        ["Daan", "Sanne", "Bram", "Femke", "Joost", "Lotte", "Sem", "Anouk", "Thijs", "Eva",
         "Ruben", "Fleur", "Jeroen", "Maud", "Niels", "Iris", "Wouter", "Noor", "Koen", "Zoë",
         "Stijn", "Ilse", "Pieter", "Roos", "Gijs", "Marieke", "Bas", "Esther", "Teun"],
        ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
         "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
         "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf",
         "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
         "van den Heuvel", "Schouten"],
    ),
    "de": (
        ["Jörg", "Lukas", "Felix", "Jana", "Maximilian", "Leonie", "Tobias", "Katharina",
         "Sophie", "Matthias", "Laura", "Stefan", "Lena", "Florian", "Julia", "Sebastian",
         "Miriam", "Moritz", "Hannah", "Tim", "Franziska", "Jan", "Charlotte", "Niklas", "Ute",
         "Dominik", "Annika", "Günther", "Bärbel"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
         "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann",
         "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Weiß", "Vogel", "Friedrich"],
    ),
    "int": (
        ["Ørjan", "Sindre", "Ingvild", "Kari", "Søren", "Mette", "Freja", "Mads", "Aino",
         "Jukka", "Eero", "Päivi", "Chloé", "Élodie", "Mathieu", "Agnieszka", "Piotr",
         "Łukasz", "Lucía", "Iñigo", "Siobhán", "Niamh", "Ciarán", "Marta", "Tomasz",
         "Giulia", "Matteo", "Sigrún", "Aleksi"],
        ["Hansen", "Johansen", "Olsen", "Andersen", "Pedersen", "Nielsen", "Kristiansen",
         "Jensen", "Sørensen", "Rasmussen", "Virtanen", "Korhonen", "Mäkinen", "Nieminen",
         "Dubois", "Lefèvre", "Moreau", "Kowalski", "Nowak", "García", "Fernández", "Murphy",
         "O'Brien", "Kelly", "Rossi", "Bianchi", "Haugen", "Brekke", "Lindahl", "Kovács",
         "Novák"],
    ),
}
POOL_OF_LOCATION = {"Stockholm": "se", "Malmö": "se", "Amsterdam": "nl", "Berlin": "de",
                    "Remote": "int", "Oslo": "int"}
LANGUAGE_OF_POOL = {"se": "sv", "nl": "nl", "de": "de", "int": None}

GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
SPECIAL = {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ł": "l", "Ł": "L", "ß": "ss"}


def ascii_part(text: str, pool: str) -> str:
    """Lower-case ASCII local part of a name, as the mail admins spell it."""
    if pool == "de":
        text = "".join(GERMAN.get(c, c) for c in text)
    text = "".join(SPECIAL.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c for c in text.lower() if c.isalnum() or c == "-")


def address(first: str, last: str, pool: str, domain: str = DOMAIN) -> str:
    return f"{ascii_part(first, pool)}.{ascii_part(last, pool)}@{domain}"


class Names:
    """Hands out names per pool, never twice the same work address."""

    def __init__(self, reserved: set[str]):
        self.used = set(reserved)
        self.counter = {pool: 0 for pool in POOLS}

    def next(self, pool: str) -> tuple[str, str]:
        firsts, lasts = POOLS[pool]
        while True:
            k = self.counter[pool]
            self.counter[pool] += 1
            first = firsts[k % len(firsts)]
            last = lasts[(3 * k + 1) % len(lasts)]
            email = address(first, last, pool)
            if email not in self.used:
                self.used.add(email)
                return first, last


# --------------------------------------------------------------------------------------------
# The organisation as it stands in HR before the special cases are applied.
# VP -> managers -> leads -> individual contributors (depth 5 with the CEO).
# --------------------------------------------------------------------------------------------

ORG = [
    ("VP Engineering", "R&D", "Stockholm", "CC-410", [
        ("Engineering Manager, Platform", "R&D", "Stockholm", "CC-410", [
            ("Tech Lead, Platform", ["Software Engineer", "Senior Software Engineer"], 8),
            ("Tech Lead, SRE", ["Site Reliability Engineer"], 5)]),
        ("Engineering Manager, Payments", "R&D", "Malmö", "CC-411", [
            ("Tech Lead, Payments API", ["Software Engineer", "Senior Software Engineer"], 7),
            ("Tech Lead, Risk", ["Software Engineer"], 5)]),
        ("Engineering Manager, Mobile", "R&D", "Berlin", "CC-412", [
            ("Tech Lead, iOS", ["iOS Engineer"], 5),
            ("Tech Lead, Android", ["Android Engineer"], 5)]),
        ("Engineering Manager, Data", "R&D", "Amsterdam", "CC-413", [
            ("Tech Lead, Data Platform", ["Data Engineer"], 7)]),
        ("Engineering Manager, Quality", "R&D", "Remote", "CC-414", [
            ("QA Lead", ["QA Engineer"], 4)]),
        ("IT Manager", "IT", "Stockholm", "CC-430", [
            ("IT Support Lead", ["IT Support Specialist"], 4)]),
    ]),
    ("VP Sales", "Sales", "Amsterdam", "CC-210", [
        ("Director, Sales Nordics", "Sales", "Stockholm", "CC-210", [
            ("Sales Team Lead", ["Account Executive"], 7)]),
        ("Director, Sales Benelux", "Sales", "Amsterdam", "CC-211", [
            ("Sales Team Lead", ["Account Executive"], 5)]),
        ("Director, Sales DACH", "Sales", "Berlin", "CC-212", [
            ("Sales Team Lead", ["Account Executive"], 5)]),
    ]),
    ("Chief Financial Officer", "Finance", "Stockholm", "CC-110", [
        ("Finance Manager", "Finance", "Stockholm", "CC-110", [
            ("Accounting Lead", ["Accountant"], 5)]),
        ("General Counsel", "Legal", "Stockholm", "CC-120", [
            ("Senior Legal Counsel", ["Legal Counsel"], 2)]),
    ]),
    ("VP People", "People Ops", "Malmö", "CC-150", [
        ("HR Manager", "People Ops", "Malmö", "CC-150", [
            ("Talent Acquisition Lead", ["Recruiter", "HR Business Partner"], 5)]),
    ]),
    ("VP Marketing", "Marketing", "Berlin", "CC-220", [
        ("Marketing Manager", "Marketing", "Berlin", "CC-220", [
            ("Content Lead", ["Content Marketer"], 5),
            ("Growth Lead", ["Growth Marketer"], 4)]),
    ]),
    ("VP Customer Success", "Customer Success", "Amsterdam", "CC-310", [
        ("Support Manager", "Customer Success", "Amsterdam", "CC-310", [
            ("Support Team Lead", ["Support Specialist"], 8),
            ("Support Team Lead", ["Support Specialist"], 7)]),
        ("Head of Customer Success", "Customer Success", "Remote", "CC-311", [
            ("Customer Success Lead", ["Customer Success Manager"], 5)]),
    ]),
    ("VP Product", "Product", "Stockholm", "CC-420", [
        ("Head of Design", "Product", "Stockholm", "CC-421", [
            ("Design Lead", ["Product Designer"], 6)]),
        ("Group Product Manager", "Product", "Stockholm", "CC-420", [
            ("Lead Product Manager", ["Product Manager"], 5)]),
    ]),
]


def workday(year: int, month: int, day: int) -> date:
    """The given day, moved forward to a Monday when it falls on a weekend."""
    d = date(year, month, day)
    while d.weekday() >= 5:
        d = date.fromordinal(d.toordinal() + 1)
    return d


def month_start(months_since_2014: int, variant: int) -> date:
    year = 2014 + months_since_2014 // 12
    month = months_since_2014 % 12 + 1
    return workday(year, month, (1, 1, 3, 8, 15)[variant % 5])


class Org:
    def __init__(self, reserved: set[str]):
        self.names = Names(reserved)
        self.people: dict[str, dict] = {}
        self.order: list[str] = []
        self.next_number = 1

    def add(self, *, title, dept, loc, cc, mgr, pool=None, first=None, last=None, number=None,
            start=None, lang="auto", **extra) -> dict:
        number = number if number is not None else self.next_number
        self.next_number = max(self.next_number, number + 1)
        pid = f"E{1000 + number}"
        assert pid not in self.people, pid
        pool = pool or POOL_OF_LOCATION[loc]
        if first is None:
            first, last = self.names.next(pool)
        k = number
        email = address(first, last, pool)
        p = {
            "id": pid, "num": f"{number:04d}", "first": first, "last": last, "pref": None,
            "primary": None, "work": email, "secondary": None, "personal": None,
            "other": None, "status": "Active", "start": start, "end": None, "mgr": mgr,
            "dept": dept, "title": title, "loc": loc,
            "lang": LANGUAGE_OF_POOL[pool] if (lang == "auto" and k % 3 == 1) else (
                None if lang == "auto" else lang),
            "cc": cc, "pool": pool,
            # Directory side: None = no user; otherwise overrides of the user as it stands
            # before the run (old HR values, inactive, ...).
            "user": {}, "in_csv": True,
        }
        if k % 5 == 0:
            # Primary address plus a short work alias: Primary wins.
            p["primary"] = email
            p["work"] = f"{ascii_part(first, pool)[0]}{ascii_part(last, pool)}@{DOMAIN}"
        if k % 3 == 0:
            p["personal"] = (f"{ascii_part(first, pool)}{ascii_part(last, pool)[:3]}"
                             f"{(k * 7) % 90 + 10}@{PERSONAL_DOMAIN}")
        p.update(extra)
        self.people[pid] = p
        self.order.append(pid)
        return p


def build_org(org: Org) -> None:
    ceo = org.add(title="Chief Executive Officer", dept="Executive", loc="Stockholm",
                  cc="CC-100", mgr=None, first="Cecilia", last="Wallenberg", lang="sv",
                  start=date(2012, 9, 3))
    ceo["pref"] = "Cilla"
    vps = []
    for i, (title, dept, loc, cc, managers) in enumerate(ORG):
        vps.append((org.add(title=title, dept=dept, loc=loc, cc=cc, mgr=ceo["id"],
                            start=month_start(i * 2, i)), managers))
    org.add(title="Chief of Staff", dept="Executive", loc="Stockholm", cc="CC-100",
            mgr=ceo["id"], start=month_start(20, 2))
    org.add(title="Executive Assistant", dept="Executive", loc="Stockholm", cc="CC-100",
            mgr=ceo["id"], start=month_start(31, 3))
    leads = []
    for vp, managers in vps:
        for title, dept, loc, cc, team in managers:
            idx = len(org.order)
            manager = org.add(title=title, dept=dept, loc=loc, cc=cc, mgr=vp["id"],
                              start=month_start(12 + idx, idx))
            for lead_title, ic_titles, size in team:
                leads.append((manager, lead_title, ic_titles, size))
    teams = []
    for manager, lead_title, ic_titles, size in leads:
        idx = len(org.order)
        lead = org.add(title=lead_title, dept=manager["dept"], loc=manager["loc"],
                       cc=manager["cc"], mgr=manager["id"], start=month_start(30 + idx, idx))
        teams.append((lead, ic_titles, size))
    for lead, ic_titles, size in teams:
        for position in range(size):
            idx = len(org.order)
            loc = "Remote" if position == 4 else lead["loc"]
            org.add(title=ic_titles[position % len(ic_titles)], dept=lead["dept"], loc=loc,
                    cc=lead["cc"], mgr=lead["id"], start=month_start((idx * 37) % 146, idx))
