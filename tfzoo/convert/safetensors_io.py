"""Reading and writing safetensors checkpoints, one tensor at a time.

A safetensors file is an 8-byte little-endian header length, a JSON header
(`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{...}}`) and the raw little-endian tensor bytes. Large checkpoints are split
into shards listed by `model.safetensors.index.json` (`{"weight_map": {name:
file}}`).

Reading memory-maps each file: `SafetensorsCheckpoint.get` returns a
read-only numpy view of the mapped bytes, so a checkpoint is never copied
into memory as a whole; only the tensor being converted is touched. Writing
takes a callable per tensor and asks for each array only when it writes it.

Example:

>>> import os, tempfile
>>> import numpy as np
>>> directory = tempfile.mkdtemp()
>>> write_checkpoint(directory, {"a": np.arange(6, dtype="float32")
...                               .reshape(2, 3), "b": np.ones(2, "int64")})
>>> sorted(os.listdir(directory))
['model.safetensors']
>>> with SafetensorsCheckpoint(directory) as reader:
...     sorted(reader.keys()), reader.shape("a"), reader.get("a")[0]
(['a', 'b'], (2, 3), array([0., 1., 2.], dtype=float32))
"""

import json
import mmap
import os
import re
import struct

import numpy as np

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
SHARD_FILE = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")

# safetensors dtype names to numpy little-endian dtypes. BF16 is read as
# its raw 16 bits and widened to float32 (numpy has no bfloat16).
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1",
    "BOOL": "?",
}
NUMPY_TO_SAFETENSORS = {
    np.dtype(v): k for k, v in DTYPES.items() if k != "BF16"
}
MAX_HEADER_BYTES = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed or inconsistent."""


def _read_header(path):
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise CheckpointError(
                f"{path} is not a safetensors file: it is {len(prefix)} "
                f"bytes long."
            )
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{path} is not a safetensors file: its header claims "
                f"{length} bytes."
            )
        raw = file.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{path} has a corrupt safetensors header: {error}."
        ) from None
    return 8 + length, header


class SafetensorsFile:
    """One memory-mapped safetensors file."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"Checkpoint file {self.path} not found.")
        self.data_start, header = _read_header(self.path)
        self.metadata = header.pop("__metadata__", None) or {}
        self.entries = header
        size = os.path.getsize(self.path)
        for name, entry in self.entries.items():
            if entry.get("dtype") not in DTYPES:
                raise CheckpointError(
                    f"Tensor {name!r} in {self.path} has dtype "
                    f"{entry.get('dtype')!r}; supported: {sorted(DTYPES)}."
                )
            begin, end = entry["data_offsets"]
            expected = int(np.prod(entry["shape"], dtype="int64")) * (
                np.dtype(DTYPES[entry["dtype"]]).itemsize
            )
            if end - begin != expected or self.data_start + end > size:
                raise CheckpointError(
                    f"Tensor {name!r} in {self.path} is truncated or "
                    f"corrupt: {end - begin} bytes for shape "
                    f"{entry['shape']} {entry['dtype']} (expected "
                    f"{expected}), file size {size}."
                )
        self._file = None
        self._map = None

    def _buffer(self):
        if self._map is None:
            self._file = open(self.path, "rb")
            if os.path.getsize(self.path) > 0:
                self._map = mmap.mmap(
                    self._file.fileno(), 0, access=mmap.ACCESS_READ
                )
        return self._map

    def names(self):
        return list(self.entries)

    def shape(self, name):
        return tuple(self.entries[name]["shape"])

    def get(self, name):
        entry = self.entries[name]
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]])
        array = np.frombuffer(
            self._buffer(), dtype=dtype, count=(end - begin) // dtype.itemsize,
            offset=self.data_start + begin,
        ).reshape(entry["shape"])
        if entry["dtype"] == "BF16":
            array = (array.astype("<u4") << 16).view("<f4")
        return array

    def close(self):
        # Views returned by `get` keep the map alive until they are freed.
        self._map = None
        if self._file is not None:
            self._file.close()
            self._file = None


class ShardedCheckpoint:
    """The tensors of a checkpoint directory: one file (`single_file`), or
    the shards listed in `index_file` (`{"weight_map": {name: file}}`).
    Subclasses say which files and how one is read (`_open_file`)."""

    single_file = None
    index_file = None
    format_name = None

    def __init__(self, path):
        self.files = {}
        self.locations = {}
        try:
            self._open(os.fspath(path))
        except BaseException:
            self.close()
            raise

    def _open(self, path):
        if os.path.isfile(path):
            self._add_file(path)
            self.description = path
            return
        single = os.path.join(path, self.single_file)
        index = os.path.join(path, self.index_file)
        if os.path.isfile(index):
            self.description = index
            with open(index, encoding="utf-8") as file:
                try:
                    weight_map = json.load(file)["weight_map"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise CheckpointError(
                        f"{index} is not a {self.format_name} index (needs "
                        f"a 'weight_map' of tensor name to file): "
                        f"{error!r}."
                    ) from None
            for shard in sorted(set(weight_map.values())):
                shard_path = os.path.join(path, shard)
                if not os.path.isfile(shard_path):
                    names = [n for n, f in weight_map.items() if f == shard]
                    raise FileNotFoundError(
                        f"Shard {shard_path} listed in {index} is missing "
                        f"(it holds {len(names)} tensors, e.g. "
                        f"{names[0]!r}). Download or copy every shard."
                    )
                self._add_file(shard_path)
            for name, shard in weight_map.items():
                if self.locations.get(name) is not self.files[shard]:
                    raise CheckpointError(
                        f"{index} puts tensor {name!r} in {shard}, but that "
                        f"shard does not hold it."
                    )
        elif os.path.isfile(single):
            self.description = single
            self._add_file(single)
        else:
            found = sorted(os.listdir(path)) if os.path.isdir(path) else []
            hint = ""
            if any(f.endswith((".bin", ".pt", ".h5", ".msgpack"))
                   for f in found):
                hint = (
                    " tfzoo reads model.safetensors and PyTorch's "
                    "pytorch_model.bin (or their shards with an index), "
                    "by those names; convert other weights first, e.g. "
                    "with transformers: "
                    "`AutoModel.from_pretrained(dir).save_pretrained(dir)`."
                )
            raise FileNotFoundError(
                f"No {self.single_file} or {self.index_file} in {path} "
                f"(found: {found}).{hint}"
            )

    def _add_file(self, path):
        handle = self._open_file(path)
        self.files[os.path.basename(path)] = handle
        for name in handle.names():
            if name in self.locations:
                raise CheckpointError(
                    f"Tensor {name!r} appears in both "
                    f"{self.locations[name].path} and {path}."
                )
            self.locations[name] = handle

    def keys(self):
        return list(self.locations)

    def __contains__(self, name):
        return name in self.locations

    def shape(self, name):
        return tuple(self.locations[name].shape(name))

    def where(self, name):
        """The file that holds tensor `name`."""
        return self.locations[name].path

    def get(self, name):
        if name not in self.locations:
            raise KeyError(
                f"Tensor {name!r} is not in the checkpoint "
                f"{self.description}."
            )
        return self.locations[name].get(name)

    def close(self):
        for handle in self.files.values():
            handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class SafetensorsCheckpoint(ShardedCheckpoint):
    """The tensors of a checkpoint directory (or one `.safetensors` file).

    Reads `model.safetensors`, or the shards listed in
    `model.safetensors.index.json`. `get(name)` returns a read-only numpy
    array backed by the memory-mapped file (BF16 is widened to float32).
    """

    single_file = SINGLE_FILE
    index_file = INDEX_FILE
    format_name = "safetensors"

    def _open_file(self, path):
        return SafetensorsFile(path)


def _header_for(tensors):
    """The header entries for (name, shape, dtype) triples, in order."""
    header, offset = {}, 0
    for name, shape, dtype in tensors:
        dtype = np.dtype(dtype)
        if dtype not in NUMPY_TO_SAFETENSORS:
            raise TypeError(f"Tensor {name!r}: dtype {dtype} not supported.")
        size = int(np.prod(shape, dtype="int64")) * dtype.itemsize
        header[name] = {
            "dtype": NUMPY_TO_SAFETENSORS[dtype],
            "shape": [int(d) for d in shape],
            "data_offsets": [offset, offset + size],
        }
        offset += size
    return header, offset


def write_safetensors(path, tensors, metadata=None):
    """Writes `tensors` to one safetensors file.

    Args:
        path: the file to write.
        tensors: a list of `(name, shape, dtype, get_array)`; `get_array()`
            is called when the tensor is written, so only one array needs to
            be in memory at a time.
        metadata: optional dict of strings for `__metadata__`.
    """
    header, _ = _header_for([(n, s, d) for n, s, d, _ in tensors])
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(raw)))
        file.write(raw)
        for name, shape, dtype, get_array in tensors:
            array = np.ascontiguousarray(get_array(), dtype=np.dtype(dtype))
            if array.shape != tuple(shape):
                raise ValueError(
                    f"Tensor {name!r}: expected shape {tuple(shape)}, got "
                    f"{array.shape}."
                )
            file.write(array.astype(array.dtype.newbyteorder("<")).tobytes())


def write_checkpoint(directory, tensors, max_shard_size=None, metadata=None,
                     progress=None):
    """Writes a checkpoint directory: one file, or shards plus an index.

    Args:
        directory: output directory (created if needed).
        tensors: a dict from name to numpy array, or a list of
            `(name, shape, dtype, get_array)` as for `write_safetensors`.
        max_shard_size: bytes per shard (int), or None for one file.
        metadata: `__metadata__` of each file; `{"format": "pt"}` by
            default, which transformers expects.
        progress: optional callable run after each tensor is written.
    """
    if isinstance(tensors, dict):
        tensors = [
            (name, np.shape(array), np.asarray(array).dtype,
             lambda array=array: np.asarray(array))
            for name, array in tensors.items()
        ]
    metadata = {"format": "pt", **(metadata or {})}
    os.makedirs(directory, exist_ok=True)
    tracked = [
        (n, s, d, (lambda g=g: _then(g, progress)) if progress else g)
        for n, s, d, g in tensors
    ]
    sizes = [
        int(np.prod(s, dtype="int64")) * np.dtype(d).itemsize
        for _, s, d, _ in tracked
    ]
    shards, current, current_size = [], [], 0
    for entry, size in zip(tracked, sizes):
        if max_shard_size and current and current_size + size > max_shard_size:
            shards.append(current)
            current, current_size = [], 0
        current.append(entry)
        current_size += size
    shards.append(current)
    for stale in os.listdir(directory):
        if stale in (SINGLE_FILE, INDEX_FILE) or SHARD_FILE.fullmatch(stale):
            os.remove(os.path.join(directory, stale))
    if len(shards) == 1:
        write_safetensors(
            os.path.join(directory, SINGLE_FILE), shards[0], metadata
        )
        return
    weight_map = {}
    for index, shard in enumerate(shards):
        name = f"model-{index + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(directory, name), shard, metadata)
        weight_map.update({entry[0]: name for entry in shard})
    with open(os.path.join(directory, INDEX_FILE), "w",
              encoding="utf-8") as file:
        json.dump(
            {"metadata": {"total_size": sum(sizes)}, "weight_map": weight_map},
            file, indent=2,
        )


def _then(get_array, callback):
    array = get_array()
    callback()
    return array
