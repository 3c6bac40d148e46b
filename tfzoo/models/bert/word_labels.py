"""Word labels and entities of `BertTokenClassifier`, from raw text.

`label_words` is the one implementation behind both
`BertTokenClassifier.predict_words` (in-process) and the exported
`serving_default` signature (`tfzoo.export.token_classifier_signatures`,
whose doc lists the outputs).
"""

import tensorflow as tf

from tfzoo.models.batched_outputs import concatenate_batches, to_numpy
from tfzoo.models.task_preprocessing import label_names, require_preprocessor
from tfzoo.preprocessing.bert_token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)
from tfzoo.preprocessing.length_buckets import call_on_length_bucket

# Padding of the `[batch, n]` outputs.
PADDING = {
    "words": "",
    "word_starts": -1,
    "word_ends": -1,
    "word_label_ids": -1,
    "word_labels": "",
    "word_scores": 0.0,
    "entity_texts": "",
    "entity_labels": "",
    "entity_starts": -1,
    "entity_ends": -1,
}
OUTSIDE_LABEL = "O"


def label_words(model, text):
    """Labels the words of `text` (string `[batch]`): dense, padded
    outputs as in the `serving_default` signature (see the module doc)."""
    preprocessor = model.preprocessor
    words, starts, ends = preprocessor.split_text(text)
    features, word_ids = preprocessor.features_and_word_ids(words)
    logits = tf.cast(
        call_on_length_bucket(model, features, pad_sequence_axis=True),
        "float32",
    )
    label_ids = preprocessor.word_predictions(logits, word_ids)
    probabilities = tf.nn.softmax(
        preprocessor.word_logits(logits, word_ids).flat_values, axis=-1
    )
    labels = label_ids.with_flat_values(
        tf.gather(tf.constant(label_names(model)), label_ids.flat_values)
    )
    word_outputs = {
        "words": words,
        "word_starts": starts,
        "word_ends": ends,
        "word_label_ids": label_ids,
        "word_labels": labels,
        "word_scores": label_ids.with_flat_values(
            tf.reduce_max(probabilities, axis=-1)
        ),
    }
    # Labelled words come first; padding fills in the labels of the rest.
    outputs = {
        name: values.to_tensor(PADDING[name], shape=words.bounding_shape())
        for name, values in word_outputs.items()
    }
    all_labels = tf.RaggedTensor.from_tensor(
        outputs["word_labels"], lengths=words.row_lengths()
    )
    entities = merge_entities(text, all_labels, starts, ends)
    outputs.update({
        name: values.to_tensor(PADDING[name])
        for name, values in entities.items()
    })
    outputs["num_words"] = tf.cast(words.row_lengths(), tf.int32)
    outputs["num_labeled_words"] = tf.cast(label_ids.row_lengths(), tf.int32)
    outputs["num_entities"] = tf.cast(
        entities["entity_texts"].row_lengths(), tf.int32
    )
    return outputs


def merge_entities(text, labels, starts, ends):
    """Entity spans from word labels in the BIO (IOB2) scheme.

    `labels`, `starts`, `ends` are ragged `[batch, words]`: label names
    and character spans in `text`. An entity begins at `B-X`, or at `I-X`
    after a word that is not `B-X`/`I-X`, and goes on over `I-X`. Labels
    without a `B-`/`I-` prefix (IO scheme) join equal neighbours; `O` and
    "" (unlabelled) are outside. Returns ragged `[batch, entities]`
    `entity_texts` (the text from the first word's start to the last
    word's end), `entity_labels` (X), `entity_starts`, `entity_ends`.

    Example:

    >>> import tensorflow as tf
    >>> text = tf.constant(["Ada Lovelace met Babbage in London"])
    >>> labels = tf.ragged.constant(
    ...     [["B-PER", "I-PER", "O", "B-PER", "O", "I-LOC"]])
    >>> starts = tf.ragged.constant([[0, 4, 13, 17, 25, 28]])
    >>> ends = tf.ragged.constant([[3, 12, 16, 24, 27, 34]])
    >>> entities = merge_entities(text, labels, starts, ends)
    >>> [t.decode() for t in entities["entity_texts"][0].numpy()]
    ['Ada Lovelace', 'Babbage', 'London']
    >>> [t.decode() for t in entities["entity_labels"][0].numpy()]
    ['PER', 'PER', 'LOC']
    """
    flat = labels.flat_values
    entity_type = tf.strings.regex_replace(flat, "^[BI]-", "")
    outside = tf.equal(flat, OUTSIDE_LABEL) | tf.equal(flat, "")
    first_word = tf.equal(tf.ragged.range(labels.row_lengths()).flat_values, 0)
    previous_type = tf.roll(entity_type, 1, axis=0)
    previous_outside = tf.roll(outside, 1, axis=0)
    begins = ~outside & (
        tf.strings.regex_full_match(flat, "B-.*")
        | first_word
        | previous_outside
        | tf.not_equal(previous_type, entity_type)
    )
    inside = ~outside
    entity_index = tf.cumsum(tf.cast(begins, tf.int32)) - 1
    num_entities = tf.reduce_sum(tf.cast(begins, tf.int32))
    entity_starts = tf.boolean_mask(starts.flat_values, begins)
    entity_ends = tf.math.unsorted_segment_max(
        tf.boolean_mask(ends.flat_values, inside),
        tf.boolean_mask(entity_index, inside),
        num_entities,
    )
    rows = tf.boolean_mask(labels.value_rowids(), begins)
    entity_texts = tf.strings.substr(
        tf.gather(text, rows), entity_starts, entity_ends - entity_starts,
        unit="UTF8_CHAR",
    )

    def per_row(values):
        return tf.RaggedTensor.from_value_rowids(
            values, rows, nrows=labels.nrows()
        )

    return {
        "entity_texts": per_row(entity_texts),
        "entity_labels": per_row(tf.boolean_mask(entity_type, begins)),
        "entity_starts": per_row(entity_starts),
        "entity_ends": per_row(entity_ends),
    }


def predict_words(model, texts, batch_size=32):
    """`label_words` in-process over a list of texts, `batch_size` at a
    time; a dict of numpy arrays (strings as `str`)."""
    require_preprocessor(model, BertTokenClassifierPreprocessor)
    if isinstance(texts, (str, bytes)):
        raise TypeError("predict_words takes a list of texts, not one text.")
    texts = list(texts)
    if not texts:
        raise ValueError("predict_words got no texts.")
    batches = [
        to_numpy(label_words(model, tf.constant(texts[i:i + batch_size])))
        for i in range(0, len(texts), batch_size)
    ]
    return concatenate_batches(batches, PADDING)
