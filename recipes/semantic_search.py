"""Sentence embeddings for semantic search, from pairs to a served index.

Fine-tunes a text embedder (a BERT preset from scratch, or
--init_checkpoint: a sentence-transformers directory such as
all-MiniLM-L6-v2, a Hugging Face BERT directory, or a backbone saved by
recipes/bert_pretrain.py) on text pairs with in-batch negatives: the
positive pairs of --train_file, plus each training query of the
retrieval set with its relevant passages. Before and after training it
evaluates sentence similarity on --sts_file (Spearman and Pearson of the
cosine against the gold scores) and retrieval on the held-out queries of
--retrieval_dir (recall@1/5/10, MRR@10, NDCG@10, next to a BM25 lexical
baseline), writes them to MODEL_DIR/eval.json with training curves in
MODEL_DIR/curves.png, and exports a SavedModel whose `search` signature
holds the embedded corpus: TF Serving answers a query with the ids, texts
and scores of the best passages. With no arguments it trains a tiny model
from scratch on the bundled help-centre data in a few minutes on 2 CPU
cores.

    python recipes/semantic_search.py
    python recipes/semantic_search.py --init_checkpoint MINILM_DIR --epochs 3
    python recipes/semantic_search.py --train_file pairs.jsonl --retrieval_dir my_beir_set \\
        --eval_split dev --init_checkpoint runs/bert_pretrain/backbone

Pair files are JSONL, CSV or TSV with `text` and `text_pair` columns and
optionally a `score` (pairs scoring at least --min_positive_score train)
or a hard `negative`. A retrieval set is in the BEIR layout:
corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv. Rerunning with the same
--model_dir resumes from its newest checkpoint.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

# Light imports only: tfzoo's subpackages (and TensorFlow) load after the
# flags are parsed, so --help and --print_config answer at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
import tfzoo  # noqa: E402,F401
from tfzoo.data import load_tfds, read_beir, read_pair_file  # noqa: E402
from tfzoo.logs import import_tensorflow  # noqa: E402
from tfzoo.recipes.bm25 import BM25  # noqa: E402
from tfzoo.recipes.command_line import run_command  # noqa: E402
from tfzoo.recipes.config import add_common_flags, parse_config  # noqa: E402
from tfzoo.recipes.config import recipe_parser  # noqa: E402
from tfzoo.recipes.data_files import resolve_data_path  # noqa: E402
from tfzoo.recipes.serving_commands import serving_footer  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

TFDS_NAMES = ("glue/stsb",)
DEFAULTS = {
    "epochs": 15,
    "batch_size": 32,
    "learning_rate": None,
    "sequence_length": 64,
    "model_dir": "runs/semantic_search",
}
SCRATCH_LEARNING_RATE = 1e-3
FINE_TUNE_LEARNING_RATE = 5e-5
RECALL_KS = (1, 5, 10)
# Settings a resumed run must share with the checkpoints' run.
FIXED_SETTINGS = (
    "preset", "init_checkpoint", "sequence_length", "batch_size",
    "vocabulary", "vocabulary_size", "train_file", "retrieval_dir",
    "train_split", "min_positive_score", "pooling", "projection_dim",
    "tfds_name", "cased",
)


def build_parser():
    parser = recipe_parser(__doc__)
    add_common_flags(parser, DEFAULTS)
    for action in parser._actions:
        if action.dest == "learning_rate":
            action.help = (f"peak AdamW learning rate, after linear warmup "
                           f"(default {SCRATCH_LEARNING_RATE} from scratch, "
                           f"{FINE_TUNE_LEARNING_RATE} from "
                           f"--init_checkpoint)")
        if action.dest == "tfds_name":
            action.help = ("train on the positive pairs of a TFDS set "
                           "instead of --train_file, and use its validation "
                           "split as --sts_file: glue/stsb (prepared in "
                           "--data_dir; nothing is downloaded)")
    data = parser.add_argument_group("data")
    data.add_argument("--train_file", default="sample:paraphrase_train.jsonl",
                      help="training pairs, .jsonl, .csv or .tsv with text "
                           "and text_pair (and score or negative); "
                           "sample:NAME is a file bundled with tfzoo; '' for "
                           "none (default %(default)s)")
    data.add_argument("--sts_file", default="sample:paraphrase_test.jsonl",
                      help="scored pairs for the STS evaluation (Spearman "
                           "and Pearson); '' to skip it (default "
                           "%(default)s)")
    data.add_argument("--retrieval_dir", default="sample:faq_retrieval",
                      help="retrieval set in the BEIR layout (corpus.jsonl, "
                           "queries.jsonl, qrels/SPLIT.tsv); its corpus is "
                           "exported for search (default %(default)s)")
    data.add_argument("--train_split", default="train",
                      help="qrels split whose queries and relevant "
                           "passages are added to the training pairs; '' "
                           "for none (default %(default)s)")
    data.add_argument("--eval_split", default="test",
                      help="qrels split of the held-out queries "
                           "(default %(default)s)")
    data.add_argument("--min_positive_score", type=float, default=4.0,
                      help="pairs of --train_file with a score train when "
                           "it is at least this (STS's 0-5 scale; for 0-1 "
                           "scores pass 0.8) (default %(default)s)")
    data.add_argument("--cased", action="store_true",
                      help="keep case and accents in a vocabulary trained "
                           "from scratch (default: lowercase)")
    model = parser.add_argument_group("model")
    model.add_argument("--pooling", default="mean",
                       choices=("mean", "cls", "max"),
                       help="how token vectors become one vector, for "
                            "models not from a sentence-transformers "
                            "directory (which brings its own) (default "
                            "%(default)s)")
    model.add_argument("--projection_dim", type=int,
                       help="add a dense projection to this size (default: "
                            "none, the hidden size)")
    parser.add_argument("--serving_name", default="search",
                        help="model name in the serve and query commands "
                             "(default %(default)s)")
    return parser


def read_training_pairs(args, retrieval_train):
    """`{"anchor", "positive"[, "negative"]}` lists: the positive pairs of
    the pair file (or TFDS set) and the retrieval set's training queries
    with each relevant passage."""
    columns = {"anchor": [], "positive": []}
    negatives = None
    if args.tfds_name:
        pairs = _tfds_pairs(args, args.train_split or "train")
    elif args.train_file:
        path = resolve_data_path(args.train_file)
        pairs, report = read_pair_file(path)
        print(report.summary())
    else:
        pairs = None
    if pairs is not None:
        keep = range(len(pairs["text"]))
        if "score" in pairs:
            keep = [i for i, score in enumerate(pairs["score"])
                    if score >= args.min_positive_score]
            print(f"training pairs: {len(keep)} of {len(pairs['text'])} "
                  f"score at least {args.min_positive_score}")
            if not keep:
                raise ValueError(
                    f"No pair of {args.tfds_name or args.train_file} scores "
                    f"at least --min_positive_score "
                    f"{args.min_positive_score} (the highest is "
                    f"{max(pairs['score'])}). Fix: lower "
                    f"--min_positive_score to the score of a paraphrase on "
                    f"the file's scale."
                )
        columns["anchor"] += [pairs["text"][i] for i in keep]
        columns["positive"] += [pairs["text_pair"][i] for i in keep]
        if "negative" in pairs:
            negatives = [pairs["negative"][i] for i in keep]
    if retrieval_train is not None:
        documents = dict(zip(retrieval_train.corpus_ids,
                             retrieval_train.documents()))
        rng = np.random.default_rng(0)
        ids = retrieval_train.corpus_ids
        for query, judged in retrieval_train.relevant.items():
            for document, grade in judged.items():
                if grade <= 0:
                    continue
                columns["anchor"].append(retrieval_train.queries[query])
                columns["positive"].append(documents[document])
                if negatives is not None:
                    # A passage not judged relevant, as the hard negative.
                    while True:
                        other = ids[int(rng.integers(len(ids)))]
                        if judged.get(other, 0) <= 0:
                            break
                    negatives.append(documents[other])
    if negatives is not None:
        columns["negative"] = negatives
    if len(columns["anchor"]) < 2:
        raise ValueError(
            f"{len(columns['anchor'])} training pairs: in-batch negatives "
            f"need at least 2. Fix: give --train_file positive pairs, or a "
            f"--train_split with relevance judgements."
        )
    return columns


def read_sts_pairs(args):
    if args.tfds_name:
        return _tfds_pairs(args, "validation")
    if not args.sts_file:
        return None
    path = resolve_data_path(args.sts_file)
    pairs, report = read_pair_file(path)
    print(report.summary())
    if "score" not in pairs:
        raise ValueError(
            f"{path}: the STS evaluation needs a 'score' per pair. Fix: "
            f"give a scored pair file, or --sts_file '' to skip it."
        )
    return pairs


def _tfds_pairs(args, split):
    if args.tfds_name not in TFDS_NAMES:
        raise ValueError(
            f"--tfds_name {args.tfds_name!r} is not a sentence-pair set; use "
            f"one of {', '.join(TFDS_NAMES)}, or --train_file."
        )
    data_dir = os.path.expanduser(args.data_dir) if args.data_dir else None
    pairs = {"text": [], "text_pair": [], "score": []}
    for example in load_tfds(args.tfds_name, split,
                             data_dir).as_numpy_iterator():
        if float(example["score"]) < 0:
            continue  # test splits: no public scores
        pairs["text"].append(example["text"].decode("utf-8"))
        pairs["text_pair"].append(example["text_pair"].decode("utf-8"))
        pairs["score"].append(float(example["score"]))
    print(f"{args.tfds_name} {split}: {len(pairs['text'])} scored pairs")
    if not pairs["text"]:
        raise ValueError(
            f"{args.tfds_name} split {split!r} has no scored pairs.")
    return pairs


def read_retrieval(args, split):
    directory = resolve_data_path(args.retrieval_dir)
    data, reports = read_beir(directory, split)
    for report in reports:
        if report.num_skipped:
            print(report.summary())
    return data


def evaluate(model, sts_pairs, retrieval, batch_size):
    """STS correlations and retrieval metrics of `model`, and each
    evaluation query's top 10 passage ids."""
    from tfzoo.metrics import retrieval_metrics, sts_metrics

    results = {}
    if sts_pairs is not None:
        a = model.encode(sts_pairs["text"], batch_size)
        b = model.encode(sts_pairs["text_pair"], batch_size)
        cosines = np.sum(_unit(a) * _unit(b), axis=1)
        results["sts"] = sts_metrics(cosines, sts_pairs["score"])
    corpus = _unit(model.encode(retrieval.documents(), batch_size))
    query_ids = list(retrieval.queries)
    queries = _unit(model.encode([retrieval.queries[q] for q in query_ids],
                                 batch_size))
    scores = queries @ corpus.T
    rankings = {
        query: [retrieval.corpus_ids[i]
                for i in np.argsort(-scores[row], kind="stable")[:10]]
        for row, query in enumerate(query_ids)
    }
    results["retrieval"] = retrieval_metrics(
        rankings, retrieval.relevant, ks=RECALL_KS, mrr_k=10, ndcg_k=10)
    return results, rankings


def bm25_baseline(retrieval):
    index = BM25(retrieval.documents())
    from tfzoo.metrics import retrieval_metrics

    rankings = {
        query: [retrieval.corpus_ids[i] for i in index.rank(text, 10)]
        for query, text in retrieval.queries.items()
    }
    return {"retrieval": retrieval_metrics(
        rankings, retrieval.relevant, ks=RECALL_KS, mrr_k=10, ndcg_k=10)}


def _unit(vectors):
    return vectors / np.maximum(
        np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def build_embedder(args, run, training_texts):
    """The TextEmbedder to fine-tune, with its preprocessor."""
    from tfzoo.convert.sentence_transformers_layout import has_layout
    from tfzoo.models import BertTextEmbedder, TextEmbedder
    from tfzoo.preprocessing import TextEmbedderPreprocessor
    from tfzoo.recipes.initial_weights import backbone_and_tokenizer

    init = args.init_checkpoint
    if init and os.path.isdir(init) and has_layout(init):
        model = TextEmbedder.from_pretrained(
            init, sequence_length=args.sequence_length, progress=False)
        if args.projection_dim is not None:
            raise ValueError(
                f"--projection_dim: {init} is a sentence-transformers "
                f"directory, which brings its own modules. Fix: leave out "
                f"--projection_dim.")
        backbone = model.backbone
        print(f"embedder: {init} (sentence-transformers: {backbone.num_layers}"
              f" layers, hidden {backbone.hidden_dim}, pooling "
              f"{model.pooling}, normalize {model.normalize}, sequence "
              f"length {model.preprocessor.sequence_length})")
        return model
    backbone, tokenizer = backbone_and_tokenizer(args, run, training_texts)
    model = BertTextEmbedder(
        backbone, pooling=args.pooling, projection_dim=args.projection_dim,
        preprocessor=TextEmbedderPreprocessor(
            tokenizer, sequence_length=args.sequence_length),
    )
    print(f"embedder: {args.pooling} pooling, "
          f"{model.embedding_dim}-dimensional, normalized")
    return model


def main(argv=None):
    args = parse_config(build_parser(), argv)
    retrieval_train = (read_retrieval(args, args.train_split)
                       if args.train_split else None)
    retrieval = read_retrieval(args, args.eval_split)
    if retrieval_train is not None:
        shared = sorted(set(retrieval_train.queries) & set(retrieval.queries))
        if shared:
            raise ValueError(
                f"--train_split {args.train_split!r} and --eval_split "
                f"{args.eval_split!r} share {len(shared)} queries (e.g. "
                f"{shared[0]!r}): the evaluation would not be held out. Fix: "
                f"pass two different splits, or --train_split ''.")
    pairs = read_training_pairs(args, retrieval_train)
    sts_pairs = read_sts_pairs(args)
    print(f"data: {len(pairs['anchor'])} training pairs"
          f"{' with hard negatives' if 'negative' in pairs else ''}; "
          f"{len(retrieval.queries)} evaluation queries over "
          f"{len(retrieval.corpus_ids)} passages"
          + (f"; {len(sts_pairs['text'])} STS pairs" if sts_pairs else ""))

    import_tensorflow()
    from tfzoo.export import export_saved_model
    from tfzoo.recipes.evaluation_report import write_evaluation
    from tfzoo.recipes.evaluation_report import write_predictions
    from tfzoo.recipes.training_run import open_run, train

    run, strategy = open_run(args, FIXED_SETTINGS, SCRATCH_LEARNING_RATE,
                             FINE_TUNE_LEARNING_RATE)
    with strategy.scope():
        model = build_embedder(
            args, run, lambda: (pairs["anchor"] + pairs["positive"]
                                + retrieval.documents()))
        model.compile(learning_rate=args.learning_rate,
                      jit_compile=not args.no_xla)

    results = {"bm25": bm25_baseline(retrieval)}
    results["before"], _ = evaluate(model, sts_pairs, retrieval,
                                    args.batch_size)
    _print_scores("before training", results["before"])
    relevant_pairs = [(retrieval.queries[q], d) for q, docs in
                      retrieval.relevant.items() for d, g in docs.items()
                      if g > 0]
    documents = dict(zip(retrieval.corpus_ids, retrieval.documents()))
    validation = ({"anchor": [q for q, _ in relevant_pairs],
                   "positive": [documents[d] for _, d in relevant_pairs]},)
    train(model, run, args, pairs, validation_data=validation)

    results["after"], rankings = evaluate(model, sts_pairs, retrieval,
                                          args.batch_size)
    results.update(
        num_training_pairs=len(pairs["anchor"]),
        num_eval_queries=len(retrieval.queries),
        corpus_size=len(retrieval.corpus_ids),
    )
    write_evaluation(run.evaluation_path, results)
    write_predictions(run.predictions_path, [
        {"query_id": query, "query": retrieval.queries[query],
         "relevant": sorted(d for d, g in retrieval.relevant[query].items()
                            if g > 0),
         "retrieved": rankings[query]}
        for query in retrieval.queries
    ])
    print(f"evaluation written to {run.evaluation_path} (per query: "
          f"{run.predictions_path})")

    export_dir = args.export_dir or run.path("export")
    export_path = export_saved_model(
        model, export_dir, corpus=retrieval.documents(),
        corpus_ids=retrieval.corpus_ids, verbose=True)
    first_query = next(iter(retrieval.queries.values()))
    query = ["--signature", "search",
             "--input", "query=" + json.dumps([first_query]),
             "--input", "top_k=[3]"]
    print(serving_footer(export_path, args.serving_name, query))
    return results


def _print_scores(title, results):
    flat = {f"{group}.{name}": value for group, scores in results.items()
            for name, value in scores.items()}
    print(f"{title}: " + ", ".join(f"{name} {value:.4f}"
                                   for name, value in flat.items()))


if __name__ == "__main__":
    sys.exit(run_command(main))
