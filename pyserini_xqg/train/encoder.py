"""Standard multilingual fine-tuning of a dense retriever, the comparison for xQG.

Tevatron-style contrastive training of one tied encoder: each query is scored against
its positive passage, the other queries' positives (in-batch negatives) and one BM25
hard negative per query, with a softmax cross-entropy at a temperature. On the
built-in sample, hard negatives are BM25's best non-relevant passages for the query's
English translation (native queries share almost no words with English passages); a
DPR/XOR-TyDi-style JSONL may carry its own ``hard_negative_ctxs``. The model keeps
its recipe (pooling, prefixes, normalisation); word embeddings are frozen, which keeps
the optimiser small. The result is a transformers folder that ``encode`` and ``search`` take.

Two defences against noisy queries (``perturb.noise``): typos-aware training (Zhuang and
Zuccon, EMNLP 2021) replaces each training query, with probability ``noise_rate``, by a
perturbed copy from the ``query_noise`` attacks (in the language of its record's ``lang``);
self-teaching (Zhuang and Zuccon, SIGIR 2022) instead keeps the loss on the clean query and adds
``self_teaching`` * KL(p_clean || p_noisy) between the clean and the perturbed query's in-batch
score distributions, the clean one detached (the teacher).
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from ..encode import models
from ..encode.dtype import auto_dtype
from ..encode.embedder import RECIPE_FILE, default_recipe, passage_text, pool, token_batches
from ..index import lucene as lucene_index
from ..io.collection import Passage, load_corpus, load_qrels, load_topics
from ..io.files import DataError, iter_jsonl, nfc
from ..io.languages import check_language
from ..io.sample import Sample
from ..perturb.noise import Noise
from ..search import lucene
from .common import check_schedule, ctx_passage, save_model, shuffled_batches


@dataclass
class EncoderTraining:
    output: str
    model: str = models.BUILTIN_MODEL
    train: str = "sample"
    steps: int = 60
    batch_size: int = 8
    learning_rate: float = 2e-5
    temperature: float = 0.05
    passage_max_length: int = 192
    seed: int = 0
    device: str = "cpu"
    dtype: str = "auto"           # the forward passes' autocast: bf16, or fp32 (auto: as encoding, bf16 where native)
    max_tokens: int = 2048        # a batch's passages are encoded in length-sorted chunks of this padded size
    query_noise: list[str] = field(default_factory=list)  # attacks for noise-aware training (none: standard)
    noise_rate: float = 0.5       # probability that a training query is replaced by a perturbed copy
    noise_edit_rate: float = 0.1  # the attacks' share of graphemes or words edited
    self_teaching: float = 0.0    # W: weight of KL(p_clean || p_noisy); > 0 trains on the clean query

    def noise(self) -> Noise | None:
        """The training queries' noise, or None (standard training); bad settings are a ValueError."""
        if not 0 <= self.noise_rate <= 1 or self.self_teaching < 0:
            raise ValueError(f"--noise-rate must be in [0, 1] and --self-teaching >= 0, not {self.noise_rate} "
                             f"and {self.self_teaching}")
        if not self.query_noise:
            if self.self_teaching:
                raise ValueError("--self-teaching needs --query-noise ATTACK...: the perturbed queries it teaches")
            return None
        return Noise(tuple(self.query_noise), self.noise_edit_rate, self.seed)


class Example(NamedTuple):
    query: str
    positive: Passage
    negative: Passage | None  # a hard negative
    lang: str | None = None   # the query's language, where known (query noise needs it)


def sample_examples(split: str = "train", depth: int = 10, seed: int = 0) -> list[Example]:
    """(native query, positive passage, BM25 hard negative) from the built-in sample."""
    import tempfile

    sample = Sample()
    corpus = load_corpus(sample.corpus)
    qrels = load_qrels(sample.qrels(split), set(corpus))
    rng = random.Random(seed)
    native, english, languages = {}, {}, {}
    for lang in sample.languages:
        topics = load_topics(sample.topics(split, lang))
        native.update(topics)
        languages.update(dict.fromkeys(topics, lang))
        english.update(load_topics(sample.topics(split, lang, english=True)))
    with tempfile.TemporaryDirectory() as tmp:
        hits = lucene.search(lucene_index.build_index(sample.corpus, f"{tmp}/bm25"), english, depth)
    examples = []
    for qid, text in native.items():
        negatives = [d for d, _ in hits.get(qid, []) if d not in qrels[qid]]
        negative = corpus[rng.choice(negatives[:3])] if negatives else None
        examples += [Example(text, corpus[d], negative, languages[qid]) for d, rel in qrels[qid].items() if rel > 0]
    return examples


def file_examples(path: str) -> list[Example]:
    """DPR/XOR-TyDi-style JSONL: question, positive_ctxs, optional hard_negative_ctxs and lang."""
    examples = []
    for number, obj in iter_jsonl(path):
        question, positives = obj.get("question", obj.get("query")), obj.get("positive_ctxs", obj.get("positive_passages"))
        if not isinstance(question, str) or not isinstance(positives, list) or not positives:
            raise DataError(path, number, "expected question (or query) and a non-empty positive_ctxs")
        negatives = obj.get("hard_negative_ctxs", obj.get("negative_passages")) or []
        lang = check_language(obj["lang"], path, number) if obj.get("lang") is not None else None
        for positive in positives:
            examples.append(Example(nfc(question), ctx_passage(positive, path, number),
                                    ctx_passage(negatives[0], path, number) if negatives else None, lang))
    if not examples:
        raise DataError(path, None, "no training examples: the file is empty")
    return examples


def noise_key(step: int, position: int) -> str:
    """The name under which the query at ``position`` of step ``step``'s batch is drawn and attacked."""
    return f"step{step}.{position}"


def training_queries(batch: list[Example], step: int, noise: Noise | None, rate: float) -> list[tuple[str, str]]:
    """(query, what) for each example of step ``step``'s batch: with probability ``rate``, a perturbed copy
    (``noise.perturb`` under ``noise_key``) and the attack that made it; else the query itself and why:
    ``clean`` (not drawn), ``no language`` (its record has no ``lang``), ``not applicable`` (no listed attack
    changes it). ``noise`` None: every query clean."""
    made = [(e.query, "clean") for e in batch]
    if noise is None:
        return made
    keys = [noise_key(step, i) for i in range(len(batch))]
    drawn: dict[str, dict[str, str]] = {}  # language -> key -> query
    for i, (e, key) in enumerate(zip(batch, keys)):
        if noise.rng(key, "draw").random() < rate:
            made[i] = (e.query, "not applicable" if e.lang else "no language")
            if e.lang:
                drawn.setdefault(e.lang, {})[key] = e.query
    copies = {key: copy for lang, texts in drawn.items() for key, copy in noise.perturb(texts, lang).items()}
    return [copies.get(key, m) for key, m in zip(keys, made)]


def contrastive_loss(q, p, temperature: float, q_noisy=None, self_teaching: float = 0.0):
    """Cross-entropy of each query (row i of ``q``) against its positive (row i of ``p``) among every passage
    of the batch, at ``temperature``; with ``q_noisy``, plus ``self_teaching`` * KL(p_clean || p_noisy) over
    the same in-batch scores (batch mean), the clean distribution detached: the teacher."""
    import torch
    from torch.nn import functional as F

    scores = q @ p.T / temperature
    loss = F.cross_entropy(scores, torch.arange(len(q), device=scores.device))
    if q_noisy is None:
        return loss
    noisy = q_noisy @ p.T / temperature
    return loss + self_teaching * F.kl_div(F.log_softmax(noisy, 1), F.log_softmax(scores.detach(), 1),
                                           reduction="batchmean", log_target=True)


def encode_in_chunks(model, tokenizer, recipe, texts: list[str], max_length: int, max_tokens: int,
                     device: str = "cpu"):
    """Pooled vectors of ``texts`` in their order (with gradients), encoded in length-sorted chunks whose padded
    size stays within ``max_tokens`` (``embedder.token_batches``, as encoding cuts them): a batch of short
    passages is not padded to its longest."""
    import torch

    length = min(max_length, tokenizer.model_max_length)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=length)["input_ids"]]
    order, parts = [], []
    for chunk in token_batches(lengths, len(texts), max_tokens):
        enc = tokenizer([texts[i] for i in chunk], padding=True, truncation=True, max_length=length,
                        return_tensors="pt").to(device)
        parts.append(pool(model(**enc).last_hidden_state, enc["attention_mask"], recipe))
        order += chunk
    return torch.cat(parts)[torch.tensor(order, device=device).argsort()]


def training_dtype(dtype: str, device: str = "cpu") -> str:
    """The forward passes' dtype: ``bf16`` (autocast; weights and optimizer state stay fp32) or ``fp32``. ``auto``
    follows encoding's rule (bf16 on a native-bf16 CPU or a bf16 GPU, ``$PYSERINI_XQG_DTYPE`` forcing it), but
    never fp16, which would need loss scaling."""
    if dtype not in ("auto", "fp32", "bf16"):
        raise ValueError(f"--dtype for training must be auto, fp32 or bf16, not {dtype!r}")
    return "bf16" if dtype == "bf16" or (dtype == "auto" and auto_dtype(device) == "bf16") else "fp32"


def train(args: EncoderTraining, progress: bool = True) -> dict:
    """Fine-tune ``args.model`` contrastively and save it to ``args.output``; returns the training log."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer

    check_schedule(args.steps, args.batch_size, args.learning_rate)
    noise = args.noise()
    recipe = default_recipe(args.model)
    examples = sample_examples(seed=args.seed) if args.train == "sample" else file_examples(args.train)
    if noise is not None and args.noise_rate and not any(e.lang for e in examples):
        raise ValueError(f"--query-noise needs each training query's language: the records of {args.train} "
                         "carry no 'lang'")
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    path = models.resolve(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).to(args.device).train()  # fp32 master weights and optimizer state
    model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate)
    dtype = training_dtype(args.dtype, args.device)
    autocast = torch.autocast(args.device.partition(":")[0], dtype=torch.bfloat16, enabled=dtype == "bf16")

    def encode(texts, max_length):
        with autocast:
            return encode_in_chunks(model, tokenizer, recipe, texts, max_length, args.max_tokens, args.device)

    def encode_queries(queries):
        return encode([recipe.query_prefix + query for query in queries], recipe.query_max_length)

    losses, made = [], Counter()
    batches = shuffled_batches(examples, args.batch_size, rng)
    for step in tqdm(range(args.steps), desc="train-encoder", unit="step", disable=not progress):
        batch = next(batches)
        queries = training_queries(batch, step, noise, args.noise_rate)
        made.update(what for _, what in queries)
        passages = [e.positive for e in batch] + [e.negative for e in batch if e.negative is not None]
        if args.self_teaching:  # the loss on the clean query, the perturbed one taught by it
            q, q_noisy = encode_queries([e.query for e in batch]), encode_queries([text for text, _ in queries])
        else:  # typos-aware (or, without noise, standard) training: the loss on the query as drawn
            q, q_noisy = encode_queries([text for text, _ in queries]), None
        p = encode([recipe.passage_prefix + passage_text(x.text, x.title) for x in passages], args.passage_max_length)
        loss = contrastive_loss(q, p, args.temperature, q_noisy, args.self_teaching)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach().item())
    log = {"args": asdict(args), "examples": len(examples), "recipe": asdict(recipe), "dtype": dtype, "loss": losses}
    if noise is not None:
        log["query_noise"] = {**noise.describe(), "queries": dict(sorted(made.items()))}
    save_model(args.output, model, tokenizer, log, {RECIPE_FILE: asdict(recipe)})
    return log
