"""Writes tfzoo's bundled translation samples: English to Artlang.

    python scripts/make_translation_samples.py          # rewrite them
    python scripts/make_translation_samples.py --check  # unchanged?

Artlang (language code `art`, ISO 639-2's code for constructed
languages) is a small artificial language invented for tfzoo. Sentences
are drawn from an English-like grammar with a fixed seed, and each is
rendered in both languages, so the output is the same on every run:

- `tfzoo/data/samples/translation_train.jsonl` (3000 pairs) and
  `translation_test.jsonl` (200 pairs, none of them in the training
  file): `{"en": "...", "art": "..."}` per line.

Translating needs more than copying or a word-for-word lookup:

- its own lexicon: no Artlang word occurs on the English side;
- word order: subject, then place, then object, then the verb (verb
  last); adjectives follow their noun, and the article follows both
  ("the big dog" is "vaku grana ta");
- places are postpositions after their noun phrase ("near the river" is
  "sorel ta pas");
- inflection: plural nouns take -i (after a consonant) or -r (after a
  vowel), the object takes -em / -m (accusative), adjectives agree in
  number (-s), verbs take tense and number endings (-e present
  singular, -en present plural, -u past singular, -un past plural).

So "The brave farmers saw a red apple near the river." becomes
"Goruni brakas ta sorel ta pas pomem rua un vidun." (written out by
`translate` below, and checked in tests/data/test_samples.py).
"""

import argparse
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "tfzoo", "data", "samples")
SEED = 23
NUM_TRAIN = 3000
NUM_TEST = 200

# Nouns that act: (English singular, English plural, Artlang stem).
AGENTS = [
    ("dog", "dogs", "vaku"), ("cat", "cats", "mirel"),
    ("bird", "birds", "tsipo"), ("farmer", "farmers", "gorun"),
    ("child", "children", "lenni"), ("teacher", "teachers", "sabor"),
    ("horse", "horses", "kaval"), ("woman", "women", "feyra"),
    ("friend", "friends", "amik"), ("fox", "foxes", "rusal"),
]
# Nouns that are acted on: the same triples.
THINGS = [
    ("apple", "apples", "pom"), ("book", "books", "libra"),
    ("letter", "letters", "skrit"), ("house", "houses", "doma"),
    ("stone", "stones", "petra"), ("boat", "boats", "navel"),
    ("tree", "trees", "arbo"), ("door", "doors", "portel"),
]
PLACES = [
    ("river", "rivers", "sorel"), ("garden", "gardens", "hortu"),
    ("market", "markets", "bazor"), ("forest", "forests", "silvan"),
    ("hill", "hills", "kolme"), ("village", "villages", "vikus"),
]
ADJECTIVES = [
    ("big", "grana"), ("small", "mika"), ("old", "vetra"), ("red", "rua"),
    ("happy", "gaya"), ("brave", "braka"), ("tired", "lasa"),
    ("black", "nerra"),
]
# (English present singular, present plural, past; Artlang stem)
TRANSITIVE = [
    ("sees", "see", "saw", "vid"), ("finds", "find", "found", "trov"),
    ("carries", "carry", "carried", "port"),
    ("wants", "want", "wanted", "vol"), ("builds", "build", "built", "konstr"),
    ("holds", "hold", "held", "ten"), ("paints", "paint", "painted", "pinkt"),
    ("likes", "like", "liked", "am"),
]
INTRANSITIVE = [
    ("sleeps", "sleep", "slept", "dorm"), ("sings", "sing", "sang", "kant"),
    ("runs", "run", "ran", "kur"), ("waits", "wait", "waited", "atend"),
]
# English preposition -> Artlang postposition.
PREPOSITIONS = [("in", "ve"), ("near", "pas"), ("under", "sul"),
                ("with", "kon")]
VERB_ENDINGS = {("present", False): "e", ("present", True): "en",
                ("past", False): "u", ("past", True): "un"}


def plural(stem):
    """Artlang plural: -r after a vowel, -i after a consonant."""
    return stem + ("r" if stem[-1] in "aeiou" else "i")


def accusative(form):
    """Artlang object case: -m after a vowel, -em after a consonant."""
    return form + ("m" if form[-1] in "aeiou" else "em")


def noun_phrase(entry, rng, case=None):
    """A random noun phrase: `{"noun", "plural", "adjective",
    "definite"}`; `case` is "object" for the object of a verb."""
    return {"noun": entry, "plural": rng.random() < 0.35,
            "adjective": rng.choice(ADJECTIVES) if rng.random() < 0.55
            else None,
            "definite": rng.random() < 0.55, "case": case}


def english_phrase(phrase):
    singular, plural_form, _ = phrase["noun"]
    words = ["the" if phrase["definite"] else
             ("some" if phrase["plural"] else
              ("an" if (phrase["adjective"] or phrase["noun"])[0][0] in
               "aeiou" else "a"))]
    if phrase["adjective"]:
        words.append(phrase["adjective"][0])
    words.append(plural_form if phrase["plural"] else singular)
    return words


def artlang_phrase(phrase):
    stem = phrase["noun"][2]
    noun = plural(stem) if phrase["plural"] else stem
    if phrase["case"] == "object":
        noun = accusative(noun)
    words = [noun]
    if phrase["adjective"]:
        words.append(phrase["adjective"][1] + ("s" if phrase["plural"]
                                                else ""))
    words.append("ta" if phrase["definite"] else
                 ("sai" if phrase["plural"] else "un"))
    return words


def random_sentence(rng):
    """One sentence as its parts (see `translate`)."""
    transitive = rng.random() < 0.7
    return {
        "subject": noun_phrase(rng.choice(AGENTS), rng),
        "verb": rng.choice(TRANSITIVE if transitive else INTRANSITIVE),
        "object": (noun_phrase(rng.choice(THINGS + AGENTS), rng, "object")
                   if transitive else None),
        "place": _place(rng) if rng.random() < 0.6 else None,
        "tense": "past" if rng.random() < 0.5 else "present",
    }


def _place(rng):
    """`(preposition, noun phrase)`: "with" someone, or in, near or under
    a place."""
    preposition = rng.choice(PREPOSITIONS)
    nouns = AGENTS if preposition[0] == "with" else PLACES
    return preposition, noun_phrase(rng.choice(nouns), rng)


def translate(sentence):
    """`(english, artlang)` texts of a sentence's parts.

    >>> translate({"subject": {"noun": AGENTS[3], "plural": True,
    ...                        "adjective": ADJECTIVES[5], "definite": True,
    ...                        "case": None},
    ...            "verb": TRANSITIVE[0],
    ...            "object": {"noun": THINGS[0], "plural": False,
    ...                       "adjective": ADJECTIVES[3], "definite": False,
    ...                       "case": "object"},
    ...            "place": (PREPOSITIONS[1],
    ...                      {"noun": PLACES[0], "plural": False,
    ...                       "adjective": None, "definite": True,
    ...                       "case": None}),
    ...            "tense": "past"})
    ('The brave farmers saw a red apple near the river.', \
'Goruni brakas ta sorel ta pas pomem rua un vidun.')
    """
    subject, place = sentence["subject"], sentence["place"]
    many = subject["plural"]
    present_singular, present_plural, past, stem = sentence["verb"]
    english_verb = (past if sentence["tense"] == "past" else
                    present_plural if many else present_singular)
    english = english_phrase(subject) + [english_verb]
    artlang = artlang_phrase(subject)
    if place:
        artlang += artlang_phrase(place[1]) + [place[0][1]]
    if sentence["object"]:
        english += english_phrase(sentence["object"])
        artlang += artlang_phrase(sentence["object"])
    if place:
        english += [place[0][0]] + english_phrase(place[1])
    artlang.append(stem + VERB_ENDINGS[(sentence["tense"], many)])
    return _sentence_case(english), _sentence_case(artlang)


def _sentence_case(words):
    text = " ".join(words) + "."
    return text[0].upper() + text[1:]


def pairs(rng, count, exclude=()):
    """`count` distinct `(english, artlang)` pairs not in `exclude`."""
    seen = set(exclude)
    result = []
    while len(result) < count:
        pair = translate(random_sentence(rng))
        if pair[0] in seen:
            continue
        seen.add(pair[0])
        result.append(pair)
    return result


def outputs():
    """`{file name: text}` of every file this script writes."""
    rng = random.Random(SEED)
    test = pairs(rng, NUM_TEST)
    train = pairs(rng, NUM_TRAIN, exclude={english for english, _ in test})

    def jsonl(rows):
        return "".join(json.dumps({"en": english, "art": artlang},
                                  ensure_ascii=False) + "\n"
                       for english, artlang in rows)

    return {"translation_train.jsonl": jsonl(train),
            "translation_test.jsonl": jsonl(test)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a bundled file differs from what "
                             "this script writes")
    parser.add_argument("--output_dir", default=SAMPLES,
                        help="where to write (default tfzoo/data/samples)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        path = os.path.join(args.output_dir, name)
        if args.check:
            try:
                with open(path, encoding="utf-8") as file:
                    if file.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
            continue
        os.makedirs(args.output_dir, exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {path} ({text.count(chr(10))} pairs)")
    if stale:
        print(f"out of date: {', '.join(stale)}; rerun without --check",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
