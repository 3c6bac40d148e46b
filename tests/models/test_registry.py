"""The family registry: what each family registers, and the lookups."""

import os
import pathlib
import subprocess
import sys
import types

import pytest

import tfzoo
from tfzoo.models import registry
from tfzoo.models.hf_format.config_fields import UnsupportedModelError


def test_every_format_is_complete_and_maps_to_its_family():
    formats = registry.checkpoint_formats()
    assert sorted(formats) == ["bert", "distilbert", "gpt2", "mt5",
                               "roberta", "t5"]
    for model_type, module in formats.items():
        assert module.MODEL_TYPE == model_type
        for architecture, cls in module.ARCHITECTURES.items():
            backbone = getattr(cls, "backbone_class", None) or cls
            assert issubclass(backbone, module.BACKBONE), architecture
    assert formats["roberta"].ARCHITECTURES[
        "RobertaForSequenceClassification"] is tfzoo.models.BertClassifier
    assert formats["gpt2"].ARCHITECTURES[
        "GPT2LMHeadModel"] is tfzoo.models.GPTCausalLM


def test_each_backbone_saves_as_exactly_one_type():
    bert = dict(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=8,
                intermediate_dim=16, max_sequence_length=16)
    cases = {
        "bert": tfzoo.models.BertBackbone(**bert),
        "roberta": tfzoo.models.BertBackbone(**bert, position_offset=2),
        "distilbert": tfzoo.models.BertBackbone(**bert, num_segments=0),
        "gpt2": tfzoo.models.GPTBackbone(**bert),
    }
    for model_type, backbone in cases.items():
        matching = [
            name for name, module in registry.checkpoint_formats().items()
            if isinstance(backbone, module.BACKBONE)
            and module.describes(backbone)
        ]
        assert matching == [model_type]
        assert registry.format_of_backbone(backbone).MODEL_TYPE == model_type


def test_unknown_types_and_incomplete_formats_are_named():
    with pytest.raises(UnsupportedModelError,
                       match=r"'llama' is not supported; tfzoo converts "
                             r"\['bert', 'distilbert', 'gpt2', 'mt5', "
                             r"'roberta', 't5'\]"):
        registry.checkpoint_format("llama")
    half_done = types.ModuleType("half_done")
    half_done.MODEL_TYPE = "half"
    with pytest.raises(TypeError, match=r"half_done is not a checkpoint "
                                        r"format: it lacks \['BACKBONE'"):
        registry.register_checkpoint_format(half_done)
    assert "half" not in registry.checkpoint_formats()


def test_task_kinds_are_declared_on_the_classes():
    models = tfzoo.models
    assert models.BertClassifier.serving_kind == "classifier"
    assert models.BertTokenClassifier.serving_kind == "token_classifier"
    assert models.BertQuestionAnswerer.serving_kind == "question_answerer"
    assert models.GPTCausalLM.serving_kind == "generator"
    assert models.BertMaskedLM.serving_kind is None
    assert (models.BertClassifier.preprocessor_class
            is tfzoo.preprocessing.BertClassifierPreprocessor)


def test_from_pretrained_without_convert_says_what_to_import():
    """tfzoo.models never imports tfzoo.convert; with the lazy import and
    only tfzoo.models loaded, from_pretrained says what is missing."""
    script = (
        "import os; os.environ['TFZOO_LAZY_IMPORT'] = '1'\n"
        "import sys\n"
        "from tfzoo.models import BertBackbone\n"
        "assert 'tfzoo.convert' not in sys.modules\n"
        "try:\n"
        "    BertBackbone.from_pretrained('anything')\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=pathlib.Path(tfzoo.__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("Hugging Face checkpoints need tfzoo.convert: `import tfzoo` "
            "(without TFZOO_LAZY_IMPORT=1) or `import tfzoo.convert` before "
            "from_pretrained or save_pretrained.") in result.stdout
