"""How every recipe trains: seed, precision, strategy, fit, curves."""

import keras

from tfzoo.recipes.evaluation_report import plot_curves
from tfzoo.recipes.run_directory import RunDirectory
from tfzoo.training.precision import set_precision
from tfzoo.training.strategies import resolve_strategy


def prepare(args):
    """Seeds, sets the precision policy, returns the strategy."""
    keras.utils.set_random_seed(args.seed)
    set_precision(args.precision)
    strategy = resolve_strategy(args.strategy)
    print(f"strategy: {type(strategy).__name__} "
          f"({strategy.num_replicas_in_sync} replica(s)), precision "
          f"{args.precision}")
    return strategy


def open_run(args, fixed_settings, scratch_learning_rate,
             fine_tune_learning_rate):
    """Settles `args.learning_rate` (when not given: the fine-tuning rate
    with --init_checkpoint, else the from-scratch one), opens the run
    directory (resuming it; `fixed_settings` must match) and prepares the
    strategy; returns `(run, strategy)`."""
    if args.learning_rate is None:
        args.learning_rate = (fine_tune_learning_rate if args.init_checkpoint
                              else scratch_learning_rate)
    run = RunDirectory(args.model_dir)
    run.start(vars(args), fixed_settings)
    return run, prepare(args)


def train(model, run, args, x, y=None, validation_data=None):
    """`model.fit` with the run directory's callbacks, then the curves.

    Shows Keras' progress bar, writes TensorBoard logs and checkpoints to
    the run directory, resumes from its newest checkpoint, and plots the
    whole run's training and validation curves to `curves.png`.
    """
    model.fit(
        x, y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=validation_data,
        callbacks=run.callbacks(args.batch_size, args.sequence_length,
                                args.checkpoint_every),
        verbose=1,
    )
    history = run.history()
    if history:
        plot_curves(history, run.curves_path, title=run.model_dir)
        print(f"curves: {run.curves_path}")
    return history
