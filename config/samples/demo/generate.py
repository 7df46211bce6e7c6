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


# --------------------------------------------------------------------------------------------
# People added by hand: recent hires, future starters, contractors and the odd HR record.
# (number, first, last, pool, status, start, end, manager, department, title, location,
#  language, cost center)
# --------------------------------------------------------------------------------------------

D = date
HAND = [
    # Older records with a story (their users are set up in apply_cases).
    (170, "Kjell", "Nordqvist", "se", "Inactive", D(2019, 4, 1), D(2026, 9, 30), "E1037",
     "Sales", "Account Executive", "Stockholm", None, "CC-210"),
    (171, "Maja", "Holm", "se", "Inactive", D(2021, 3, 1), D(2026, 8, 31), "E1036",
     "IT", "IT Support Specialist", "Stockholm", "sv", "CC-430"),
    (175, "Vilma", "Strömberg", "se", "Pending", D(2026, 11, 30), None, "E1045",
     "Customer Success", "Support Specialist", "Amsterdam", None, "CC-310"),
    (176, "Edvin", "Carlsson", "se", "Active", D(2026, 11, 16), None, "E1028",
     "R&D", "Software Engineer", "Stockholm", "sv", "CC-410"),
    (180, "Wilma", "Kjellberg", "se", "Pending", D(2026, 12, 1), None, "E1033",
     "R&D", "Android Engineer", "Berlin", None, "CC-412"),
    # Joiners and pre-hires.
    (201, "Zoë", "Verhoeven", "nl", "Active", D(2026, 11, 2), None, "E1002",
     "R&D", "Head of Data", "Amsterdam", "nl", "CC-413"),
    (202, "Ørjan", "Solberg", "int", "Active", D(2026, 11, 16), None, "E1201",
     "R&D", "Data Scientist", "Remote", None, "CC-413"),
    (203, "Femke", "Timmermans", "nl", "Pending", D(2026, 12, 1), None, "E1201",
     "R&D", "Data Analyst", "Amsterdam", "nl", "CC-413"),
    (204, "Noah", "Lindholm", "se", "Active", D(2026, 11, 9), None, "E1046",
     "Customer Success", "Support Specialist", "Amsterdam", None, "CC-310"),
    (205, "Elsa", "Ljungberg", "se", "Active", D(2026, 11, 2), None, "E1028",
     "R&D", "Software Engineer", "Stockholm", "sv", "CC-410"),
    (206, "Hugo", "Nordin", "se", "Active", D(2026, 11, 2), None, "E1030",
     "R&D", "Software Engineer", "Malmö", None, "CC-411"),
    (207, "Jörg", "Baumann", "de", "Active", D(2026, 11, 9), None, "E1032",
     "R&D", "iOS Engineer", "Berlin", "de", "CC-412"),
    (208, "Lisa", "Seidel", "de", "Active", D(2026, 11, 9), None, "E1039",
     "Sales", "Account Executive", "Berlin", None, "CC-212"),
    (209, "Matilda", "Ekholm", "se", "Active", D(2026, 11, 16), None, "E1037",
     "Sales", "Account Executive", "Stockholm", None, "CC-210"),
    (210, "Siv", "Åkesson", "se", "Active", D(2026, 11, 16), None, "E1040",
     "Finance", "Accountant", "Stockholm", "sv", "CC-110"),
    (211, "Jesper", "Holmqvist", "se", "Active", D(2026, 11, 16), None, "E1042",
     "people ops", "Recruiter", "Malmö", None, "CC-150"),
    (212, "Noémie", "Laurent", "int", "Active", D(2026, 11, 17), None, "E1047",
     "Customer Success", "Customer Success Manager", "Remote", None, "CC-311"),
    (213, "Tijmen", "Hoekstra", "nl", "Active", D(2026, 11, 18), None, "E1045",
     "Customer Success", "Support Specialist", "Amsterdam", "nl", "CC-310"),
    (214, "Wiebke", "Hahn", "de", "Active", D(2026, 11, 19), None, "E1043",
     "Marketing", "Content Marketer", "Berlin", None, "CC-220"),
    (215, "Linus", "Ek", "se", "Active", D(2026, 11, 22), None, "E1048",
     "Product", "Product Designer", "Stockholm", None, "CC-421"),
    (216, "Inés", "Castro", "int", "Active", None, None, "E1035",
     "R&D", "QA Engineer", "Remote", None, "CC-414"),
    (217, "Kristoffer", "Dahl", "se", "Active", D(2026, 10, 5), None, "E1016",
     "IT", "Specialist, IT Security", "Stockholm", None, "CC-430"),
    (218, "Elias", "Wahlberg", "se", "Active", D(2026, 11, 23), None, "E1029",
     "R&D", "Site Reliability Engineer", "Stockholm", "sv", "CC-410"),
    (219, "Amira", "Haddad", "se", "Pending", D(2026, 11, 30), None, "E1049",
     "Product", "Product Manager", "Stockholm", None, "CC-420"),
    (220, "Maja", "Holm", "se", "Active", D(2026, 11, 9), None, "E1036",
     "IT", "IT Support Specialist", "Stockholm", "sv", "CC-430"),
    (221, "Jonas", "Berg", "se", "Active", D(2026, 11, 2), None, "E1037",
     "Sales", "Account Executive", "Stockholm", None, "CC-210"),
    (222, "Jonas", "Berg", "se", "Active", D(2026, 11, 9), None, "E1030",
     "R&D", "Software Engineer", "Malmö", "sv", "CC-411"),
    (223, "Mikkel", "Thorsen", "int", "Pending", D(2026, 12, 6), None, "E1047",
     "Customer Success", "Customer Success Manager", "Remote", None, "CC-311"),
    (224, "Lieke", "Brinkman", "nl", "Active", D(2026, 11, 2), None, "E1038",
     "Sales", "Account Executive", "Amsterdam", "nl", "CC-211"),
    (225, "Paul", "Seidel", "de", "Active", D(2026, 11, 9), None, "E1044",
     "Marketing", "Growth Marketer", "Berlin", None, "CC-220"),
    (226, "Hedda", "Strand", "int", "Active", D(2026, 11, 16), None, "E1035",
     "R&D", "QA Engineer", "Remote", None, "CC-414"),
    # Not yet: skipped.
    (230, "Vera", "Lindkvist", "se", "Pending", D(2026, 12, 7), None, "E1028",
     "R&D", "Software Engineer", "Stockholm", None, "CC-410"),
    (231, "Kasper", "Møller", "int", "Pending", D(2027, 1, 11), None, "E1047",
     "Customer Success", "Customer Success Manager", "Remote", None, "CC-311"),
    (232, "Nora", "Fredin", "se", "Pending", D(2027, 3, 31), None, "E1041",
     "Legal", "Legal Counsel", "Stockholm", "sv", "CC-120"),
    (233, "Alexander", "Wirth", "de", "Pending", None, None, "E1039",
     "Sales", "Account Executive", "Berlin", "de", "CC-212"),
    (234, "Filippa", "Ahlgren", "se", "Active", D(2026, 11, 16), None, "E1042",
     "People Ops", "Recruiter", "Malmö", None, "CC-150"),
    (235, "Jens", "Petersen", "int", "Pending", D(2026, 12, 1), None, "E1044",
     "Marketing", "Growth Marketer", "Remote", None, "CC-220"),
    # Unreadable rows.
    (236, "Tilda", "Kronberg", "se", "Active", "2026-02-30", None, "E1040",
     "Finance", "Accountant", "Stockholm", None, "CC-110"),
    (237, "Bengt", "Hallgren", "se", "Retired", D(2003, 5, 5), D(2024, 12, 31), "E1004",
     "Finance", "Controller", "Stockholm", "sv", "CC-110"),
    # Out of scope (filters); none of them has a user.
    (240, "Rolf", "Tangen", "int", "Active", D(2026, 10, 1), None, "E1015",
     "Contractors", "QA Consultant", "Remote", None, "CC-414"),
    (241, "Petra", "Sundin", "se", "Active", D(2026, 9, 14), D(2027, 2, 28), "E1016",
     "Contractors", "Network Consultant", "Stockholm", None, "CC-430"),
    (242, "Dirk", "Vogt", "de", "Pending", D(2026, 12, 1), None, "E1023",
     "Contractors", "Freelance Designer", "Berlin", None, "CC-220"),
    (243, "Sigurd", "Aasen", "int", "Active", D(2026, 11, 2), None, "E1017",
     "Sales", "Account Executive", "Oslo", None, "CC-210"),
    (244, "Ronja", "Lindell", "se", "Pending", D(2027, 4, 6), None, "E1027",
     "Product", "Product Manager", "Stockholm", None, "CC-420"),
]

PREFERRED = {"Cecilia": "Cilla", "Katharina": "Kathi", "Maximilian": "Max", "Sebastian": "Basti",
             "Franziska": "Franzi", "Kristoffer": "Kris", "Alexander": "Alex"}

# Unmanaged users nobody matches: never touched.
# (email, userName or None for the email, first, last, externalId, active, manager id or None)
UNMANAGED = [
    ("it-admin@acme.example", "it-admin", "IT", "Admin", None, True, None),
    ("build-bot@acme.example", None, "Build", "Bot", None, True, None),
    ("backup-svc@acme.example", "backup-svc", "Backup", "Service", None, True, None),
    ("ci-runner@acme.example", None, "CI", "Runner", None, True, None),
    ("helpdesk@acme.example", None, "Helpdesk", "Shared Mailbox", None, True, None),
    ("payroll-export@acme.example", None, "Payroll", "Export", None, True, None),
    ("security-scanner@acme.example", None, "Security", "Scanner", None, True, None),
    ("okta-sync@acme.example", None, "Okta", "Sync", "okta:00u8f2k1xqLw", True, None),
]
UNMANAGED_LATE = [
    ("room.aurora@acme.example", None, "Room", "Aurora (Stockholm)", None, True, None),
    ("room.keizersgracht@acme.example", None, "Room", "Keizersgracht (Amsterdam)", None,
     True, None),
    ("printer.malmo@acme.example", None, "Printer", "Malmö 3rd floor", None, True, None),
    ("ext.marco.ricci@acme.example", None, "Marco", "Ricci", "partner-portal:P-2291", True,
     "E1014"),
    ("ext.hilde.dahl@acme.example", None, "Hilde", "Dahl", None, True, "E1023"),
    ("ext.pablo.ortiz@acme.example", None, "Pablo", "Ortiz", None, False, None),
    ("auditor.external@acme.example", None, "External", "Auditor", None, True, None),
    ("intern.summer2025@acme.example", None, "Summer", "Intern 2025", None, False, None),
]


def chosen_email(p: dict) -> str | None:
    for kind in ("primary", "work", "secondary", "other"):
        if p[kind]:
            return p[kind]
    return None


def apply_cases(org: Org) -> None:
    """Turns the plain org into the HR export and directory of the demo."""
    P = org.people

    def hr(pid, **changes):
        """HR's current data differs from what the directory holds (the old values stay in
        the user)."""
        old = {k: P[pid][k] for k in changes}
        for k, v in old.items():
            P[pid]["user"].setdefault(k, v)
        P[pid].update(changes)

    def user(pid, **overrides):
        P[pid]["user"].update(overrides)

    # ---- Unchanged, but worth a look -------------------------------------------------------
    hr("E1055", dept="r&d")                               # alias matches any case
    user("E1066", email="Rasmus.Berglund@acme.example")   # emails compare case-insensitively
    hr("E1086", status="Leave")                           # on leave counts as employed
    hr("E1126", status="Leave")
    hr("E1147", start=None)                               # Active without a start date
    hr("E1076", start=None)
    hr("E1119", end=D(2026, 11, 22))                      # last working day is today
    hr("E1135", end=D(2026, 12, 31))                      # leaving later
    P["E1093"]["secondary"], P["E1093"]["work"] = P["E1093"]["work"], None
    P["E1162"]["other"], P["E1162"]["work"] = P["E1162"]["work"], None
    P["E1010"]["cc"] = None                               # no cost center: attribute omitted
    P["E1168"]["num"] = None                              # no employee number
    hr("E1088", status="Inactive", end=D(2026, 6, 30))    # left, already deactivated
    user("E1088", active=False)

    # ---- Updates ---------------------------------------------------------------------------
    # Adoption of unmanaged users holding the employee's email.
    user("E1109", externalId=None, mgr=None, lang=None, omit=["*"])
    user("E1150", externalId=None, email=None, userName="Ciaran.Nielsen@ACME.example",
         mgr=None, omit=["department", "costCenter", "employeeNumber"])
    user("E1125", externalId="legacy-ad:S-1-5-21-3623811015-1125", omit=["employeeNumber"])
    # Reactivation: rehired with the same id.
    hr("E1122", start=D(2026, 11, 2))
    user("E1122", active=False)
    # Pre-hire user created by an earlier run whose start date has come.
    user("E1176", active=False)
    # Aliases.
    user("E1124", attrs={"department": "People Ops"})     # written before the alias existed
    hr("E1158", dept="R&D", title="Frontend Engineer", mgr="E1028", cc="CC-410")
    # Movers.
    hr("E1090", dept="Product", title="Product Manager, Data", mgr="E1027", cc="CC-420")
    hr("E1141", dept="Sales", title="Account Executive", mgr="E1038", cc="CC-211")
    for pid, title in [("E1050", "Senior Software Engineer"), ("E1065", "Senior Software Engineer"),
                       ("E1101", "Senior Account Executive"), ("E1140", "Senior Support Specialist"),
                       ("E1160", "Senior Product Designer"), ("E1118", "Senior Accountant")]:
        hr(pid, title=title)
    hr("E1078", loc="Amsterdam")
    hr("E1108", loc="Remote")
    hr("E1069", loc="Stockholm")
    hr("E1121", cc="CC-111")
    hr("E1153", cc="CC-312")
    # Manager changes: Ebba's team (E1031 left) moves to Mattias; a team change; the Data
    # Platform team now reports to the new Head of Data (E1201, created in this run).
    for pid in ("E1070", "E1071", "E1072", "E1073", "E1074"):
        hr(pid, mgr="E1030")
    hr("E1056", mgr="E1029", title="Site Reliability Engineer")
    hr("E1034", mgr="E1201")
    # Names and language.
    hr("E1130", last="Meyer-Schulz")                      # new name, same address
    hr("E1098", last="Lind", work="asa.lind@acme.example")  # new name, new address
    user("E1114", last="Kohler")                          # directory lost the umlaut
    hr("E1105", lang="sv")
    user("E1146", omit=["employeeNumber"])                # attribute missing in the directory
    hr("E1157", title=None)                               # title cleared in HR

    # ---- Deactivations ---------------------------------------------------------------------
    hr("E1031", status="Inactive", end=D(2026, 10, 31))
    hr("E1052", status="Inactive", end=D(2026, 5, 22))     # removal due 2026-11-22: not yet
    hr("E1060", status="Inactive", end=D(2026, 11, 21))
    hr("E1083", status="Inactive", end=D(2026, 9, 30))
    hr("E1097", status="Inactive", end=D(2026, 10, 16))
    hr("E1102", status="Inactive", end=D(2026, 8, 31))
    hr("E1134", end=D(2026, 11, 13))                      # still Active, end date passed
    hr("E1145", status="Inactive")                        # no end date
    hr("E1164", status="Inactive", end=D(2026, 7, 15))
    user("E1180", start=D(2026, 11, 16))                  # start postponed into the future

    # ---- Deletions -------------------------------------------------------------------------
    P["E1079"]["in_csv"] = False                          # gone from the export
    P["E1142"]["in_csv"] = False
    hr("E1154", dept="Contractors")                       # now out of scope
    hr("E1116", loc="Oslo")
    hr("E1099", status="Inactive", end=D(2026, 5, 21))     # removal due 2026-11-21
    user("E1099", active=False)
    hr("E1131", status="Inactive", end=D(2026, 3, 31))     # never deactivated
    hr("E1159", status="Inactive", end=D(2025, 12, 31))
    user("E1159", active=False)

    # ---- Conflicts -------------------------------------------------------------------------
    user("E1171", active=False)        # old record of Maja Holm; E1220 is her rehire
    # E1096: a migration left two users with her externalId (see build_directory).
    # E1127: the export holds his row twice (see build_rows).
    # E1221/E1222: two new hires given the same address.

    # ---- Errors ----------------------------------------------------------------------------
    hr("E1113", end="2026-11-31")      # unreadable row of a managed user: the user is kept

    # ---- Skipped ---------------------------------------------------------------------------
    user("E1170", externalId=None, mgr=None, omit=["*"])  # leaver; IT made the account by hand
    for pid in ("E1234", "E1235"):                        # personal address only
        P[pid]["personal"] = (f"{ascii_part(P[pid]['first'], 'se')}."
                              f"{ascii_part(P[pid]['last'], 'se')}@{PERSONAL_DOMAIN}")
        P[pid]["work"] = P[pid]["primary"] = None

    # Only these have users; everyone else hired after the last sync has none.
    for pid in [p for p in P if int(p[1:]) >= 1201]:
        P[pid]["user"] = None
    P["E1204"]["user"] = {"externalId": None, "mgr": None, "lang": None, "omit": ["*"]}
