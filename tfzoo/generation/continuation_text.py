"""The text that generated tokens add after their prompt."""

import tensorflow as tf


def continuation_text(tokenizer, token_ids, prompt_lengths, lengths):
    """Each row's continuation as text: strings `[batch]`, in the graph.

    A row's ids are decoded with its prompt and the decoded prompt is cut
    off the front, so a tokenizer whose decoding drops a leading space
    (SentencePiece's `add_dummy_prefix`) keeps the space before the first
    new word. Byte-level BPE decodes by concatenation, and gets exactly
    the new tokens' own text.

    Args:
        tokenizer: anything with `detokenize` (ragged ids to strings).
        token_ids: int `[batch, width]`: prompt, new tokens, then padding.
        prompt_lengths: int `[batch]`, each row's prompt length.
        lengths: int `[batch]`, each row's prompt plus new tokens.

    Example:

    >>> from tfzoo.tokenizers import (SentencePieceTokenizer,
    ...                               train_sentence_piece_model)
    >>> tokenizer = SentencePieceTokenizer(train_sentence_piece_model(
    ...     ["the cat sat on the mat"] * 20, 270, add_dummy_prefix=True))
    >>> prompt = tokenizer("the cat").numpy()
    >>> row = tokenizer("the cat sat").numpy()  # the prompt's ids, then more
    >>> continuation_text(tokenizer, [row], [len(prompt)], [len(row)]).numpy()
    array([b' sat'], dtype=object)
    >>> tokenizer.detokenize([row[len(prompt):]]).numpy()  # decoded alone
    array([b'sat'], dtype=object)
    """
    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    positions = tf.range(tf.shape(token_ids)[1])[None]
    prompt_ends = tf.cast(prompt_lengths, tf.int32)[:, None]
    ends = tf.cast(lengths, tf.int32)[:, None]

    def text_of(mask):
        return tokenizer.detokenize(tf.ragged.boolean_mask(token_ids, mask))

    whole = text_of(positions < ends)
    prompt = text_of(positions < prompt_ends)
    alone = text_of((positions >= prompt_ends) & (positions < ends))
    prompt_size = tf.strings.length(prompt)
    extends_prompt = (
        tf.strings.substr(whole, tf.zeros_like(prompt_size), prompt_size)
        == prompt
    )
    after_prompt = tf.strings.substr(
        whole, prompt_size, tf.strings.length(whole) - prompt_size
    )
    return tf.where(extends_prompt, after_prompt, alone)
