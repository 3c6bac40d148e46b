"""Writes tfzoo's bundled summarisation samples: short local news reports
with their headlines.

    python scripts/make_summarization_samples.py          # rewrite them
    python scripts/make_summarization_samples.py --check  # unchanged?

Every report is about an invented event in an invented town (a council
vote, a fire, a match, job cuts, a rescue, an opening, a storm): three
or four sentences that spread its facts (who, what, where, a number)
over the text, in one of several orders, with a sentence of background
that the headline leaves out. The headline is recoverable from the
report but is none of its sentences: it puts the facts together in
headline style with its own verbs ("Rivermouth council approves 40 new
homes" for a report where the council "voted for a plan to build 40
homes"). So the lead sentence is a weak summary and the model has to
compress and rephrase. Drawn with a fixed seed, the output is the same
on every run:

- `tfzoo/data/samples/summarization_train.jsonl` (1200 reports) and
  `summarization_test.jsonl` (150, none in the training file):
  `{"document": "...", "summary": "..."}` per line.
"""

import argparse
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "tfzoo", "data", "samples")
SIZES = {"summarization_train.jsonl": 1200, "summarization_test.jsonl": 150}
SEED = 16

TOWNS = ("Rivermouth", "Ashford", "Kellby", "Marlow Cross", "Dunmere",
         "Halbrook", "Penfold", "Stowick", "Larkhill", "Brennan Bay",
         "Oakridge", "Wexley", "Fairhaven", "Coldwater", "Millbank")
PEOPLE = ("Ana Rossi", "Tom Okafor", "Mei Lin", "Jonas Berg", "Sara Haddad",
          "Luis Ortega", "Priya Nair", "Ewan Fraser", "Nadia Petrova",
          "Kofi Mensah", "Ruth Adler", "Omar Said")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
        "Sunday")
BUILDINGS = ("homes", "flats", "school places", "parking spaces",
             "allotments", "street lights")
PLACES = ("library", "bakery", "warehouse", "town hall", "cinema",
          "sawmill", "boathouse")
FACILITIES = ("swimming pool", "health centre", "bus station", "skate park",
              "market hall", "museum")
COMPANIES = ("Norcott Foods", "Altamar Steel", "Bluefin Logistics",
             "Greyline Textiles", "Pellham Motors", "Quarrow Paper")
BACKGROUND = (
    "The weather was dry and mild for the time of year.",
    "Local shops reported a busy week.",
    "A farmers market was held in the square on the same day.",
    "Roadworks on the main street are due to end next month.",
    "The town celebrated its summer fair only a few weeks ago.",
    "Many residents followed the news on the local radio.",
)


def council(pick):
    town, person, day = pick(TOWNS), pick(PEOPLE), pick(DAYS)
    count, things = pick(range(12, 300)), pick(BUILDINGS)
    month = pick(("March", "May", "June", "September", "October"))
    return f"{town} council approves {count} new {things}", [
        f"Members of the council in {town} met on {day} evening.",
        f"After a long debate they voted for a plan to build {count} "
        f"{things}.",
        f"Work is expected to start in {month}.",
        f"{person}, who chairs the council, said the town had waited long "
        f"enough.",
    ]


def fire(pick):
    town, place, day = pick(TOWNS), pick(PLACES), pick(DAYS)
    crews = pick(range(2, 15))
    return f"Fire destroys {place} in {town}", [
        f"Smoke was seen above the old {place} early on {day}.",
        f"{crews} fire crews were sent to {town} but could not save the "
        f"building.",
        "Nobody was hurt, the fire service said.",
        "The cause of the blaze is not yet known.",
    ]


def match(pick):
    home, away = pick.sample(TOWNS, 2)
    goals = pick(range(2, 7))
    conceded = pick(range(0, goals))
    person = pick(PEOPLE)
    return f"{home} beat {away} {goals}-{conceded}", [
        f"The football team from {home} played at home against {away} on "
        f"{pick(DAYS)}.",
        f"The visitors scored {conceded} times, but the home side found "
        f"the net {goals} times.",
        f"{person} scored twice for the winners.",
        "The crowd stayed until the final whistle.",
    ]


def job_cuts(pick):
    company, town = pick(COMPANIES), pick(TOWNS)
    jobs = pick(range(20, 900))
    return f"{company} to cut {jobs} jobs in {town}", [
        f"{company} has run a factory in {town} for many years.",
        f"On {pick(DAYS)} the firm told staff that {jobs} of them will "
        f"lose their jobs.",
        "It blamed falling orders and higher energy prices.",
        "Unions said they would fight the plan.",
    ]


def rescue(pick):
    town, hikers = pick(TOWNS), pick(range(2, 30))
    hill = pick(("Crag Fell", "High Tor", "Black Ridge", "Hollow Pike"))
    return f"{hikers} hikers rescued near {town}", [
        f"A group of {hikers} walkers got lost on {hill} in thick fog.",
        f"Mountain rescue teams from {town} reached them after four "
        f"hours.",
        "All of them were brought down safely.",
        f"{pick(PEOPLE)}, who led the search, urged walkers to check the "
        f"forecast.",
    ]


def opening(pick):
    town, facility = pick(TOWNS), pick(FACILITIES)
    cost = pick(range(2, 40))
    return f"New {facility} opens in {town}", [
        f"Residents of {town} queued on {pick(DAYS)} morning to see the "
        f"building.",
        f"The {facility} cost {cost} million pounds and took two years to "
        f"finish.",
        f"{pick(PEOPLE)} cut the ribbon at the door.",
        "It will be open every day of the week.",
    ]


def storm(pick):
    town, schools = pick(TOWNS), pick(range(2, 40))
    return f"Storm closes {schools} schools in {town}", [
        f"Strong winds and heavy rain hit {town} overnight.",
        f"Officials kept {schools} schools shut on {pick(DAYS)} while "
        f"roofs were checked.",
        "Several trees fell across the roads.",
        "The storm is expected to pass by the weekend.",
    ]


EVENTS = (council, fire, match, job_cuts, rescue, opening, storm)


class Picker:
    """Random choices from a seeded generator: `pick(options)`."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def __call__(self, options):
        return self.random.choice(list(options))

    def sample(self, options, count):
        return self.random.sample(list(options), count)


def report(pick):
    """`(document, summary)`: an event's sentences in one of several
    orders, three or four of them, with a background sentence."""
    summary, sentences = pick(EVENTS)(pick)
    first, second, *rest = sentences
    kept = [first, second] + pick.sample(rest, pick((1, 2)))
    if pick((True, False)):
        kept[0], kept[1] = kept[1], kept[0]
    kept.insert(pick(range(1, len(kept) + 1)), pick(BACKGROUND))
    return " ".join(kept), summary


def examples():
    """`{file name: JSONL text}` for every sample file; no summary of the
    test file occurs in the training file with the same document."""
    pick = Picker(SEED)
    seen = set()
    files = {}
    for name, size in SIZES.items():
        rows = []
        while len(rows) < size:
            document, summary = report(pick)
            if document in seen:
                continue
            seen.add(document)
            rows.append(json.dumps({"document": document,
                                    "summary": summary}) + "\n")
        files[name] = "".join(rows)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the files differ from what this "
                             "script writes")
    args = parser.parse_args(argv)
    for name, text in examples().items():
        path = os.path.join(SAMPLES, name)
        if args.check:
            with open(path, encoding="utf-8") as file:
                if file.read() != text:
                    print(f"{path} differs; rerun without --check")
                    return 1
            continue
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {path} ({text.count(chr(10))} reports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
