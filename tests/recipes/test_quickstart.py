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

    # The local server's gRPC and REST answers print exactly like the
    # in-process ones (label, score to 2 decimals, text).
    served = result.stdout.split("gRPC  (port", 1)[1]
    for text in ["The staff were friendly and the room was spotless.",
                 "A total waste of money, it broke after two days."]:
        lines = [line for line in result.stdout.splitlines()
                 if line.endswith(text)]
        assert len(lines) == 3 and len(set(lines)) == 1, lines
        assert served.count(lines[0]) == 2

    model = keras.saving.load_model(str(tmp_path / "classifier.keras"))
    logits = model.predict(
        ["Absolutely wonderful, I loved it.", "Terrible, a complete waste."],
        verbose=0,
    )
    names = model.preprocessor.label_names
    assert [names[i] for i in np.argmax(logits, -1)] == [
        "positive", "negative"
    ]
