"""SavedModel export for TensorFlow Serving, and the servable-op check."""

from tfzoo.export.op_check import UnservableOpError, check_servable
from tfzoo.export.saved_model_export import export_saved_model, next_version
from tfzoo.export.warmup import read_warmup_file, replay_inputs
