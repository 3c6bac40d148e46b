"""Writes tfzoo's bundled semantic-search samples (issue 17).

    python scripts/make_semantic_search_samples.py          # rewrite them
    python scripts/make_semantic_search_samples.py --check  # unchanged?

Everything is written from the word lists below (invented for tfzoo) with
a fixed seed, so the output is the same on every run:

- `tfzoo/data/samples/paraphrase_{train,test}.jsonl`: customer questions
  in pairs, `{"text", "text_pair", "score"}` with a similarity score on
  STS's 0-5 scale: 5 the same request in other words, 3 the same product
  and another request, 2 the same request about another product, 0
  unrelated.
- `tfzoo/data/samples/faq_retrieval/`: a help centre in the BEIR layout:
  `corpus.jsonl` (one FAQ entry per product and request: `_id`, `title`,
  `text`), `queries.jsonl` (customer questions) and `qrels/train.tsv`,
  `qrels/test.tsv` (`query-id`, `corpus-id`, `score`). Train and test
  queries ask about different (product, request) entries.

The help centre names its products with house names ("Orbit Pass") and
its answers with house verbs ("cancel"); customers say "monthly
membership" and "stop". So lexical overlap alone does not solve the
retrieval set: a query often shares no content word with its answer, and
shares one with a dozen wrong ones. A model learns the house names from
the training pairs, which use both vocabularies; the test queries combine
words seen in training into requests not seen in training.
"""

import argparse
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "tfzoo", "data", "samples")
SEED = 17

# (house name, what customers call it, a detail the answers quote)
PRODUCTS = [
    ("Orbit Pass", ["monthly membership", "streaming subscription",
                    "membership"], "from 9 euros a month"),
    ("Cobalt card", ["debit card", "bank card", "payment card"],
     "issued in five working days"),
    ("Harbor box", ["parcel locker", "pickup locker", "package locker"],
     "open from 6 am to midnight"),
    ("Skylark hub", ["wifi router", "internet modem", "home router"],
     "sold with a two-year warranty"),
    ("Tandem account", ["joint account", "shared account",
                        "couples account"], "free for the first year"),
    ("Lumen strip", ["smart lights", "led lights", "light strip"],
     "available in three lengths"),
    ("Pebble tag", ["key finder", "bluetooth tracker", "luggage tracker"],
     "sold with a battery that lasts a year"),
    ("Fjord vault", ["photo backup", "cloud storage", "online storage"],
     "sold with 200 GB included"),
    ("Kestrel line", ["phone contract", "mobile plan", "sim plan"],
     "sold with unlimited calls"),
    ("Meridian club", ["reward points", "loyalty points", "bonus points"],
     "free to join, with points earned on every purchase"),
    ("Quill voucher", ["gift card", "gift certificate", "present card"],
     "valid for three years"),
    ("Nimbus dial", ["smart thermostat", "heating control",
                     "heating controller"], "a dial that learns your schedule"),
    ("Atlas cover", ["phone insurance", "gadget insurance",
                     "device protection"], "sold with no excess on the first claim"),
    ("Beacon guard", ["burglar alarm", "home alarm", "security system"],
     "monitored day and night"),
    ("Ember panel", ["electric heater", "space heater", "wall radiator"],
     "rated at 1500 watts"),
]

# (house verb as a title, customer phrasings with {p} for the product,
#  the answer with {name} and {detail})
REQUESTS = [
    ("Cancelling your {name}", ["stop my {p}", "end my {p}", "quit my {p}",
                    "get out of my {p}"],
     "To cancel your {name}, open Account, choose the {name} and press Cancel. "
     "Cancellation takes effect at the end of the billing period; nothing "
     "more is charged."),
    ("Renewing your {name}", ["extend my {p}", "keep my {p} going another year",
                  "prolong my {p}"],
     "Your {name} renews itself each year. To renew early, open Account, pick "
     "the {name} and choose Renew now; the new term starts when the old one "
     "ends."),
    ("Activating your {name}", ["start using my new {p}", "switch on my new {p}",
                    "get my new {p} working"],
     "Activate your new {name} in the app: scan the code on the leaflet and "
     "confirm with your PIN. Activation takes about two minutes."),
    ("Suspending your {name}", ["put my {p} on hold", "freeze my {p} for a while",
                 "take a break from my {p}"],
     "You can suspend your {name} for up to three months under Account, "
     "Suspend. While suspended it is not billed, and it resumes by itself."),
    ("Transferring your {name}", ["give my {p} to someone else",
                      "hand my {p} over to a friend",
                      "move my {p} to another person"],
     "Ownership of your {name} can be transferred once a year. Both holders "
     "sign the transfer form in the app and the new owner confirms it."),
    ("Replacing a faulty {name}", ["swap my broken {p}", "exchange my {p} that "
                            "stopped working", "my {p} is defective"],
     "If your {name} is faulty, request a replacement under Orders, "
     "Replace. Send the old one back in the prepaid envelope within 30 "
     "days."),
    ("Reporting a lost {name}", ["I misplaced my {p}", "my {p} went missing",
                          "I cannot find my {p} anywhere"],
     "Report a lost {name} at once under Account, Report lost. We block it "
     "within minutes and post you a new one."),
    ("Refunds for your {name}", ["money back for my {p}",
                              "reimbursement for my {p}",
                              "be repaid for my {p}"],
     "Refunds for your {name} go to the original payment method within 14 "
     "days of the request. Ask for one under Orders, Refund."),
    ("Upgrading your {name}", ["move to a better {p}", "get a bigger {p}",
                   "switch to a premium {p}"],
     "Upgrade your {name} under Account, Plans. You pay the difference for the "
     "rest of the term, and the higher tier starts straight away."),
    ("Resetting your {name}", ["wipe my {p} and start again",
                   "restore my {p} to factory settings",
                   "clear everything on my {p}"],
     "To reset your {name}, hold the side button for ten seconds, or choose "
     "Reset in the app. A reset erases its settings but keeps your "
     "purchases."),
    ("Relocating with your {name}", ["update where my {p} is sent after "
                                 "moving house", "I moved home, what "
                                 "about my {p}", "new street for my {p}"],
     "When you relocate, edit the address of your {name} under Profile, "
     "Addresses. Letters go to the new address from the next day."),
    ("Invoices for your {name}", ["settle the bill for my {p}",
                    "what I owe for my {p}", "the charges on my {p}"],
     "Your {name} is invoiced on the first of the month. Pay by direct debit, "
     "or by card under Billing, Invoices."),
    ("Sharing your {name}", ["let my family use my {p}", "add my partner to my {p}",
                 "split my {p} with my kids"],
     "Share your {name} with up to five household members: invite them by "
     "email under Account, Household."),
    ("Setting up your {name}", ["install my {p} for the first time",
                    "get started with my {p}", "connect my {p} at home"],
     "Setting up your {name} takes ten minutes: download the app, create a "
     "login and follow the setup guide step by step."),
    ("Tracking the shipment of your {name}", ["where is my {p} order",
                                  "when will my {p} arrive",
                                  "my {p} has not shown up yet"],
     "Follow the shipment of your {name} under Orders, Track. Couriers deliver "
     "on weekdays; the status updates every hour."),
    ("Changing the PIN of your {name}", ["pick a new code for my {p}",
                             "I forgot the code of my {p}",
                             "new secret number for my {p}"],
     "Choose a new PIN for your {name} in the app under Security. Three wrong "
     "PINs in a row lock it for a day."),
    ("Repairing your {name}", ["fix my damaged {p}", "my {p} is cracked and needs "
                   "mending", "get my {p} mended"],
     "Your damaged {name} is repaired free under warranty. Book a repair slot "
     "under Support, Repairs and bring the receipt."),
    ("Prices of the {name}", ["how much does a {p} cost", "what a {p} costs me",
                      "is a {p} expensive"],
     "The {name} is {detail}. Current prices and fees are listed on the "
     "Pricing page."),
    ("Deleting the data of your {name}", ["erase my personal details from my {p}",
                              "remove everything you store about my {p}",
                              "privacy of my {p}"],
     "You can delete all data linked to your {name} under Privacy, Delete "
     "data. Deletion is permanent after 30 days."),
    ("Complaints about your {name}", ["I am unhappy with my {p}",
                           "I am dissatisfied with my {p}",
                           "I am annoyed with my {p}"],
     "If your {name} disappoints you, file a complaint under Support, "
     "Feedback. A case manager answers within two working days."),
]

QUESTION_FRAMES = [
    "how do I {r}?", "how can I {r}?", "is there a way to {r}?",
    "I want to {r}", "can I {r}?", "what should I do to {r}?",
    "help: {r}", "{r}",
]
# Phrasings that are statements ("my {p} went missing") take these.
STATEMENT_FRAMES = ["{r}", "{r}, what now?", "{r}. What should I do?",
                    "help, {r}"]


def is_statement(phrase):
    return phrase.split()[0] in (
        "my", "I", "where", "when", "how", "what", "is", "privacy", "money",
        "new", "reimbursement", "the")


def faq_title(request, product):
    return REQUESTS[request][0].format(name=PRODUCTS[product][0])


def answer_text(request, product):
    name, _, detail = PRODUCTS[product]
    return REQUESTS[request][2].format(name=name, detail=detail)


def product_words(rng, product, house_word_rate):
    """What a customer calls the product: with `house_word_rate`
    probability its house name."""
    name, plain, _ = PRODUCTS[product]
    return name if rng.random() < house_word_rate else rng.choice(plain)


def framed(rng, phrase, frame=None):
    if frame is None:
        frames = STATEMENT_FRAMES if is_statement(phrase) else QUESTION_FRAMES
        frame = rng.choice(frames)
    text = frame.format(r=phrase)
    return text[0].upper() + text[1:]


def question(rng, request, product, house_word_rate=0.2):
    phrase = rng.choice(REQUESTS[request][1]).format(
        p=product_words(rng, product, house_word_rate))
    return framed(rng, phrase)


def house_question(rng, request, product):
    """The request as the help centre words it: an FAQ title in a frame."""
    title = faq_title(request, product)
    frame = rng.choice(["{t}", "{t}: how does it work?",
                        "A question about {t}", "{t}?"])
    text = frame.format(t=title[0].lower() + title[1:])
    return text[0].upper() + text[1:]


def make_retrieval(rng):
    entries = [(r, p) for p in range(len(PRODUCTS))
               for r in range(len(REQUESTS))]
    corpus = []
    for number, (request, product) in enumerate(entries):
        corpus.append({
            "_id": f"faq-{number:03d}",
            "title": faq_title(request, product),
            "text": answer_text(request, product),
        })
    ids = {entry: row["_id"] for entry, row in zip(entries, corpus)}
    # 120 queries about 120 distinct entries, alternately train and test.
    chosen = rng.sample(entries, 120)
    queries, qrels = [], {"train": [], "test": []}
    for number, (request, product) in enumerate(chosen):
        query_id = f"q-{number:03d}"
        queries.append({"_id": query_id,
                        "text": question(rng, request, product)})
        split = "train" if number % 2 == 0 else "test"
        qrels[split].append((query_id, ids[(request, product)], 1))
    test_entries = {chosen[n] for n in range(1, 120, 2)}
    return corpus, queries, qrels, test_entries


def other_entry(rng, request, product, score):
    """The second question's (request, product) for a pair's score."""
    other_request = rng.choice([r for r in range(len(REQUESTS))
                                if r != request])
    other_product = rng.choice([p for p in range(len(PRODUCTS))
                                if p != product])
    return {5: (request, product), 3: (other_request, product),
            2: (request, other_product),
            0: (other_request, other_product)}[score]


def make_pairs(rng, count, excluded, seen):
    """`count` scored question pairs about (request, product) entries not
    in `excluded`; no pair in `seen` (which grows)."""
    entries = [(r, p) for p in range(len(PRODUCTS))
               for r in range(len(REQUESTS)) if (r, p) not in excluded]
    scores = [5.0, 5.0, 3.0, 2.0, 0.0]  # 40% paraphrases
    pairs = []
    while len(pairs) < count:
        request, product = rng.choice(entries)
        score = rng.choice(scores)
        other = other_entry(rng, request, product, score)
        if score == 5.0:
            # The help centre's wording against a customer's, or two
            # customers' wordings: few words in common.
            if rng.random() < 0.5:
                text = house_question(rng, request, product)
            else:
                text = question(rng, request, product, 0.5)
            text_pair = question(rng, *other, 0.2)
        else:
            # Non-paraphrases mostly share the frame and the wording of
            # what they share: many words in common.
            words = product_words(rng, product, 0.3)
            other_words = (words if other[1] == product
                           else product_words(rng, other[1], 0.3))
            index = rng.randrange(len(REQUESTS[request][1]))
            other_index = (index if other[0] == request else rng.randrange(
                len(REQUESTS[other[0]][1])))
            statement = any(is_statement(REQUESTS[r][1][i]) for r, i in (
                (request, index), (other[0], other_index)))
            frame = rng.choice(STATEMENT_FRAMES if statement
                               else QUESTION_FRAMES[:6])
            text = framed(rng, REQUESTS[request][1][index].format(p=words),
                          frame)
            text_pair = framed(rng, REQUESTS[other[0]][1][other_index]
                               .format(p=other_words), frame)
        if text == text_pair or (text, text_pair) in seen:
            continue
        seen.add((text, text_pair))
        pairs.append({"text": text, "text_pair": text_pair, "score": score})
    return pairs


def outputs():
    rng = random.Random(SEED)
    corpus, queries, qrels, test_entries = make_retrieval(rng)
    seen = set()
    train_pairs = make_pairs(rng, 360, test_entries, seen)
    test_pairs = make_pairs(rng, 120, set(), seen)
    files = {
        "paraphrase_train.jsonl": _jsonl(train_pairs),
        "paraphrase_test.jsonl": _jsonl(test_pairs),
        "faq_retrieval/corpus.jsonl": _jsonl(corpus),
        "faq_retrieval/queries.jsonl": _jsonl(queries),
    }
    for split, rows in qrels.items():
        files[f"faq_retrieval/qrels/{split}.tsv"] = "".join(
            ["query-id\tcorpus-id\tscore\n"]
            + [f"{q}\t{d}\t{s}\n" for q, d, s in rows])
    return files


def _jsonl(rows):
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


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
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run "
              f"python scripts/make_semantic_search_samples.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
