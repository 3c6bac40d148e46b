import os
import re
import subprocess
import sys

import keras
import numpy as np

import tfzoo  # noqa: F401  (registers the classes to load)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_quickstart_trains_on_raw_text_and_saves_a_usable_model(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "quickstart.py"),
         "--output_dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout)[1])
    assert accuracy > 0.85, result.stdout  # chance is 0.5
    assert os.path.isdir(tmp_path / "serving" / "1" / "variables")

    model = keras.saving.load_model(str(tmp_path / "classifier.keras"))
    logits = model.predict(
        ["Absolutely wonderful, I loved it.", "Terrible, a complete waste."],
        verbose=0,
    )
    names = model.preprocessor.label_names
    assert [names[i] for i in np.argmax(logits, -1)] == [
        "positive", "negative"
    ]
