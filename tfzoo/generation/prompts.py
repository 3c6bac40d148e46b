"""Prompts for generation: from strings or ids to padded ids and back."""

import numpy as np
import tensorflow as tf

from tfzoo.generation.continuation_text import continuation_text


class PromptBatch:
    """A batch of prompts as token id lists, remembering the input form.

    Example:

    >>> prompts = PromptBatch.from_inputs([[4, 5], [6]], None, 10)
    >>> prompts.padded(4).tolist(), prompts.lengths.tolist()
    ([[4, 5, 0, 0], [6, 0, 0, 0]], [2, 1])
    """

    def __init__(self, token_ids, form, texts=None):
        self.token_ids = token_ids
        self.form = form  # "string", "strings", "ids", "id_lists", "dict"
        self.texts = texts
        self.lengths = np.array([len(ids) for ids in token_ids], "int32")

    @property
    def size(self):
        return len(self.token_ids)

    @property
    def longest(self):
        return int(self.lengths.max())

    @classmethod
    def from_inputs(cls, inputs, tokenizer, vocabulary_size,
                    text_end_id=None):
        """`text_end_id`, if given, ends every tokenized text (an
        encoder-decoder's source: "" becomes just that id)."""
        form, token_ids, texts = _token_id_lists(inputs, tokenizer)
        if not token_ids:
            raise ValueError("generate() got no prompts.")
        if text_end_id is not None and texts is not None:
            token_ids = [ids + [int(text_end_id)] for ids in token_ids]
        begin = getattr(tokenizer, "end_of_text_id", None)
        for index, ids in enumerate(token_ids):
            if not ids:
                if begin is None:
                    raise ValueError(
                        f"Prompt {index} is empty and there is no "
                        f"end-of-text token to start from. Pass at least "
                        f"one token id."
                    )
                token_ids[index] = [begin]
            bad = [t for t in token_ids[index]
                   if not 0 <= t < vocabulary_size]
            if bad:
                raise ValueError(
                    f"Prompt {index} has token ids outside [0, "
                    f"{vocabulary_size}): {bad[:5]}."
                )
        return cls(token_ids, form, texts)

    def padded(self, width, pad_id=0):
        """Int32 `[batch, width]`, each prompt right-padded."""
        padded = np.full((self.size, width), pad_id, "int32")
        for row, ids in enumerate(self.token_ids):
            padded[row, : len(ids)] = ids
        return padded

    def outputs(self, token_ids, lengths, tokenizer):
        """Generated rows (prompt + continuation) in the input's form."""
        rows = [list(map(int, ids[:length]))
                for ids, length in zip(token_ids, lengths)]
        if self.form in ("string", "strings"):
            # The prompt as given, then the decoded continuation (as the
            # exported signature's `text`).
            continuations = continuation_text(
                tokenizer, token_ids, self.lengths, lengths
            ).numpy()
            texts = [prompt + text.decode("utf-8")
                     for prompt, text in zip(self.texts, continuations)]
            return texts[0] if self.form == "string" else texts
        if self.form == "ids":
            return rows[0]
        if self.form == "dict":
            width = int(max(lengths))
            mask = np.arange(width)[None] < np.asarray(lengths)[:, None]
            return {
                "token_ids": np.where(mask, token_ids[:, :width], 0),
                "padding_mask": mask.astype("int32"),
            }
        return rows


    def target_outputs(self, token_ids, lengths, tokenizer, start=1):
        """An encoder-decoder's generated targets in the input's form:
        each row's tokens from `start` (after the decoder's start token)
        to its length; text when the sources were text."""
        rows = [list(map(int, ids[start:length]))
                for ids, length in zip(token_ids, lengths)]
        if self.form in ("string", "strings"):
            ids = tf.ragged.constant(rows, tf.int32, ragged_rank=1)
            texts = [text.decode("utf-8")
                     for text in tokenizer.detokenize(ids).numpy()]
            return texts[0] if self.form == "string" else texts
        if self.form == "ids":
            return rows[0]
        if self.form == "dict":
            width = max(1, max(len(row) for row in rows))
            padded = np.zeros((len(rows), width), "int32")
            mask = np.zeros((len(rows), width), "int32")
            for index, row in enumerate(rows):
                padded[index, :len(row)] = row
                mask[index, :len(row)] = 1
            return {"token_ids": padded, "padding_mask": mask}
        return rows


def _token_id_lists(inputs, tokenizer):
    """`(form, list of id lists)` from any supported prompt input."""
    if isinstance(inputs, (str, bytes)):
        texts = [_as_text(inputs)]
        return "string", _tokenized(texts, tokenizer), texts
    if isinstance(inputs, dict):
        ids = np.asarray(inputs["token_ids"])
        mask = np.asarray(inputs.get("padding_mask", np.ones_like(ids)))
        return "dict", [
            [int(t) for t, m in zip(row, row_mask) if m]
            for row, row_mask in zip(ids, mask)
        ], None
    if isinstance(inputs, (tf.Tensor, np.ndarray)):
        inputs = inputs.tolist() if isinstance(inputs, np.ndarray) else (
            inputs.numpy().tolist()
        )
    if isinstance(inputs, tf.RaggedTensor):
        inputs = inputs.to_list()
    inputs = list(inputs)
    if inputs and all(isinstance(item, (str, bytes)) for item in inputs):
        texts = [_as_text(item) for item in inputs]
        return "strings", _tokenized(texts, tokenizer), texts
    if all(isinstance(item, (int, np.integer)) for item in inputs):
        return "ids", [[int(t) for t in inputs]], None
    return "id_lists", [[int(t) for t in row] for row in inputs], None


def _as_text(item):
    return item.decode("utf-8") if isinstance(item, bytes) else item


def _tokenized(texts, tokenizer):
    if tokenizer is None:
        raise ValueError(
            "Text prompts need a tokenizer: build the model with "
            "tokenizer=BytePairTokenizer(...) or SentencePieceTokenizer(...), "
            "or pass token ids."
        )
    return tokenizer.tokenize(tf.constant(texts)).to_list()
