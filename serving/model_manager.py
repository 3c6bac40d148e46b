"""Which model versions are loaded, following TF Serving's rules.

A `ModelManager` holds the models of a `ModelServerConfig`. `poll()` lists
each model's numeric version directories, picks the ones its
`model_version_policy` wants (`latest` N, the default being 1; `all`;
`specific` versions), loads new ones (replaying their warmup requests) and
unloads the ones no longer wanted, but only once a wanted version is
available, so serving never stops during a hot swap. A version that fails
to load is reported in its status (END with the error) and leaves the
loaded versions serving. Directories that are not plain numbers, such as
an exporter's temporary directories, are ignored.
"""

import contextlib
import logging
import os
import threading

import grpc
from tensorflow_serving.apis import get_model_status_pb2

from serving.errors import ServingError
from serving.errors import failed_precondition
from serving.errors import invalid_argument
from serving.errors import not_found
from serving.warmup_replay import replay_warmup

State = get_model_status_pb2.ModelVersionStatus.State
log = logging.getLogger("serving")


class VersionStatus:
    """The state of one version, and its servable once AVAILABLE; a failed
    load keeps its error message and status code."""

    def __init__(self, state, error=None, servable=None,
                 code=grpc.StatusCode.UNKNOWN):
        self.state = state
        self.error = error
        self.servable = servable
        self.code = code


def load_error_code(error):
    """The status code TF Serving reports for a version that failed to load
    with `error`: the failing op's or request's code (a corrupt variables
    file is DATA_LOSS, a failing warmup request its own code), NOT_FOUND for
    an op the binary lacks (OpRegistry's "Op type not registered"),
    DATA_LOSS for a saved_model.pb that does not parse (ReadBinaryProto)."""
    if isinstance(error, ServingError):
        return error.code
    number = getattr(error, "error_code", None)
    for code in grpc.StatusCode:
        if number is not None and code.value[0] == number:
            return code
    if "Op type not registered" in str(error):
        return grpc.StatusCode.NOT_FOUND
    if type(error).__name__ == "DecodeError":
        return grpc.StatusCode.DATA_LOSS
    return grpc.StatusCode.UNKNOWN


class ManagedModel:
    """One model: its config, and the status of each version seen."""

    def __init__(self, config, load_servable, warmup=True):
        self.config = config
        self.warmup = warmup
        self.versions = {}
        self.load_servable = load_servable
        self.lock = threading.Lock()

    @property
    def name(self):
        return self.config.name

    def wanted_versions(self):
        base_path = self.config.base_path
        if not os.path.isdir(base_path):
            log.warning(
                "No versions of servable %s found under base path %s",
                self.name, base_path,
            )
            return set()
        present = sorted(
            int(entry)
            for entry in os.listdir(base_path)
            if entry.isdigit()
            and os.path.isdir(os.path.join(base_path, entry))
        )
        policy = self.config.model_version_policy
        kind = policy.WhichOneof("policy_choice")
        if kind == "all":
            return set(present)
        if kind == "specific":
            return set(present) & set(policy.specific.versions)
        count = policy.latest.num_versions if kind == "latest" else 1
        return set(present[-max(count, 1):])

    def poll(self):
        wanted = self.wanted_versions()
        for version in sorted(wanted):
            status = self.versions.get(version)
            if status is None or (
                status.state == State.END and status.error is None
            ):
                self._load(version)
        available_wanted = any(
            self.versions[version].state == State.AVAILABLE
            for version in wanted
        )
        if available_wanted or not wanted:
            for version, status in list(self.versions.items()):
                if version not in wanted and status.state == State.AVAILABLE:
                    self._unload(version)

    def _load(self, version):
        path = os.path.join(self.config.base_path, str(version))
        with self.lock:
            self.versions[version] = VersionStatus(State.LOADING)
        log.info("Loading servable: {name: %s version: %d}", self.name, version)
        servable = None
        try:
            servable = self.load_servable(path)
            count = replay_warmup(servable) if self.warmup else 0
        except Exception as error:  # noqa: BLE001  (reported in the status)
            if servable is not None:
                servable.close()
            detail = getattr(error, "message", None) or str(error)
            message = f"Failed to load SavedModel at {path}: {detail}"
            log.error(
                "Loading servable: {name: %s version: %d} failed: %s",
                self.name, version, message,
            )
            with self.lock:
                self.versions[version] = VersionStatus(
                    State.END, error=message, code=load_error_code(error)
                )
            return
        log.info(
            "Successfully loaded servable version {name: %s version: %d} "
            "(%d warmup records)", self.name, version, count,
        )
        with self.lock:
            self.versions[version] = VersionStatus(
                State.AVAILABLE, servable=servable
            )

    def _unload(self, version):
        with self.lock:
            servable = self.versions[version].servable
            self.versions[version] = VersionStatus(State.END)
        servable.close()
        log.info("Unloaded servable version {name: %s version: %d}",
                 self.name, version)

    def unload_all(self):
        for version, status in list(self.versions.items()):
            if status.state == State.AVAILABLE:
                self._unload(version)

    def available(self):
        with self.lock:
            return sorted(
                version for version, status in self.versions.items()
                if status.state == State.AVAILABLE
            )


class ModelManager:
    """The served models; resolves a request's `ModelSpec` to a version."""

    def __init__(self, load_servable, allow_labels_for_unavailable=False,
                 replay_warmup=True):
        self.load_servable = load_servable
        self.replay_warmup = replay_warmup
        self.allow_labels_for_unavailable = allow_labels_for_unavailable
        self.models = {}
        self.lock = threading.Lock()
        self.update_lock = threading.RLock()

    def apply_config(self, config):
        """Adopts a `ModelServerConfig`: adds, updates and removes models."""
        with self.update_lock:
            self._apply_config(config)

    def _apply_config(self, config):
        configs = list(config.model_config_list.config)
        names = [model.name for model in configs]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise invalid_argument(
                f"Illegal to list model {sorted(duplicates)[0]} multiple times "
                f"in config list"
            )
        for model in configs:
            if not model.name or not model.base_path:
                raise invalid_argument(
                    "Every model config needs a name and a base_path."
                )
            if model.model_platform not in ("", "tensorflow"):
                raise invalid_argument(
                    f"Model {model.name}: unsupported model_platform "
                    f"{model.model_platform!r}; this server runs "
                    f"'tensorflow' SavedModels."
                )
        with self.lock:
            old = self.models
            previous_configs = {
                name: model.config for name, model in old.items()
            }
            self.models = {}
            for model in configs:
                managed = old.pop(model.name, None)
                if managed is None:
                    managed = ManagedModel(
                        model, self.load_servable, self.replay_warmup
                    )
                managed.config = model
                self.models[model.name] = managed
        for removed in old.values():
            removed.unload_all()
        self.poll()
        try:
            self.check_labels()
        except ServingError:
            # Keep the labels (and policies) that were valid.
            for name, model in self.models.items():
                if name in previous_configs:
                    model.config = previous_configs[name]
            raise

    def check_labels(self):
        for model in list(self.models.values()):
            available = model.available()
            for label, version in model.config.version_labels.items():
                if version not in available and not (
                    self.allow_labels_for_unavailable
                ):
                    raise failed_precondition(
                        f"Request to assign label to version {version} of "
                        f"model {model.name}, which is not currently "
                        f"available for inference"
                    )

    def poll(self):
        with self.update_lock:
            for model in list(self.models.values()):
                model.poll()

    def unload_all(self):
        for model in list(self.models.values()):
            model.unload_all()

    @contextlib.contextmanager
    def serving(self, model_spec):
        """`with manager.serving(spec) as (servable, version):` runs a
        request on a version that stays loaded until the block ends."""
        servable, version = self.resolve(model_spec, acquire=True)
        try:
            yield servable, version
        finally:
            servable.release()

    def resolve(self, model_spec, acquire=False):
        """(servable, version) for a `ModelSpec`, or TF Serving's error;
        `acquire`: count the request on the servable (see `serving`)."""
        name = model_spec.name
        if not name:
            # ServerCore::ServableRequestFromModelSpec.
            raise invalid_argument("ModelSpec has no name specified.")
        model = self.models.get(name)
        choice = model_spec.WhichOneof("version_choice")
        if choice == "version_label":
            label = model_spec.version_label
            labels = model.config.version_labels if model else {}
            if label not in labels:
                raise invalid_argument(
                    f"Unrecognized servable version label: {label}"
                )
            version = labels[label]
            request = f"Specific({name}, {version})"
        elif choice == "version":
            version = model_spec.version.value
            request = f"Specific({name}, {version})"
        else:
            version = None
            request = f"Latest({name})"
        if model is not None:
            with model.lock:
                if version is None:
                    available = [
                        number for number, status in model.versions.items()
                        if status.state == State.AVAILABLE
                    ]
                    version = max(available, default=None)
                status = model.versions.get(version)
                if status is not None and status.state == State.AVAILABLE:
                    if acquire:
                        status.servable.acquire()
                    return status.servable, version
        raise not_found(f"Servable not found for request: {request}")

    def status(self, name, version=None):
        """[(version, VersionStatus)] newest first, or NOT_FOUND."""
        model = self.models.get(name)
        if model is None or not model.versions:
            raise not_found(f"Could not find any versions of model {name}")
        with model.lock:
            items = sorted(model.versions.items(), reverse=True)
        if version is not None:
            items = [item for item in items if item[0] == version]
            if not items:
                raise not_found(
                    f"Could not find version {version} of model {name}"
                )
        return items


def status_proto(version, status):
    """A `ModelVersionStatus` for `GetModelStatus`."""
    proto = get_model_status_pb2.ModelVersionStatus(
        version=version, state=status.state
    )
    proto.status.SetInParent()
    if status.error is not None:
        proto.status.error_code = status.code.value[0]
        proto.status.error_message = status.error
    return proto


__all__ = ["ModelManager", "ServingError", "State", "status_proto"]
