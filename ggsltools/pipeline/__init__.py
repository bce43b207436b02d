"""Run the stages of a search in order, each once, from one configuration.

A pipeline is a sequence of `Stage` objects; `run_stages` runs them in order,
each in its own folder, and records what each one did in a manifest
(`ggsltools.pipeline.manifest`). A stage whose configuration, input files and
upstream results have not changed since its manifest was written is skipped; a
stage without a manifest (never run, or interrupted) runs again, and stages
that can resume (the knowledge-base build, training) pick up what their folder
already holds.
"""

from .demo import *  # noqa: F403
from .manifest import *  # noqa: F403
from .runner import *  # noqa: F403
from .stages import *  # noqa: F403
