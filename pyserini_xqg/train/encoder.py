"""Standard multilingual fine-tuning of a dense retriever, the comparison for xQG.

Tevatron-style contrastive training of one tied encoder: each query is scored against
its positive passage, the other queries' positives (in-batch negatives) and one BM25
hard negative per query, with a softmax cross-entropy at a temperature. On the
built-in sample, hard negatives are BM25's best non-relevant passages for the query's
English translation (native queries share almost no words with English passages); a
DPR/XOR-TyDi-style JSONL may carry its own ``hard_negative_ctxs``. The model keeps
its recipe (pooling, prefixes, normalisation); word embeddings are frozen, which keeps
the optimiser small. The result is a transformers folder that ``encode`` and ``search`` take.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from ..encode import models
from ..encode.embedder import RECIPE_FILE, default_recipe, passage_text, pool
from ..index import lucene as lucene_index
from ..io.collection import Passage, load_corpus, load_qrels, load_topics
from ..io.files import DataError, iter_jsonl, nfc
from ..io.sample import Sample
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


Example = tuple[str, Passage, Passage | None]  # query, positive, hard negative


def sample_examples(split: str = "train", depth: int = 10, seed: int = 0) -> list[Example]:
    """(native query, positive passage, BM25 hard negative) from the built-in sample."""
    import tempfile

    sample = Sample()
    corpus = load_corpus(sample.corpus)
    qrels = load_qrels(sample.qrels(split), set(corpus))
    rng = random.Random(seed)
    native, english = {}, {}
    for lang in sample.languages:
        native.update(load_topics(sample.topics(split, lang)))
        english.update(load_topics(sample.topics(split, lang, english=True)))
    with tempfile.TemporaryDirectory() as tmp:
        hits = lucene.search(lucene_index.build_index(sample.corpus, f"{tmp}/bm25"), english, depth)
    examples = []
    for qid, text in native.items():
        negatives = [d for d, _ in hits.get(qid, []) if d not in qrels[qid]]
        negative = corpus[rng.choice(negatives[:3])] if negatives else None
        examples += [(text, corpus[d], negative) for d, rel in qrels[qid].items() if rel > 0]
    return examples


def file_examples(path: str) -> list[Example]:
    """DPR/XOR-TyDi-style JSONL: question, positive_ctxs, optional hard_negative_ctxs."""
    examples = []
    for number, obj in iter_jsonl(path):
        question, positives = obj.get("question", obj.get("query")), obj.get("positive_ctxs", obj.get("positive_passages"))
        if not isinstance(question, str) or not isinstance(positives, list) or not positives:
            raise DataError(path, number, "expected question (or query) and a non-empty positive_ctxs")
        negatives = obj.get("hard_negative_ctxs", obj.get("negative_passages")) or []
        for positive in positives:
            examples.append((nfc(question), ctx_passage(positive, path, number),
                             ctx_passage(negatives[0], path, number) if negatives else None))
    if not examples:
        raise DataError(path, None, "no training examples: the file is empty")
    return examples


def train(args: EncoderTraining, progress: bool = True) -> dict:
    """Fine-tune ``args.model`` contrastively and save it to ``args.output``; returns the training log."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer

    check_schedule(args.steps, args.batch_size, args.learning_rate)
    recipe = default_recipe(args.model)
    examples = sample_examples(seed=args.seed) if args.train == "sample" else file_examples(args.train)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    path = models.resolve(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).to(args.device).train()
    model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate)

    def encode(texts, max_length):
        enc = tokenizer(texts, padding=True, truncation=True, max_length=min(max_length, tokenizer.model_max_length),
                        return_tensors="pt").to(args.device)
        return pool(model(**enc).last_hidden_state, enc["attention_mask"], recipe)

    losses = []
    batches = shuffled_batches(examples, args.batch_size, rng)
    for _ in tqdm(range(args.steps), desc="train-encoder", unit="step", disable=not progress):
        batch = next(batches)
        passages = [p for _, p, _ in batch] + [n for _, _, n in batch if n is not None]
        q = encode([recipe.query_prefix + query for query, _, _ in batch], recipe.query_max_length)
        p = encode([recipe.passage_prefix + passage_text(x.text, x.title) for x in passages], args.passage_max_length)
        scores = q @ p.T / args.temperature
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch), device=scores.device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach().item())
    log = {"args": asdict(args), "examples": len(examples), "recipe": asdict(recipe), "loss": losses}
    save_model(args.output, model, tokenizer, log, {RECIPE_FILE: asdict(recipe)})
    return log
