"""Evaluation of GGSL classifiers: metrics, error analyses, plots and reports.

The modules follow Sect. 4 and Appendix A of Angora et al. (2023):

- ``ggsltools.evaluation.metrics``: confusion matrix, average efficiency, purity,
  completeness, F1, ROC curve and AUC, per-fold statistics, purity and completeness
  against the threshold, the subset without adversarial examples.
- ``ggsltools.evaluation.redsequence``: the robust colour-magnitude fit of the
  members and their normalised colour.
- ``ggsltools.evaluation.errors``: false positives and false negatives against the
  properties of the lenses and sources (Tables A.4, A.5).
- ``ggsltools.evaluation.completeness``: injection-recovery completeness maps with
  binomial intervals, and the correction of observed counts.
- ``ggsltools.evaluation.scaling``: Einstein radii of the secondary critical lines
  against the singular-isothermal-sphere prediction of the member scaling relation.
- ``ggsltools.evaluation.plots``: the figures.
- ``ggsltools.evaluation.report``: candidate thumbnails and the HTML report.
- ``ggsltools.evaluation.evaluate``: all of the above for several classifiers at
  once, as ``ggsltools evaluate`` runs it.
"""

from ..exceptions import GGSLToolsWarning

__all__ = ["EvaluationWarning"]


class EvaluationWarning(GGSLToolsWarning):
    """A metric is undefined for the input (an empty class, equal probabilities,
    NaN probabilities) and was set to NaN, or rows were left out."""
