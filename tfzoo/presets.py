"""Named model configurations (random initialisation), as plain data.

`BertBackbone.presets` and `GPTBackbone.presets` are these dicts. They
import nothing, so command lines can list the names (e.g. for `--help`)
without importing TensorFlow.
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
