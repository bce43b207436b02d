"""Visual inspection of cluster members and classifier candidates.

Inspectors score each object +1 (a galaxy-galaxy strong lens), +0.5 (possibly
one) or -1 (not one), as in Angora et al. (2023, Sect. 3.2); the mean score of
an object puts it in one of the classes of `INSPECTION_CLASSES`
(`score_classes`). The knowledge base takes its negatives from the
``non-GGSL`` class.

`write_site` writes a static web site to score objects with the keyboard
(`select_objects` chooses and orders them); each inspector exports an ECSV file
(`read_inspection`), and `merge_inspections` combines them into one table with
the classes and the agreement between inspectors.
"""

from .records import *  # noqa: F403
from .redshifts import *  # noqa: F403
from .scores import *  # noqa: F403
from .site import *  # noqa: F403
