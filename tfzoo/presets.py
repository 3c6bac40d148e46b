"""Named model configurations (random initialisation), as plain data.

`BertBackbone.presets`, `GPTBackbone.presets` and `T5Backbone.presets` are
these dicts. They import nothing, so command lines can list the names (e.g.
for `--help`) without importing TensorFlow.
"""


def _bert(num_layers, hidden_dim, num_heads):
    return {
        "vocabulary_size": 30522,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "hidden_dim": hidden_dim,
        "intermediate_dim": 4 * hidden_dim,
        "max_sequence_length": 512,
        "num_segments": 2,
    }


BERT_PRESETS = {
    "bert_tiny": _bert(2, 128, 2),
    "bert_mini": _bert(4, 256, 4),
    "bert_small": _bert(4, 512, 8),
    "bert_medium": _bert(8, 512, 8),
    "bert_base": _bert(12, 768, 12),
    "bert_large": _bert(24, 1024, 16),
}

GPT2_VOCABULARY_SIZE = 50257

GPT_PRESETS = {
    "gpt_tiny": dict(
        vocabulary_size=GPT2_VOCABULARY_SIZE, num_layers=2, num_heads=2,
        hidden_dim=128, intermediate_dim=512, max_sequence_length=1024,
    ),
    "gpt_mini": dict(
        vocabulary_size=GPT2_VOCABULARY_SIZE, num_layers=4, num_heads=4,
        hidden_dim=256, intermediate_dim=1024, max_sequence_length=1024,
    ),
    "gpt2_small": dict(
        vocabulary_size=GPT2_VOCABULARY_SIZE, num_layers=12, num_heads=12,
        hidden_dim=768, intermediate_dim=3072, max_sequence_length=1024,
    ),
    "gpt2_medium": dict(
        vocabulary_size=GPT2_VOCABULARY_SIZE, num_layers=24, num_heads=16,
        hidden_dim=1024, intermediate_dim=4096, max_sequence_length=1024,
    ),
}

T5_VOCABULARY_SIZE = 32128


def _t5(num_layers, hidden_dim, num_heads, intermediate_dim, v1_1=False,
        head_dim=64):
    """T5 (ReLU MLP, tied head) or T5 v1.1 / Flan-T5 (gated GELU, untied
    head), as Hugging Face's configs give them."""
    return {
        "vocabulary_size": T5_VOCABULARY_SIZE,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "hidden_dim": hidden_dim,
        "intermediate_dim": intermediate_dim,
        "head_dim": head_dim,
        "feed_forward": "gated" if v1_1 else "mlp",
        "activation": "gelu_approximate" if v1_1 else "relu",
        "tie_embedding_weights": not v1_1,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "dropout": 0.1,
        "layer_norm_epsilon": 1e-6,
    }


T5_PRESETS = {
    # Two layers a stack, hidden 128, 2 heads of 64: for tests and demos.
    "t5_tiny": _t5(2, 128, 2, 512),
    "t5_small": _t5(6, 512, 8, 2048),
    "t5_base": _t5(12, 768, 12, 3072),
    "t5_v1_1_small": _t5(8, 512, 6, 1024, v1_1=True),
    "t5_v1_1_base": _t5(12, 768, 12, 2048, v1_1=True),
    "flan_t5_small": _t5(8, 512, 6, 1024, v1_1=True),
}
