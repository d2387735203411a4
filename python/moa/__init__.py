"""moa: attention derived by the Mathematics of Arrays.

    import moa
    out = moa.attention(q, k, v, is_causal=True)        # NumPy arrays or torch tensors
    d = moa.derive(source)                               # the derivation of a PyTorch spec
    o = moa.run(d, q=q, k=k, v=v)                        # the spec through the ONF interpreter
    out = moa.ring_attention(q_rows, k_rows, v_rows)     # under mpiexec: this rank's shard (mpi4py)
    out = moa.split_kv_attention(q, k_rows, v_rows)      # under mpiexec: every rank's queries

`attention` has the signature and semantics of torch.nn.functional.scaled_dot_product_attention
(query (..., L, E), key (..., S, E), value (..., S, Ev); leading dimensions broadcast), runs moa's
fused CPU kernels and returns the kind of array it was given. bfloat16: torch bfloat16 tensors
directly; with NumPy, wrap uint16 bit patterns in `moa.BFloat16` (see `moa.bfloat16`).
"""
import json
import math
import os
import sys

import numpy as np

from . import _moa
from ._moa import SpecError

__version__ = _moa.__version__
__all__ = ["attention", "ring_attention", "split_kv_attention", "derive", "run", "Derivation", "BFloat16", "bfloat16", "SpecError"]


class BFloat16:
    """A NumPy array of bfloat16 values, stored as their uint16 bit patterns.

    NumPy has no bfloat16 dtype; this is the documented route for bfloat16 NumPy data:
    `moa.attention(moa.bfloat16(q), moa.bfloat16(k), moa.bfloat16(v))` returns a BFloat16 too
    (call `.to_float32()` on it)."""

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise TypeError(f"BFloat16 wraps uint16 bit patterns, got dtype {bits.dtype}")
        self.bits = bits

    @property
    def shape(self):
        return self.bits.shape

    @property
    def ndim(self):
        return self.bits.ndim

    def to_float32(self):
        return _moa._float32_from_bfloat16(self.bits)

    def __repr__(self):
        return f"BFloat16(shape={self.bits.shape})"


def bfloat16(array):
    """Rounds a float array to bfloat16 (nearest even) and wraps it as BFloat16."""
    a = np.asarray(array)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"array: expected real numbers (float or integer), got dtype {a.dtype}")
    return BFloat16(_moa._bfloat16_from_float32(a.astype(np.float32, copy=False)))


# ---------------------------------------------------------------------------------------------
# attention


def _torch():
    """torch if it is imported already (any tensor passed in implies it): NumPy callers never pay
    for importing it (seconds on the first call)."""
    return sys.modules.get("torch")


_NUMPY_DTYPES = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32",
                 np.dtype(np.bool_): "bool"}
_TORCH_DTYPES = {}


def _torch_dtypes(torch):
    if not _TORCH_DTYPES:
        _TORCH_DTYPES.update({torch.float64: "float64", torch.float32: "float32", torch.bool: "bool"})
    return _TORCH_DTYPES


class _Arg:
    """One array argument reduced to (NumPy view, moa dtype name), remembering where it came from."""

    def __init__(self, x, name, torch):
        self.is_torch = torch is not None and isinstance(x, torch.Tensor)
        if self.is_torch:
            if x.device.type != "cpu":
                raise TypeError(f"{name}: moa runs on the CPU; got a tensor on '{x.device}'")
            if x.requires_grad:
                if torch.is_grad_enabled():
                    # The kernels have no backward: detaching here would hand back an output
                    # with no grad_fn, and a training loop would run and learn nothing.
                    raise RuntimeError(
                        f"{name}: requires_grad=True, but moa's attention has no backward yet, so "
                        "no gradient would reach it; for inference call it under torch.no_grad() "
                        "or on .detach()ed tensors")
                x = x.detach()
            if x.dtype == torch.bfloat16:
                self.dtype, self.array = "bfloat16", x.view(torch.int16).numpy().view(np.uint16)
            else:
                self.dtype = _torch_dtypes(torch).get(x.dtype)
                if self.dtype is None:
                    raise TypeError(f"{name}: unsupported dtype {x.dtype} (expected float64, float32 or bfloat16)")
                self.array = x.numpy()
        elif isinstance(x, BFloat16):
            self.dtype, self.array = "bfloat16", x.bits
        elif isinstance(x, np.ndarray):
            self.dtype, self.array = _NUMPY_DTYPES.get(x.dtype), x
            if self.dtype is None:
                raise TypeError(f"{name}: unsupported dtype {x.dtype} (expected float64 or float32; "
                                "bfloat16 through moa.bfloat16)")
        else:
            raise TypeError(f"{name}: expected a NumPy array or a torch tensor, got {type(x).__name__}")
        if name != "attn_mask" and self.array.ndim < 2:
            raise ValueError(f"{name}: expected at least 2 dimensions (..., seq, dim), got shape {self.array.shape}")


def _broadcast(shapes, names):
    if all(s == shapes[0] for s in shapes):
        return tuple(shapes[0])
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("leading dimensions do not broadcast: " +
                         ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))) from None


def _batch_heads(lead):
    """The kernels' (B, H) for leading dimensions `lead`: H is the last, B the product of the rest."""
    h = lead[-1] if lead else 1
    b = int(np.prod(lead[:-1])) if len(lead) > 1 else 1
    return b, h


def _as_4d(array, lead):
    """Views `array` (lead..., rows, cols) as (B, H, rows, cols), broadcasting to `lead` first."""
    if array.ndim == 4 and array.shape[:2] == lead:
        return array  # already (B, H, rows, cols): the common case, no NumPy calls
    rows, cols = array.shape[-2:]
    full = np.broadcast_to(array, lead + (rows, cols))
    return full.reshape(*_batch_heads(lead), rows, cols)  # a view where strides allow, else a copy


def _check_count(name, x, bound):
    """None, or an int in [1, bound)."""
    if x is None:
        return
    if not _is_int(x) or x < 1:
        raise ValueError(f"{name} must be a positive int, got {x!r}")
    if x >= bound:
        raise ValueError(f"{name} must be below {bound}, got {x!r}")


def _copy_needed(array, broadcast):
    """Whether the kernels cannot read `array` through its strides: a stride that is not a whole
    number of elements, or (unless `broadcast`) a stride 0."""
    return any(s % array.itemsize for s in array.strides) or (not broadcast and 0 in array.strides)


def _is_int(x):
    """An integer, Python's or NumPy's, and not a bool (True is no thread count)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_bool(name, x):
    """x itself, a bool (Python's or NumPy's): a string such as "no" would be true, 0.5 too."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool (True or False), got {type(x).__name__} {x!r}")
    return bool(x)


def _check_real(name, x):
    """x as a float: an int or a float (Python's or NumPy's); not a bool, str, or complex."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a real number (int or float), got {type(x).__name__} {x!r}")
    return float(x)


def attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False, *, causal_alignment="top_left", return_lse=False, num_threads=None,
              blocks=None, kv_splits=None):
    """softmax(query @ key.transpose(-2, -1) * scale + mask) @ value, as
    torch.nn.functional.scaled_dot_product_attention computes it, on moa's fused CPU kernels.

    Args:
      query: (..., L, E); key: (..., S, E); value: (..., S, Ev). NumPy arrays (float64, float32,
        or moa.BFloat16) or CPU torch tensors (float64, float32, bfloat16); all of one dtype.
        Leading dimensions broadcast as in PyTorch.
      attn_mask: bool (True = attend) or float (added to the scores), broadcastable to (..., L, S).
      dropout_p: must be 0 (dropout is not implemented).
      is_causal: mask out keys after the query's position (see causal_alignment).
      scale: multiplies the scores; default 1/sqrt(E).
      enable_gqa: allow key/value heads (dim -3) to divide the query heads (grouped-query
        attention); query head h reads key/value head h // (Hq // Hkv).
      causal_alignment: "top_left" (PyTorch: query i sees keys j <= i) or "bottom_right"
        (FlashAttention: j <= i + S - L).
      return_lse: also return the log-sum-exp of each score row, shape (..., L); -inf for a fully
        masked row (whose output is 0, never NaN). A NaN in query, or in a key row a query sees,
        gives that row (and its LSE) NaN, and a NaN in a value row the columns it reaches, as in
        PyTorch.
      num_threads: worker threads (default: OMP_NUM_THREADS, else the cores this process may run on).
      blocks: (query rows per task, key rows per tile), multiples of 64 and 32; default: the cost
        model's choice for this machine and problem.
      kv_splits: split each query block's keys into this many ranges, run as separate tasks and
        combined exactly (split-KV); default: split only when there are too few (batch, head,
        query block) tasks for this machine's cores, as when decoding one sequence.

    Returns the output (..., L, Ev) of the same kind as `query` (and the LSE when asked); float32
    for bfloat16 NumPy input is returned as moa.BFloat16 of bfloat16 values.
    Raises ValueError / TypeError naming the argument for a bad call.
    """
    call = _Call(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                 causal_alignment, return_lse, num_threads, blocks, kv_splits, mask_keys="key")
    _moa._attention(*call.arguments())
    return call.result()


class _Call:
    """One call's arguments checked and brought to the kernels' 4-D views, its output allocated;
    shared by attention and ring_attention. mask_keys: "key" broadcasts the mask to key's length;
    "own" keeps the mask's last dimension (1 or the global key count, which only the ring knows)."""

    def __init__(self, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                 causal_alignment, return_lse, num_threads, blocks, kv_splits, mask_keys):
        if _check_real("dropout_p", dropout_p) != 0.0:
            raise ValueError(f"dropout_p={dropout_p}: dropout is not implemented; pass dropout_p=0.0")
        if not isinstance(causal_alignment, str) or causal_alignment not in ("top_left", "bottom_right"):
            raise ValueError(f"causal_alignment must be 'top_left' or 'bottom_right', got {causal_alignment!r}")
        is_causal = _check_bool("is_causal", is_causal)
        enable_gqa = _check_bool("enable_gqa", enable_gqa)
        return_lse = _check_bool("return_lse", return_lse)
        scale = None if scale is None else _check_real("scale", scale)
        # Ranges the extension's int32 / int64 parameters hold: checked here, where an error can
        # still be agreed across ranks (ring_attention), not in the argument conversion.
        _check_count("num_threads", num_threads, 2**31)
        if blocks is not None and (not isinstance(blocks, tuple) or len(blocks) != 2
                                   or not all(_is_int(b) and -2**63 <= b < 2**63 for b in blocks)):
            raise ValueError(f"blocks must be a tuple (block_q, block_k) of ints, got {blocks!r}")
        _check_count("kv_splits", kv_splits, 2**63)
        num_threads, kv_splits = [None if x is None else int(x) for x in (num_threads, kv_splits)]
        blocks = None if blocks is None else (int(blocks[0]), int(blocks[1]))
        self.torch = torch = _torch()
        q, k, v = _Arg(query, "query", torch), _Arg(key, "key", torch), _Arg(value, "value", torch)
        if not (q.dtype == k.dtype == v.dtype):
            raise TypeError(f"query, key and value need one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
        if q.dtype == "bool":
            raise TypeError("query: unsupported dtype bool (expected float64, float32 or bfloat16)")
        L, E = q.array.shape[-2:]
        S, Ek = k.array.shape[-2:]
        if Ek != E:
            raise ValueError(f"key: last dimension {Ek} must equal query's {E}")
        if v.array.shape[-2] != S:
            raise ValueError(f"value: sequence length {v.array.shape[-2]} must equal key's {S}")

        ql, kl, vl = q.array.shape[:-2], k.array.shape[:-2], v.array.shape[:-2]
        if kl != vl:
            raise ValueError(f"key and value need the same leading dimensions, got {kl} and {vl}")
        if enable_gqa and ql and kl and ql[-1] != kl[-1]:
            hq, hkv = ql[-1], kl[-1]
            if hq % hkv != 0:
                raise ValueError(f"enable_gqa: query heads ({hq}) must be a multiple of key/value heads ({hkv})")
            lead_q = _broadcast([ql[:-1], kl[:-1]], ["query", "key"]) + (hq,)
            lead_kv = lead_q[:-1] + (hkv,)
        else:
            lead_q = lead_kv = _broadcast([ql, kl], ["query", "key"])
        q4, k4, v4 = _as_4d(q.array, lead_q), _as_4d(k.array, lead_kv), _as_4d(v.array, lead_kv)
        # The kernels read q, k, v through strides but do not broadcast them, and count strides
        # in elements: copy a stride-0 (broadcast) view, or one whose strides are not whole
        # elements (a field of a structured array), only when one occurs.
        q4, k4, v4 = [np.ascontiguousarray(x) if _copy_needed(x, broadcast=False) else x
                      for x in (q4, k4, v4)]

        mask4, mask_dtype = None, ""
        if attn_mask is not None:
            m = _Arg(attn_mask, "attn_mask", torch)
            marr = m.array
            keys = S if mask_keys == "key" else (marr.shape[-1] if marr.ndim else 1)
            if marr.ndim == 0 or marr.ndim > len(lead_q) + 2:
                raise ValueError(f"attn_mask: shape {marr.shape} does not broadcast to {lead_q + (L, keys)}")
            try:
                full = np.broadcast_to(marr, lead_q + (L, keys))
            except ValueError:
                raise ValueError(f"attn_mask: shape {marr.shape} does not broadcast to {lead_q + (L, keys)}") from None
            if m.dtype == "bool":
                mask_dtype = "bool"
            else:
                want = "float32" if q.dtype == "bfloat16" else q.dtype
                have = m.dtype
                if have == "bfloat16":  # bit patterns (uint16): the top half of a float32
                    full, have = (np.asarray(full, np.uint32) << 16).view(np.float32), "float32"
                if have != want:
                    full = full.astype(want)
                mask_dtype = want
            mask4 = full.reshape(*_batch_heads(lead_q), L, keys)
            mask4 = np.ascontiguousarray(mask4) if _copy_needed(mask4, broadcast=True) else mask4

        self.q, self.lead_q, self.L, self.Ev = q, lead_q, L, v.array.shape[-1]
        out_np = np.uint16 if q.dtype == "bfloat16" else np.dtype(q.dtype)
        self.out4 = np.empty(q4.shape[:2] + (L, self.Ev), dtype=out_np)
        self.lse4 = None
        if return_lse:
            self.lse4 = np.empty(q4.shape[:3], dtype=np.float64 if q.dtype == "float64" else np.float32)
        self._arguments = (q4, k4, v4, self.out4, q.dtype, q.dtype, mask4, mask_dtype,
                           is_causal, causal_alignment == "bottom_right", scale, self.lse4,
                           0 if num_threads is None else num_threads, *(blocks or (0, 0)),
                           0 if kv_splits is None else kv_splits)

    def arguments(self):
        """The arguments of moa._moa._attention (and the first ones of _ring_attention)."""
        return self._arguments

    def result(self):
        """The output (and LSE) in the caller's kind: torch for torch, NumPy or moa.BFloat16."""
        out = self.out4.reshape(self.lead_q + (self.L, self.Ev))
        lse = None if self.lse4 is None else self.lse4.reshape(self.lead_q + (self.L,))
        if self.q.is_torch:
            torch = self.torch
            if self.q.dtype == "bfloat16":
                out = torch.from_numpy(out.view(np.int16)).view(torch.bfloat16)
            else:
                out = torch.from_numpy(out)
            lse = None if lse is None else torch.from_numpy(lse)
        elif self.q.dtype == "bfloat16":
            out = BFloat16(out)
        return out if lse is None else (out, lse)


def ring_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                   enable_gqa=False, *, comm=None, sharding="contiguous",
                   causal_alignment="top_left", return_lse=False, num_threads=None, blocks=None,
                   kv_splits=None):
    """Ring attention over MPI: attention over sequences split across the ranks of `comm`, each
    rank passing its shard of query, key and value along the sequence (dim -2) and getting its
    rows of the output. Collective: every rank of comm calls it. Needs mpi4py (Debian:
    python3-mpi4py) and moa built with MPI.

    The global sequences are the ranks' shards as `sharding` says: "contiguous" (rank r's rows
    follow rank r-1's; any lengths, at least 1 row each) or "zigzag" (the sequence cut into 2P
    chunks whose lengths differ by at most one, the first ones longer; rank r holds chunk r then
    chunk 2P-1-r: under a causal mask every rank has the same work). is_causal compares global
    positions (causal_alignment as in attention, with the global lengths). attn_mask holds this
    rank's query rows over all keys of the global sequence: (..., L_rank, S_total), its last
    dimension 1 or S_total. Everything else (dtypes, GQA, scale, LSE, threads, blocks) is as in
    attention, and must be the same on every rank.

    Args:
      comm: an mpi4py communicator; default MPI.COMM_WORLD.
      sharding: "contiguous" or "zigzag".

    Returns this rank's rows of the output (and LSE), as attention returns them. A bad argument on
    any rank raises on every rank (its own error on that rank, ValueError naming it on the
    others), so that no rank is left waiting in the ring.
    """
    ext, handle, rank = _mpi(comm)

    def make():
        if not isinstance(sharding, str) or sharding not in ("contiguous", "zigzag"):
            raise ValueError(f"sharding must be 'contiguous' or 'zigzag', got {sharding!r}")
        return _Call(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                     causal_alignment, return_lse, num_threads, blocks, kv_splits, mask_keys="own")

    call = _agreed(ext, handle, rank, "moa.ring_attention", make)
    ext._attention_across_ranks(*call.arguments(), handle, sharding)
    return call.result()


def split_kv_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                       scale=None, enable_gqa=False, *, comm=None, causal_alignment="top_left",
                       return_lse=False, num_threads=None, blocks=None, kv_splits=None):
    """Attention of the same queries on every rank over keys and values spread across the ranks
    of `comm`: decoding against a KV cache too long for one machine. Collective. Needs mpi4py.

    query (..., L, E) is whole and the same on every rank; rank r's key and value hold a run of
    the global key rows along dim -2, the ranks in order (any lengths, at least 1 row each).
    Every rank gets the whole output (and LSE), the same bits on every rank. is_causal compares
    global positions (causal_alignment="bottom_right": the queries are the sequence's last L
    rows). attn_mask covers all keys: (..., L, S_total), its last dimension 1 or S_total.
    Everything else is as in attention. Errors as in ring_attention.
    """
    ext, handle, rank = _mpi(comm)

    def make():
        return _Call(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                     causal_alignment, return_lse, num_threads, blocks, kv_splits, mask_keys="own")

    call = _agreed(ext, handle, rank, "moa.split_kv_attention", make)
    ext._attention_across_ranks(*call.arguments(), handle, "split_kv")
    return call.result()


def _mpi(comm):
    """The extension moa._moa_ring, the communicator's handle (comm default: COMM_WORLD), and
    this rank; ImportError, TypeError or ValueError before any collective call."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError("moa: attention across MPI ranks needs mpi4py "
                          "(Debian: apt-get install python3-mpi4py)") from None
    try:
        from . import _moa_ring
    except ImportError:
        raise ImportError("moa: this moa was built without MPI "
                          "(install libopenmpi-dev and rebuild)") from None
    comm = MPI.COMM_WORLD if comm is None else comm
    if not isinstance(comm, MPI.Comm):
        raise TypeError(f"comm: expected an mpi4py communicator, got {type(comm).__name__}")
    if comm == MPI.COMM_NULL:
        raise ValueError("comm: expected a communicator, got MPI.COMM_NULL")
    return _moa_ring, comm.py2f(), comm.Get_rank()


def _agreed(ext, handle, rank, entry, make):
    """make()'s _Call, once every rank has made its own: an error on one rank is raised there
    and, as ValueError naming that rank, on every other, before any rank starts."""
    error, call = None, None
    try:
        call = make()
    except Exception as e:  # noqa: BLE001 — any error here must reach the other ranks too
        error = e
    first = ext._first_error(handle, "" if error is None else f"{entry} (rank {rank}): {error}")
    if error is not None:
        raise error
    if first:
        raise ValueError(first)
    return call


# ---------------------------------------------------------------------------------------------
# the compiler


class Derivation:
    """The derivation of a spec: its expression, the naive intermediates, the DNF, the buffers
    report and the ONF, as `moa derive` prints them.

    Attributes: text (the whole report), expr, dnf, latex, onf, lifted_onf (strings; lifted_onf is
    None unless derived with lift=); steps (list of
    {rule, text}); buffers (list of {name, role, shape, elements, note}); minimal (bool: no
    temporary array); buffers_text (the report's buffers section); naive (list of
    intermediates); json (everything, as `moa derive --json` gives it)."""

    def __init__(self, data, source, is_path, builtin, lift=None):
        self._lift = lift
        self.json = data
        self._source, self._is_path, self._builtin = source, is_path, builtin
        self.text = data["text"]
        self.expr = data["expr"]
        self.dnf = data["dnf"]["text"]
        self.latex = data["dnf"]["latex"]
        self.steps = data["dnf"].get("steps", [])
        self.onf = data["onf"]["text"]
        self.lifted_onf = data.get("lifted_onf", {}).get("text")
        self.buffers = data["buffers"]["entries"]
        self.minimal = data["buffers"]["minimal"]
        self.naive = data["naive"]["intermediates"]
        start = self.text.index("== buffers")
        self.buffers_text = self.text[start:self.text.index("== ONF")].rstrip() + "\n"

    def __repr__(self):
        return f"<moa.Derivation of {self.json['spec']['function']}: {'minimal' if self.minimal else 'NOT minimal'}>"

    def __str__(self):
        return self.text


def _spec_args(source_or_path, builtin):
    if builtin is not None:
        if not isinstance(builtin, str):
            raise TypeError(f"builtin: expected a built-in spec's name (str), got {type(builtin).__name__}")
        if source_or_path is not None:
            raise ValueError("give a spec source/path or builtin=, not both")
        return "", False, builtin
    if not isinstance(source_or_path, (str, os.PathLike)):
        raise TypeError(f"spec: expected Python source or a path, got {type(source_or_path).__name__}")
    text = os.fspath(source_or_path)
    is_path = "\n" not in text and text.endswith(".py")
    if is_path and not os.path.exists(text):
        raise ValueError(f"spec: no such file '{text}'")
    return text, is_path, ""


def _tiles(lift):
    if lift is None:
        return None
    if _is_int(lift):
        lift = (lift, lift)
    if not (isinstance(lift, tuple) and len(lift) in (2, 3) and all(_is_int(t) for t in lift)):
        raise TypeError(f"lift: expected (Bq, Bk) or (Bq, Bk, S) as ints, got {lift!r}")
    lift = tuple(int(t) for t in lift)
    if not all(t < 2**63 for t in lift):
        raise ValueError(f"lift: tile sizes and the split count must be below 2**63, got {lift!r}")
    return lift if len(lift) == 3 else (*lift, 1)


def derive(source_or_path=None, *, builtin=None, steps=False, lift=None):
    """Derives a spec (Python source text, a path to a .py file, or builtin=NAME).

    lift=(Bq, Bk) also lowers the one-pass ONF with queries and keys lifted to those tiles
    (`.lifted_onf`); lift=(Bq, Bk, S) with the keys in S ranges whose online-softmax states are
    combined at the end (split-KV). A spec without a softmax-weighted sum then raises ValueError.
    Returns a Derivation; raises moa.SpecError (a ValueError) pointing at the line and column of
    anything outside the accepted subset."""
    source, is_path, name = _spec_args(source_or_path, builtin)
    data = json.loads(_moa._derive(source, is_path, name, _check_bool("steps", steps), _tiles(lift)))
    return Derivation(data, source, is_path, name, _tiles(lift))


def run(spec, *, sizes=None, seed=0, lift=None, **inputs):
    """Evaluates a spec through the ONF interpreter in float64 (with lift=(Bq, Bk), or a Derivation
    derived with lift=, through the lifted one-pass ONF).

    spec: a Derivation, Python source, or a path. inputs: the spec's arguments by name, as arrays
    (converted to float64; torch tensors too); sizes not given are read from the inputs' shapes;
    missing inputs are drawn at random from `seed`. Returns the output array, or a tuple of them
    when the spec returns several values."""
    tiles = _tiles(lift)
    if isinstance(spec, Derivation):
        source, is_path, name = spec._source, spec._is_path, spec._builtin
        tiles = tiles or spec._lift
    else:
        source, is_path, name = _spec_args(spec, None)
    if sizes is None:
        sizes = {}
    if not isinstance(sizes, dict):
        raise TypeError(f"sizes: expected a dict of size names to ints, got {type(sizes).__name__}")
    for size, value in sizes.items():
        if not isinstance(size, str):
            raise TypeError(f"sizes: expected size names (str) as keys, got {size!r}")
        if not _is_int(value):
            raise TypeError(f"sizes['{size}']: expected an int, got {type(value).__name__} {value!r}")
        if not 0 <= int(value) < 2**63:
            raise ValueError(f"sizes['{size}']: expected a size >= 0 (below 2**63), got {value!r}")
    if not _is_int(seed):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed: expected an int in [0, 2**64), got {seed!r}")
    torch = _torch()
    arrays, dtypes = {}, {}
    for key, x in inputs.items():
        if torch is not None and isinstance(x, torch.Tensor):
            if x.is_complex():
                raise TypeError(f"{key}: complex values are not supported (the imaginary part would be "
                                f"lost); got a tensor of {x.dtype}")
            dtypes[key] = "bool" if x.dtype == torch.bool else str(x.dtype).replace("torch.", "")
            x = x.detach().double().numpy()
        else:
            x = np.asarray(x)
            if x.dtype.kind == "c":
                raise TypeError(f"{key}: complex values are not supported (the imaginary part would be "
                                f"lost); got dtype {x.dtype}")
            if x.dtype.kind not in "biuf":
                raise TypeError(f"{key}: expected an array of real numbers or bools, got dtype {x.dtype}")
            dtypes[key] = str(x.dtype)
        arrays[key] = np.asarray(x, dtype=np.float64)
    outs, _ = _moa._run(source, is_path, name, arrays, dtypes, {k: int(v) for k, v in sizes.items()},
                        int(seed), tiles)
    return outs[0] if len(outs) == 1 else tuple(outs)
