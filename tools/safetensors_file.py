"""safetensors_file.py — the one safetensors writer of the converters in tools/.

The format: an 8-byte little-endian header length, a JSON header (name -> dtype, shape, byte
offsets; optional "__metadata__" of strings) padded with spaces to 8 bytes, then the raw
little-endian data. Written atomically: a temporary file beside the target, fsync, rename.
Needs no torch and no numpy (convert_mtcnn.py --f32 runs on a bare Python).
"""
import json
import os
import struct


def f32_entry(name, array):
    """(name, shape, bytes) of a numpy array or a torch tensor, as little-endian float32."""
    if hasattr(array, "detach"):  # a torch tensor
        array = array.detach().cpu().float().contiguous().numpy()
    import numpy as np
    a = np.ascontiguousarray(array, dtype="<f4")
    return name, list(a.shape), a.tobytes()


def write_safetensors(path, entries, metadata=None):
    """entries: (name, shape, float32 little-endian bytes) in file order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, shape, data in entries:
        header[name] = {"dtype": "F32", "shape": [int(s) for s in shape], "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the payload starts 8-byte aligned
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for _, _, data in entries:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
