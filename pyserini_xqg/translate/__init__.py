"""Translation, one layer for every model family, below ``generate`` (translate-generate xQG) and
``perturb`` (the back-translation and paraphrase attacks); it imports neither.

    tr = load_translator("facebook/nllb-200-distilled-600M")   # or a local folder, or "ct2:DIR"
    tr.translate(["Where is the Nile?"], "en", "ha", Decoding(num_candidates=2))
"""
from .backends import CTranslate2Translator, TransformersTranslator, load_translator
from .codes import FAMILIES
from .translator import PROMPT, Decoding, Translator

__all__ = ["load_translator", "Translator", "Decoding", "TransformersTranslator", "CTranslate2Translator",
           "FAMILIES", "PROMPT"]
