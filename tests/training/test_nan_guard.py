import numpy as np
import pytest

from tests import synthetic_tasks as tasks
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.training import NaNLossError


def test_nan_loss_stops_training_naming_the_step():
    x, y = tasks.marker_fraction(256)
    y[200] = np.nan  # lands in the 4th batch of 64
    model = BertClassifier(BertBackbone(**tasks.TINY_BERT), num_classes=1)
    model.compile()
    with pytest.raises(NaNLossError, match="at epoch 1, step 4"):
        model.fit(x, y, batch_size=64, shuffle=False, verbose=0)
