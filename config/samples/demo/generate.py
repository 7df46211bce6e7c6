#!/usr/bin/env python3
"""Regenerates the demo data: employees.csv (the HR export) and directory.json (the
starting state of the `file` target) next to this script.

The output is committed; run `python3 generate.py` only after changing this script, and
commit the regenerated files with it. The script is fully deterministic (no randomness, no
clock): every run writes byte-identical files.

The demo is evaluated with `--as-of 2026-11-22`; every date below is chosen relative to that
day. CASES near the end of the script lists which employee ids exercise which rule.
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

RECENT_HIRE_LEADS = ["E1028", "E1029", "E1030", "E1032", "E1033", "E1034", "E1035", "E1037",
                     "E1038", "E1043", "E1045", "E1046", "E1047", "E1048"]

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
    # E1175: the same, but the start date (2026-11-30) is still ahead: stays inactive.
    user("E1175", active=False)
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
    # E1180: HR postponed the start date to 2026-12-01; the user is already active.

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

    # Nobody hired after the last sync (E1201 and up) has a user, except E1204, whose
    # account IT created by hand (unmanaged, found by email: adopted).
    for pid in [p for p in P if int(p[1:]) >= 1201]:
        P[pid]["user"] = None
    P["E1204"]["user"] = {"externalId": None, "mgr": None, "omit": ["*"]}


# Directory users of people who are not (or no longer) in the HR export.
GONE = [
    # A long-gone employee whose record HR has purged.
    {"id": "E0917", "first": "Rune", "last": "Hedberg", "email": "rune.hedberg@acme.example",
     "lang": "sv", "active": False,
     "attributes": {"department": "Engineering", "title": "Software Engineer",
                    "office": "Stockholm", "costCenter": "CC-410"}},
]
# A second user carrying E1096's externalId, left behind by a directory migration.
DUPLICATE_E1096 = {
    "email": "sofia.johansson.migrated@acme.example", "first": "Sofia", "last": "Johansson",
    "attributes": {"department": "IT", "office": "Stockholm"},
}


def reserved_emails() -> set[str]:
    reserved = {address(first, last, pool) for _, first, last, pool, *_ in HAND}
    reserved |= {"asa.lind@acme.example", "rune.hedberg@acme.example"}
    return reserved


def build() -> Org:
    org = Org(reserved_emails())
    build_org(org)
    for (number, first, last, pool, status, start, end, mgr, dept, title, loc, lang,
         cc) in HAND:
        org.add(number=number, first=first, last=last, pool=pool, status=status, start=start,
                end=end, mgr=mgr, dept=dept, title=title, loc=loc, lang=lang, cc=cc)
    # This year's hires, synced by earlier runs.
    for i, lead in enumerate(RECENT_HIRE_LEADS):
        team = next(org.people[pid] for pid in org.order if org.people[pid]["mgr"] == lead)
        org.add(number=181 + i, title=team["title"], dept=team["dept"], loc=team["loc"],
                cc=team["cc"], mgr=lead, start=workday(2026, 1 + i % 10, 12))
    for p in org.people.values():
        p["pref"] = p["pref"] or PREFERRED.get(p["first"])
    apply_cases(org)
    return org


def text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def csv_row(p: dict) -> list[str]:
    return [text(v) for v in (
        p["id"], p["num"], p["first"], p["last"], p["pref"], p["primary"], p["work"],
        p["secondary"], p["personal"], p["other"], p["status"], p["start"], p["end"], p["mgr"],
        p["dept"], p["title"], p["loc"], p["lang"], p["cc"])]


def build_rows(org: Org) -> list[list[str]]:
    rows = []
    for pid in sorted(org.people):
        p = org.people[pid]
        if not p["in_csv"]:
            continue
        rows.append(csv_row(p))
        if pid == "E1127":
            # The export glitch: the same employee twice, the second row with a new title.
            rows.append(csv_row({**p, "title": "Senior HR Business Partner"}))
    return rows


def aliased(department: str | None) -> str | None:
    if department is None:
        return None
    return ALIASES.get(department.strip().lower(), department)


def render_user(p: dict, uid: str, target_ids: dict[str, str]) -> dict:
    overrides = p["user"]
    old = {**p, **overrides}
    email = overrides["email"] if "email" in overrides else chosen_email(old)
    external_id = overrides.get("externalId", PREFIX + p["id"])
    omit = set(overrides.get("omit", ()))
    user = {"id": uid}
    if external_id:
        user["externalId"] = external_id
    user_name = overrides.get("userName", email)
    if user_name:
        user["userName"] = user_name
    if email:
        user["email"] = email
    user["firstName"] = old["first"]
    user["lastName"] = old["last"]
    if "*" not in omit:
        user["preferredLanguage"] = old["lang"] or "en"
    user["active"] = overrides.get("active", True)
    if old["mgr"]:
        user["managerId"] = target_ids[old["mgr"]]
    attributes = {
        "department": aliased(old["dept"]), "title": old["title"], "office": old["loc"],
        "employeeNumber": old["num"], "costCenter": old["cc"],
    }
    attributes.update(overrides.get("attrs", {}))
    attributes = {k: v for k, v in sorted(attributes.items())
                  if v is not None and k not in omit and "*" not in omit}
    if attributes:
        user["attributes"] = attributes
    user["version"] = 1 + (int(p["id"][1:]) * 7) % 5
    return user


def plain_user(uid: str, email: str, user_name: str | None, first: str, last: str,
               external_id: str | None, active: bool, manager: str | None,
               attributes: dict | None = None, language: str | None = None) -> dict:
    user = {"id": uid}
    if external_id:
        user["externalId"] = external_id
    user["userName"] = user_name or email
    user["email"] = email
    user["firstName"] = first
    user["lastName"] = last
    if language:
        user["preferredLanguage"] = language
    user["active"] = active
    if manager:
        user["managerId"] = manager
    if attributes:
        user["attributes"] = dict(sorted(attributes.items()))
    user["version"] = 1
    return user


def build_directory(org: Org) -> dict:
    people = [org.people[pid] for pid in sorted(org.people)
              if org.people[pid]["user"] is not None and pid != "E1204"]
    # Target ids in creation order: service accounts, the purged employee, the employees, the
    # migration duplicate, rooms and consultants, and the account IT made for E1204 by hand.
    slots: list[tuple[str, object]] = [("unmanaged", u) for u in UNMANAGED]
    slots += [("gone", g) for g in GONE]
    slots += [("person", p) for p in people]
    slots.append(("duplicate", DUPLICATE_E1096))
    slots += [("unmanaged", u) for u in UNMANAGED_LATE]
    slots.append(("person", org.people["E1204"]))
    uids = [f"u{n:06d}" for n in range(1, len(slots) + 1)]
    target_ids = {item["id"]: uid for (kind, item), uid in zip(slots, uids) if kind == "person"}

    users = []
    for (kind, item), uid in zip(slots, uids):
        if kind == "person":
            users.append(render_user(item, uid, target_ids))
        elif kind == "unmanaged":
            email, user_name, first, last, external_id, active, manager = item
            users.append(plain_user(uid, email, user_name, first, last, external_id, active,
                                    target_ids[manager] if manager else None))
        elif kind == "gone":
            users.append(plain_user(uid, item["email"], None, item["first"], item["last"],
                                    PREFIX + item["id"], item["active"], None,
                                    item["attributes"], item["lang"]))
        else:
            users.append(plain_user(uid, item["email"], None, item["first"], item["last"],
                                    PREFIX + "E1096", True, None, item["attributes"], "en"))
    return {"users": users}


def check(rows: list[list[str]], directory: dict) -> None:
    """Guards the data against accidental collisions when the script is edited."""
    emails: dict[str, list[str]] = {}
    for row in rows:
        p = dict(zip(COLUMNS, row))
        email = next((p[c] for c in ("primaryEmail", "workEmail", "secondaryEmail",
                                     "otherEmail") if p[c]), None)
        if email:
            emails.setdefault(email.lower(), []).append(p["id"])
    shared = sorted(tuple(ids) for ids in emails.values() if len(ids) > 1)
    assert shared == [("E1127", "E1127"), ("E1171", "E1220"), ("E1221", "E1222")], shared
    held: dict[str, str] = {}
    for user in directory["users"]:
        for key in {user.get("email", "").lower(), user.get("userName", "").lower()} - {""}:
            assert key not in held, (key, user["id"], held[key])
            held[key] = user["id"]
    ids = {row[0] for row in rows}
    known = ids | {u.get("externalId", "").removeprefix(PREFIX) for u in directory["users"]}
    for _, _, case_ids in CASES:
        assert set(case_ids) <= known, set(case_ids) - known
    for row in rows:
        manager = row[COLUMNS.index("managerId")]
        assert not manager or manager in ids, (row[0], manager)


# Which employee ids exercise which rule with `--as-of 2026-11-22` (the report each lands in).
CASES = [
    # created.csv
    ("Joiner: start date passed, created active", "Create/Joiner",
     ["E1201", "E1202", "E1205", "E1206", "E1207", "E1208", "E1209", "E1210", "E1211",
      "E1212", "E1213", "E1214", "E1217", "E1224", "E1225", "E1226"]),
    ("Joiner starting on the as-of day (2026-11-22)", "Create/Joiner", ["E1215"]),
    ("Joiner: Active without a start date", "Create/Joiner", ["E1216"]),
    ("Pre-hire: start within 14 days, created inactive (E1218 starts 11-23, E1223 on the "
     "last day of the window, 12-06)", "Create/PreHire", ["E1203", "E1218", "E1219", "E1223"]),
    ("New hire whose manager (E1201) is created in the same run", "Create",
     ["E1202", "E1203"]),
    ("HR department 'people ops' written as 'People' (alias, any case)", "Create",
     ["E1211"]),
    # updated.csv
    ("Adopted: unmanaged user with the same email, no externalId", "Update/Adopted",
     ["E1109"]),
    ("Adopted: matched on userName in another case, email filled in", "Update/Adopted",
     ["E1150"]),
    ("Adopted: user under another system's externalId (legacy-ad:)", "Update/Adopted",
     ["E1125"]),
    ("Adopted: new hire whose account IT created by hand", "Update/Adopted", ["E1204"]),
    ("Reactivated: rehired under the same id", "Update/Reactivated", ["E1122"]),
    ("Reactivated: pre-hire user created earlier, start date reached", "Update/Reactivated",
     ["E1176"]),
    ("Alias: directory holds 'People Ops', written 'People'", "Update/Changed", ["E1124"]),
    ("Alias + mover: Product -> R&D, written 'Engineering'", "Update/Changed", ["E1158"]),
    ("Mover: department, title, manager and cost center", "Update/Changed",
     ["E1090", "E1141"]),
    ("Promotion: title", "Update/Changed",
     ["E1050", "E1065", "E1101", "E1118", "E1140", "E1160"]),
    ("Relocation: office", "Update/Changed", ["E1069", "E1078", "E1108"]),
    ("Cost center", "Update/Changed", ["E1121", "E1153"]),
    ("Manager change: their lead E1031 left, team moved to E1030", "Update/Changed",
     ["E1070", "E1071", "E1072", "E1073", "E1074"]),
    ("Manager change: team move (with a new title)", "Update/Changed", ["E1056"]),
    ("Manager change to a new hire created in this run (E1201)", "Update/Changed", ["E1034"]),
    ("Last name changed, same email", "Update/Changed", ["E1130"]),
    ("Last name and email changed", "Update/Changed", ["E1098"]),
    ("Directory lost the umlaut: Kohler -> Köhler", "Update/Changed", ["E1114"]),
    ("Preferred language en -> sv", "Update/Changed", ["E1105"]),
    ("employeeNumber missing in the directory", "Update/Changed", ["E1146"]),
    ("Title cleared in HR: attribute removed", "Update/Changed", ["E1157"]),
    # deactivated.csv
    ("Leaver: Inactive, end date within the last 6 months", "Deactivate/Leaver",
     ["E1031", "E1083", "E1097", "E1102", "E1164"]),
    ("Leaver: end date 2026-05-22, removal due 2026-11-22 is not past yet",
     "Deactivate/Leaver", ["E1052"]),
    ("Leaver: end date yesterday (2026-11-21)", "Deactivate/Leaver", ["E1060"]),
    ("Leaver: still Active in HR but the end date (2026-11-13) has passed",
     "Deactivate/Leaver", ["E1134"]),
    ("Leaver: Inactive without an end date", "Deactivate/Leaver", ["E1145"]),
    ("Start date postponed to 2026-12-01: active user made inactive",
     "Deactivate/NotYetActive", ["E1180"]),
    # deleted.csv
    # Absent users are kept while any source row is unreadable (the three in errors.csv): each
    # is listed in skipped.csv, and deleted by the first run after the rows are fixed.
    ("Absent: managed user, employee no longer in the export", "Skip/AbsentWhileRecordsUnreadable",
     ["E0917", "E1079", "E1142"]),
    ("Absent: filtered out now (department Contractors)", "Skip/AbsentWhileRecordsUnreadable",
     ["E1154"]),
    ("Absent: filtered out now (location Oslo)", "Skip/AbsentWhileRecordsUnreadable",
     ["E1116"]),
    ("Removal due: end date 2026-05-21 (+6 months = 2026-11-21), user already inactive",
     "Delete/RemovalDue", ["E1099"]),
    ("Removal due: left long ago (E1131 never deactivated, E1159 inactive)",
     "Delete/RemovalDue", ["E1131", "E1159"]),
    # conflicts.csv
    ("EmailTaken: rehired under a new id; the old record E1171 still holds the address",
     "Conflict/EmailTaken", ["E1220"]),
    ("DuplicateEmail: two new hires given the same address", "Conflict/DuplicateEmail",
     ["E1221", "E1222"]),
    ("MultipleMatches: two users carry acme-hris:E1096", "Conflict/MultipleMatches",
     ["E1096"]),
    ("DuplicateEmployeeId: the export holds the row twice (user kept)",
     "Conflict/DuplicateEmployeeId", ["E1127"]),
    # skipped.csv
    ("Not started yet: start 2026-12-07, first day after the pre-hire window",
     "Skip/NotYetStarted", ["E1230"]),
    ("Not started yet (E1232 starts 2027-03-31, the last day the date filter keeps)",
     "Skip/NotYetStarted", ["E1231", "E1232"]),
    ("Pending without a start date", "Skip/PendingWithoutStartDate", ["E1233"]),
    ("Personal address only", "Skip/NoUsableEmail", ["E1234", "E1235"]),
    ("Leaver whose email matches an unmanaged user (never adopted to be removed)",
     "Skip/LeaverNotManaged", ["E1170"]),
    # errors.csv
    ("Invalid date 2026-02-30 (no user)", "Error", ["E1236"]),
    ("Unknown status Retired (no user)", "Error", ["E1237"]),
    ("Invalid end date 2026-11-31 of a managed user: the user is protected, unchanged",
     "Error", ["E1113"]),
    # no change
    ("Filtered out, no user: nothing happens", "None",
     ["E1240", "E1241", "E1242", "E1243", "E1244"]),
    ("Leaver already deactivated", "Unchanged", ["E1088"]),
    ("Leaver whose account holds the address E1220 was given: in a conflict, left alone",
     "Skip/InConflict", ["E1171"]),
    ("Pre-hire user created earlier, start 2026-11-30 still ahead", "Unchanged", ["E1175"]),
    ("On leave counts as employed", "Unchanged", ["E1086", "E1126"]),
    ("Active without a start date", "Unchanged", ["E1076", "E1147"]),
    ("End date today (last working day) / in the future", "Unchanged", ["E1119", "E1135"]),
    ("HR department 'r&d' in lower case: alias still gives 'Engineering'", "Unchanged",
     ["E1055"]),
    ("Directory email in another case", "Unchanged", ["E1066"]),
    ("Email chosen from secondaryEmail / otherEmail", "Unchanged", ["E1093", "E1162"]),
    ("No cost center / no employee number: attribute absent", "Unchanged",
     ["E1010", "E1168"]),
    ("Org chart depth 5: CEO -> VP -> manager -> lead -> engineer", "Unchanged",
     ["E1001", "E1002", "E1011", "E1028", "E1051"]),
]


def main() -> None:
    org = build()
    rows = build_rows(org)
    directory = build_directory(org)
    check(rows, directory)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    (HERE / "employees.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (HERE / "directory.json").write_text(
        json.dumps(directory, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} employees and {len(directory['users'])} directory users")


if __name__ == "__main__":
    main()
