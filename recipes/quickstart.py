"""Quick start: a tiny BERT sentiment classifier from raw text, with XLA.

Trains a WordPiece vocabulary on the bundled sentiment reviews, fine-tunes
a small BERT classifier on raw text with `model.fit` (XLA-compiled step,
tokenization in `tf.data`), prints the test accuracy and a few predictions,
saves the model, exports a SavedModel for TensorFlow Serving, starts the
local TF-Serving-compatible server on it, and asks it about raw text over
gRPC and REST.

    python recipes/quickstart.py [--epochs 8] [--output_dir runs/quickstart]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# TensorFlow and tfzoo's models load after the flags are parsed, so --help
# answers at once.
os.environ["TFZOO_LAZY_IMPORT"] = "1"
from tfzoo.logs import import_tensorflow  # noqa: E402
os.environ.pop("TFZOO_LAZY_IMPORT")  # not for child processes

EXAMPLES = [
    "The staff were friendly and the room was spotless.",
    "A total waste of money, it broke after two days.",
    "I loved every minute of this concert!",
    "The app keeps crashing and support never answered.",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8,
                        help="passes over the training set")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--sequence_length", type=int, default=48,
                        help="tokens per example after packing")
    parser.add_argument("--learning_rate", type=float, default=1e-3,
                        help="peak AdamW learning rate (random init)")
    parser.add_argument("--vocabulary_size", type=int, default=2000,
                        help="upper bound for the trained WordPiece vocab")
    parser.add_argument("--output_dir", default="runs/quickstart",
                        help="where vocab.txt and the .keras model go")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no_serve", action="store_true",
                        help="export only; do not start the local server")
    return parser.parse_args()


def main():
    args = parse_args()
    import_tensorflow()
    import keras
    import numpy as np

    import tfzoo
    from tfzoo.data import read_classification_file, sample_path
    from tfzoo.export import export_saved_model
    from tfzoo.preprocessing import BertClassifierPreprocessor
    from tfzoo.tokenizers import WordPieceTokenizer
    from tfzoo.tokenizers import train_word_piece_vocabulary

    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)

    train, _ = read_classification_file(sample_path("sentiment_train.jsonl"))
    test, _ = read_classification_file(sample_path("sentiment_test.jsonl"))
    label_names = sorted(set(train["label"]))
    print(f"data: {len(train['text'])} training and {len(test['text'])} "
          f"test reviews, labels {label_names}")

    vocabulary_path = os.path.join(args.output_dir, "vocab.txt")
    vocabulary = train_word_piece_vocabulary(
        train["text"], args.vocabulary_size, output_path=vocabulary_path
    )
    print(f"vocabulary: {len(vocabulary)} WordPiece tokens -> "
          f"{vocabulary_path}")

    preprocessor = BertClassifierPreprocessor(
        WordPieceTokenizer(vocabulary),
        sequence_length=args.sequence_length,
        label_names=label_names,
    )
    model = tfzoo.models.BertClassifier.from_preset(
        "bert_tiny",
        vocabulary_size=len(vocabulary),
        max_sequence_length=args.sequence_length,
        num_classes=len(label_names),
        preprocessor=preprocessor,
    )
    model.compile(learning_rate=args.learning_rate)  # XLA by default
    print(f"model: bert_tiny classifier, {model.count_params():,} "
          f"parameters, XLA step: {model.jit_compile}")

    start = time.perf_counter()
    model.fit(
        train["text"],
        train["label"],
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=2,
    )
    print(f"trained in {time.perf_counter() - start:.1f} s")

    result = model.evaluate(test["text"], test["label"], verbose=0,
                            return_dict=True)
    print(f"\ntest accuracy: {result['accuracy']:.3f} "
          f"({len(test['text'])} reviews, chance 0.5)")

    probabilities = keras.ops.softmax(model.predict(EXAMPLES, verbose=0))
    for text, row in zip(EXAMPLES, np.asarray(probabilities)):
        print(f"  {label_names[int(row.argmax())]:>8} {row.max():.2f}  {text}")

    model_path = os.path.join(args.output_dir, "classifier.keras")
    model.save(model_path)
    print(f"\nsaved {model_path}")
    export_path = export_saved_model(
        model, os.path.join(args.output_dir, "serving"), verbose=True
    )
    print(f"exported for TensorFlow Serving: {export_path} "
          f"(raw text in: signature 'serving_default', input 'text')")
    if not args.no_serve:
        serve_and_query(os.path.dirname(export_path), args.output_dir)


def serve_and_query(base_path, output_dir):
    """Starts the local server on the export and queries it with raw text."""
    from serving.client import GrpcPredictionClient
    from serving.client import RestPredictionClient
    from serving.local_server import LocalServer

    base_path = os.path.abspath(base_path)
    flags = ["--model_name=reviews", f"--model_base_path={base_path}"]
    log_path = os.path.join(output_dir, "server.log")
    print(f"\nstarting: python -m serving.server {' '.join(flags)} "
          f"(log: {log_path})")
    with LocalServer(flags, "reviews", log_path) as server:
        texts = EXAMPLES[:2]
        with GrpcPredictionClient("reviews", port=server.grpc_port) as client:
            answers = client.predict({"text": texts})
        print(f"gRPC  (port {server.grpc_port}):")
        for text, label, scores in zip(texts, answers["label_names"],
                                       answers["probabilities"]):
            print(f"  {label:>8} {scores.max():.2f}  {text}")
        with RestPredictionClient(
            "reviews", url=server.rest_url
        ) as client:
            answers = client.classify([{"text": text} for text in texts],
                                      signature_name="classify")
        print(f"REST  (port {server.rest_port}, Classify API):")
        for text, pairs in zip(texts, answers):
            label, score = max(pairs, key=lambda pair: pair[1])
            print(f"  {label:>8} {score:.2f}  {text}")
    print(
        "\nserve it yourself with the local server or the real one:\n"
        f"  python -m serving.server --port=8500 --rest_api_port=8501 "
        f"--model_name=reviews --model_base_path={base_path}\n"
        f"  tensorflow_model_server --port=8500 --rest_api_port=8501 "
        f"--model_name=reviews --model_base_path={base_path}\n"
        "and ask it:\n"
        '  python -m serving.client --model reviews --text "Lovely staff."'
    )


if __name__ == "__main__":
    main()
