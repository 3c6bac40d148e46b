"""`CompileNotice`: a verbose fit says that its first step compiles XLA."""

import keras

from tests import synthetic_tasks as tasks
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.training.compile_notice import CompileNotice

NOTICE = "compiling the XLA training step before the first step"


def tiny_classifier(**compile_args):
    backbone = BertBackbone(**dict(tasks.TINY_BERT, num_layers=1, num_heads=2,
                                   hidden_dim=16, intermediate_dim=32))
    model = BertClassifier(backbone, num_classes=2)
    model.compile(**compile_args)
    return model


def test_a_verbose_first_fit_says_it_compiles_and_how_long_it_took(capsys):
    x, y = tasks.marker_presence(32)
    model = tiny_classifier()
    model.fit(x, y, batch_size=16, epochs=2, verbose=2)
    printed = capsys.readouterr().out
    assert printed.count(NOTICE) == 1
    assert printed.count("compiled: the first step took ") == 1
    assert printed.index("Epoch 1/2") < printed.index(NOTICE) < printed.index(
        "Epoch 2/2")
    model.fit(x, y, batch_size=16, verbose=2)  # compiled already
    assert NOTICE not in capsys.readouterr().out


def test_only_verbose_fits_of_xla_steps_get_the_notice(monkeypatch):
    added = []

    def keras_fit(self, *args, callbacks=(), **kwargs):
        added.append(any(isinstance(c, CompileNotice) for c in callbacks))

    monkeypatch.setattr(keras.Model, "fit", keras_fit)  # no training
    x, y = tasks.marker_presence(16)
    tiny_classifier().fit(x, y)  # verbose="auto"
    tiny_classifier().fit(x, y, verbose=0)
    tiny_classifier(jit_compile=False).fit(x, y, verbose=1)
    assert added == [True, False, False]
