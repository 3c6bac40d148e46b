"""Reading `pytorch_model.bin` checkpoints without PyTorch, and safely.

Since PyTorch 1.6, `torch.save` writes a zip archive: `<name>/data.pkl` is
a pickle of the state dict whose tensors refer to their storages by key,
and `<name>/data/<key>` holds each storage's raw bytes, stored uncompressed
(`<name>/byteorder` says "little" or "big"; absent means little). Large
checkpoints are split into shards listed by `pytorch_model.bin.index.json`
(`{"weight_map": {name: file}}`), as for safetensors.

A pickle can call any importable function while it loads, so a
checkpoint from someone else can run code on your machine. This reader
never hands the pickle to Python's full unpickler: `_RestrictedUnpickler`
resolves only the handful of names a state dict needs
(`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and its
relatives, the `torch.*Storage` classes and `torch` dtypes), each to a
stand-in defined here that only records numbers. Any other name stops the
load with `UnsafeCheckpointError` before anything is called. PyTorch itself
is never imported.

The storages are memory-mapped: `PytorchCheckpoint.get(name)` returns a
read-only numpy view of the zip member's bytes (members that happen to be
compressed are read into memory instead), with the tensor's offset and
strides. `PytorchCheckpoint` has `SafetensorsCheckpoint`'s interface, and
`open_checkpoint(directory)` picks the format (safetensors when a
directory has both).

Example (a tiny file written by torch, read without it):

>>> import os, tempfile, torch
>>> path = os.path.join(tempfile.mkdtemp(), "pytorch_model.bin")
>>> torch.save({"w": torch.arange(6.0).reshape(2, 3)}, path)
>>> with PytorchCheckpoint(path) as reader:
...     reader.keys(), reader.shape("w"), reader.get("w")[1]
(['w'], (2, 3), array([3., 4., 5.], dtype=float32))
"""

import collections
import json
import mmap
import os
import pickle
import re
import struct
import zipfile

import numpy as np

from tfzoo.convert.safetensors_io import (
    INDEX_FILE as SAFETENSORS_INDEX,
    SINGLE_FILE as SAFETENSORS_FILE,
    CheckpointError,
    SafetensorsCheckpoint,
    ShardedCheckpoint,
)

SINGLE_FILE = "pytorch_model.bin"
INDEX_FILE = "pytorch_model.bin.index.json"

# Storage class names (`torch.FloatStorage`, ...) and dtype names
# (`torch.float32`, ...) to numpy dtypes (byte order added when read).
# bfloat16 is read as its raw 16 bits and widened to float32.
STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2",
    "BFloat16Storage": "bf16", "LongStorage": "i8", "IntStorage": "i4",
    "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?", "UntypedStorage": "u1",
}
TORCH_DTYPES = {
    "float64": "f8", "double": "f8", "float32": "f4", "float": "f4",
    "float16": "f2", "half": "f2", "bfloat16": "bf16", "int64": "i8",
    "long": "i8", "int32": "i4", "int": "i4", "int16": "i2", "short": "i2",
    "int8": "i1", "uint8": "u1", "bool": "?",
}
ZIP_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # 30 bytes
ZIP_LOCAL_SIGNATURE = b"PK\x03\x04"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class UnsafeCheckpointError(CheckpointError):
    """A pickled checkpoint asks for something other than tensors."""


class LegacyFormatError(CheckpointError):
    """A checkpoint in PyTorch's pre-1.6 (non-zip) format."""


class _Sealed:
    """A pickle cannot set attributes on what it gets from this module
    (its BUILD opcode calls `__setstate__`), so one file cannot change how
    the next is read."""

    __slots__ = ()

    def __setstate__(self, state):
        raise UnsafeCheckpointError(
            f"the pickle tries to set attributes of {self!r}; a file that "
            f"does that may be unsafe. Nothing was run."
        )


class _Call(_Sealed):
    """An allowed callable (the stand-in for a torch function)."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return f"<allowed {self.function.__name__}>"


class _DType(_Sealed):
    """Stands in for a `torch.*Storage` class or a `torch` dtype."""

    __slots__ = ("torch_name", "code")

    def __init__(self, torch_name, code):
        self.torch_name = torch_name
        self.code = code

    def __repr__(self):
        return f"torch.{self.torch_name}"


class _Storage(_Sealed):
    """A storage the pickle refers to: its key in `data/` and type."""

    __slots__ = ("key", "dtype", "numel")

    def __init__(self, key, dtype, numel):
        self.key = key
        self.dtype = dtype
        self.numel = numel


class _TensorRecord(_Sealed):
    """What `_rebuild_tensor_*` was asked to build; nothing is read."""

    __slots__ = ("storage", "offset", "shape", "stride", "dtype")

    def __init__(self, storage, offset, shape, stride, dtype=None):
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.stride = stride
        self.dtype = dtype or storage.dtype


def _int_tuple(value, what):
    if not isinstance(value, tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for v in value
    ):
        raise CheckpointError(f"a tensor's {what} is {value!r}")
    return value


def _rebuild_tensor(storage, storage_offset, size, stride, *rest,
                    dtype=None):
    if not isinstance(storage, _Storage):
        raise CheckpointError("a tensor is built from something other "
                              "than a storage")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise CheckpointError(f"a tensor's offset is {storage_offset!r}")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise CheckpointError(f"a tensor has size {size} but stride {stride}")
    return _TensorRecord(storage, storage_offset, size, stride, dtype)


def _rebuild_tensor_v2(storage, storage_offset, size, stride,
                       requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride,
                       requires_grad, backward_hooks, dtype, metadata=None):
    if not isinstance(dtype, _DType):
        raise CheckpointError(f"a tensor's dtype is {dtype!r}")
    return _rebuild_tensor(storage, storage_offset, size, stride,
                           dtype=dtype)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None,
                       *state):
    if not isinstance(data, _TensorRecord):
        raise CheckpointError("a parameter wraps something other than a "
                              "tensor")
    return data


def _ordered_dict(*args):
    # Only the empty call that pickles of OrderedDicts make; the items
    # arrive afterwards through SETITEMS.
    if args and args != ((),):
        raise CheckpointError("an OrderedDict is built with arguments")
    return collections.OrderedDict()


ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _Call(_ordered_dict),
    ("torch._utils", "_rebuild_tensor_v2"): _Call(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor_v3"): _Call(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): _Call(_rebuild_parameter),
    ("torch.nn.parameter", "Parameter"): _Call(_rebuild_parameter),
}
ALLOWED_GLOBALS.update({
    ("torch", name): _DType(name, code)
    for name, code in STORAGE_DTYPES.items()
})
ALLOWED_GLOBALS.update({
    ("torch", name): _DType(name, code)
    for name, code in TORCH_DTYPES.items()
})


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only `ALLOWED_GLOBALS`; storages come back as records."""

    def __init__(self, file, path, storage_keys):
        super().__init__(file)
        self.path = path
        self.storage_keys = storage_keys
        self.storages = {}

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafeCheckpointError(
                f"{self.path} may be unsafe: its pickle asks for "
                f"{module}.{name}, which is not part of a plain PyTorch "
                f"state dict (tensors in dicts), and pickles can run code "
                f"while loading. Nothing was run and nothing was loaded. If "
                f"you trust the file, convert it with PyTorch (torch.load "
                f"and safetensors' save_file) and load the safetensors "
                f"file instead."
            ) from None

    def persistent_load(self, saved_id):
        if (not isinstance(saved_id, tuple) or len(saved_id) != 5
                or saved_id[0] != "storage"):
            raise UnsafeCheckpointError(
                f"{self.path} may be unsafe: its pickle refers to "
                f"{saved_id!r}, which is not a storage. Nothing was run "
                f"and nothing was loaded."
            )
        _, dtype, key, _location, numel = saved_id
        if not isinstance(dtype, _DType) or not isinstance(key, str):
            raise CheckpointError(
                f"{self.path}: a storage reference {saved_id!r} is malformed"
            )
        if key not in self.storage_keys:
            raise CheckpointError(
                f"{self.path}: the pickle refers to storage {key!r}, which "
                f"the archive lacks"
            )
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, dtype, numel)
        return storage


def _describe_legacy(path):
    with open(path, "rb") as file:
        start = file.read(512)
    if start.startswith(b"\x80") and len(start) > 2:
        kind = "PyTorch's legacy (before 1.6) pickle format"
    elif len(start) > 262 and start[257:262] == b"ustar":
        kind = "PyTorch's old tar format"
    else:
        return None
    return LegacyFormatError(
        f"{path} is in {kind}, which tfzoo does not read (it is not a zip "
        f"archive and cannot be memory-mapped). Re-save it once with "
        f"PyTorch 1.6 or later, e.g. `torch.save(torch.load(path, "
        f"weights_only=True), path)`, or better convert it to safetensors "
        f"(transformers: `AutoModel.from_pretrained(dir)"
        f".save_pretrained(dir)`)."
    )


class PytorchFile:
    """One zip-format `torch.save` file, its pickle read safely."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"Checkpoint file {self.path} not found.")
        if not zipfile.is_zipfile(self.path):
            error = _describe_legacy(self.path)
            if error is not None:
                raise error
            raise CheckpointError(
                f"{self.path} is not a PyTorch checkpoint (not a zip "
                f"archive; {os.path.getsize(self.path)} bytes)."
            )
        self._file = open(self.path, "rb")
        self._map = None
        try:
            self._read_archive()
        except BaseException:
            self._file.close()
            raise

    def _read_archive(self):
        try:
            archive = zipfile.ZipFile(self._file)
        except zipfile.BadZipFile as error:
            raise CheckpointError(f"{self.path} is a corrupt zip: {error}.")
        self._archive = archive
        members = {info.filename: info for info in archive.infolist()}
        pickles = [n for n in members if n.endswith("data.pkl")
                   and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(
                f"{self.path} is a zip archive but not a PyTorch "
                f"checkpoint: it has {len(pickles)} '<name>/data.pkl' "
                f"members."
            )
        self.root = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if self.root + "byteorder" in members:
            byteorder = archive.read(self.root + "byteorder").decode(
                "ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointError(
                f"{self.path}: unknown byteorder {byteorder!r}.")
        self.byteorder = "<" if byteorder == "little" else ">"
        prefix = self.root + "data/"
        self._members = {
            name[len(prefix):]: info for name, info in members.items()
            if name.startswith(prefix) and "/" not in name[len(prefix):]
        }
        with archive.open(pickles[0]) as file:
            unpickler = _RestrictedUnpickler(
                file, self.path, set(self._members))
            try:
                state = unpickler.load()
            except CheckpointError:
                raise
            except Exception as error:
                raise CheckpointError(
                    f"{self.path}: its pickle does not load as a state "
                    f"dict ({type(error).__name__}: {error})."
                ) from None
        if not isinstance(state, dict):
            raise CheckpointError(
                f"{self.path} holds a {type(state).__name__}, not a state "
                f"dict of tensors."
            )
        self.tensors = {}
        for name, record in state.items():
            if not isinstance(record, _TensorRecord):
                # e.g. a training step count saved next to the weights.
                continue
            self._check(name, record)
            self.tensors[name] = record

    def _check(self, name, record):
        info = self._members[record.storage.key]
        itemsize = 2 if record.storage.dtype.code == "bf16" else (
            np.dtype(record.storage.dtype.code).itemsize)
        if record.dtype.code != record.storage.dtype.code and (
                record.storage.dtype.torch_name != "UntypedStorage"):
            raise CheckpointError(
                f"Tensor {name!r} in {self.path} is {record.dtype} over a "
                f"{record.storage.dtype}.")
        record_itemsize = 2 if record.dtype.code == "bf16" else (
            np.dtype(record.dtype.code).itemsize)
        if record.storage.dtype.torch_name == "UntypedStorage":
            itemsize = record_itemsize
        count = info.file_size // itemsize
        extent = record.offset + 1 + sum(
            (n - 1) * s for n, s in zip(record.shape, record.stride))
        if 0 not in record.shape and extent > count:
            raise CheckpointError(
                f"Tensor {name!r} in {self.path} is truncated or corrupt: "
                f"it reaches element {extent} of storage "
                f"{record.storage.key!r}, which holds {count}."
            )

    def _storage_array(self, key, dtype):
        info = self._members[key]
        count = info.file_size // dtype.itemsize
        if info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(self._archive.read(info), dtype, count)
        self._file.seek(info.header_offset)
        header = ZIP_LOCAL_HEADER.unpack(
            self._file.read(ZIP_LOCAL_HEADER.size))
        if header[0] != ZIP_LOCAL_SIGNATURE:
            raise CheckpointError(
                f"{self.path}: corrupt zip entry for storage {key!r}.")
        name_length, extra_length = header[-2:]
        start = (info.header_offset + ZIP_LOCAL_HEADER.size + name_length
                 + extra_length)
        if self._map is None:
            self._map = mmap.mmap(self._file.fileno(), 0,
                                  access=mmap.ACCESS_READ)
        return np.frombuffer(self._map, dtype, count, offset=start)

    def names(self):
        return list(self.tensors)

    def shape(self, name):
        return self.tensors[name].shape

    def get(self, name):
        record = self.tensors[name]
        code = record.dtype.code
        dtype = np.dtype(self.byteorder + ("u2" if code == "bf16" else code))
        storage = self._storage_array(record.storage.key, dtype)
        if 0 in record.shape:
            array = np.zeros(record.shape, dtype)
        else:
            array = np.lib.stride_tricks.as_strided(
                storage[record.offset:],
                shape=record.shape,
                strides=[s * dtype.itemsize for s in record.stride],
                writeable=False,
            )
        if code == "bf16":
            array = (array.astype("<u4") << 16).view("<f4")
        elif dtype.byteorder == ">":
            array = array.astype(dtype.newbyteorder("<"))
        return array

    def close(self):
        # Views returned by `get` keep the map alive until they are freed.
        self._map = None
        self._archive.close()
        self._file.close()


class PytorchCheckpoint(ShardedCheckpoint):
    """The tensors of a directory with `pytorch_model.bin` (or the shards
    listed in `pytorch_model.bin.index.json`), or of one `torch.save` file,
    with `SafetensorsCheckpoint`'s interface."""

    single_file = SINGLE_FILE
    index_file = INDEX_FILE
    format_name = "pytorch_model.bin"

    def _open_file(self, path):
        return PytorchFile(path)


def has_pytorch_weights(directory):
    return any(os.path.isfile(os.path.join(directory, name))
               for name in (SINGLE_FILE, INDEX_FILE))


def has_safetensors_weights(directory):
    return any(os.path.isfile(os.path.join(directory, name))
               for name in (SAFETENSORS_FILE, SAFETENSORS_INDEX))


def open_checkpoint(path):
    """The checkpoint at `path`: a directory's safetensors weights when it
    has them, else its `pytorch_model.bin` (or their shards); or one
    `.safetensors` / `torch.save` file."""
    path = os.fspath(path)
    if os.path.isfile(path):
        if path.endswith(".safetensors"):
            return SafetensorsCheckpoint(path)
        return PytorchCheckpoint(path)
    if os.path.isdir(path) and not has_safetensors_weights(path) and (
            has_pytorch_weights(path)):
        return PytorchCheckpoint(path)
    return SafetensorsCheckpoint(path)
