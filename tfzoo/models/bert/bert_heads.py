"""Head layers shared by the BERT task models."""

import keras

from tfzoo.layers.masked_lm_head import MaskedLMHead
from tfzoo.models.bert.bert_backbone import bert_initializer


def logits_layer(num_outputs, name="logits"):
    """A float32 Dense layer producing task logits."""
    return keras.layers.Dense(
        num_outputs,
        kernel_initializer=bert_initializer(),
        dtype="float32",
        name=name,
    )


def masked_lm_head(backbone):
    """BERT's masked-LM head, tied to `backbone`'s token embedding."""
    return MaskedLMHead(
        token_embedding=backbone.token_embedding,
        layer_norm_epsilon=backbone.layer_norm_epsilon,
        kernel_initializer=bert_initializer(),
        dtype=backbone.dtype_policy,
        name="masked_lm_head",
    )


def masked_lm_inputs(backbone):
    """The backbone's symbolic inputs plus `mask_positions`."""
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input(
        shape=(None,), dtype="int32", name="mask_positions"
    )
    return inputs
