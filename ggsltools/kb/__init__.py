"""Knowledge base: cutouts of simulated lenses and inspected non-lenses.

`KnowledgeBase` reads a knowledge-base file (see `ggsltools.kb.store` for the
layout); `build_kb` builds one from a configuration; `ggsltools.kb.augment` and
`ggsltools.kb.folds` hold the augmentation and the k-fold splits.
"""

from .store import KBWriter, KnowledgeBase

__all__ = ["KBWriter", "KnowledgeBase"]
