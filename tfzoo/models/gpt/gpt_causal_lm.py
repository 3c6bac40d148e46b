"""GPT with a language-model head, perplexity, and cached generation."""

import keras

from tfzoo.layers.tied_embedding_logits import TiedEmbeddingLogits
from tfzoo.models.generative_task import GenerativeTask
from tfzoo.models.gpt.gpt_backbone import GPTBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class GPTCausalLM(GenerativeTask):
    """Predicts each next token; generates text with a cached XLA loop.

    Inputs are the backbone's (`token_ids`, `padding_mask`); the output is
    float32 logits `[batch, length, vocabulary_size]` from the transposed
    token embedding (tied weights). Train with `fit(x, next_token_ids,
    sample_weight=weights)`, e.g. on rows from
    `tfzoo.preprocessing.packed_dataset`; metrics are perplexity and
    next-token accuracy.

    `generate` (from `GenerativeTask`) decodes in one XLA-compiled
    `tf.while_loop` over a key/value cache, projecting onto the tied token
    embedding.

    Args:
        backbone: a `GPTBackbone`.
        tokenizer: optional `BytePairTokenizer` (or any tokenizer with
            `tokenize`, `detokenize` and `end_of_text_id`), for text
            prompts.

    Example:

    >>> model = GPTCausalLM.from_preset("gpt_tiny", vocabulary_size=50)
    >>> outputs = model.generate([[5, 6, 7]], max_new_tokens=4)
    >>> len(outputs[0])
    7
    """

    backbone_class = GPTBackbone
    default_learning_rate = 3e-4

    def __init__(self, backbone, tokenizer=None, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.lm_head = TiedEmbeddingLogits(
            backbone.token_embedding, name="lm_head"
        )
        # === Functional model ===
        inputs = {
            key: keras.Input(shape=(None,), dtype="int32", name=key)
            for key in backbone.input_keys
        }
        logits = self.lm_head(backbone(inputs))
        super().__init__(inputs=inputs, outputs=logits, tokenizer=tokenizer,
                         **kwargs)

