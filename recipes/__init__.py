"""How each bundled model is rebuilt: one command per model, through the library's entry points.

    python -m recipes human_mirtron   # mirtron_tools/models/human_mirtron.keras (about 1 h on 2 cores)
    python -m recipes premirna        # mirtron_tools/models/premirna.keras (20-25 min)
    python -m recipes genome          # mirtron_tools/models/genome.keras (scans 19,264 introns: hours)
    python -m recipes reads           # genome_reads.keras and human_mirtron_reads.keras (minutes)
    python -m recipes priors          # the prior fields of older hairpin-model manifests

Run from the project root, with the public data in ``MIRTRON_SHARED_DATA`` (default: ``shared/data`` beside
the checkout). The recipes are not part of the installed package: they read raw third-party data formats
from that folder (which the package's ``io`` layer does not read and a user of the package does not have),
and ship nothing; what generalises to any user is library code (``mirtron_tools.training.train``,
``mirtron_tools.genome_training`` behind ``mt-train --genome-scan``, ``mirtron_tools.candidates``,
``mirtron_tools.genome_scan``).

Modules: ``sources`` (the data folder and its two readers), ``chr19_holdout`` (the held-out chromosome
rule), ``human_data`` and ``genome_data`` (every rule applied to the raw files), one module per model
(``human_mirtron``, ``premirna``, ``genome``) with a ``build()`` and the settings the tests compare with the
shipped manifests, and ``priors``.
"""
#: bundled model name -> the recipe module that builds it
RECIPES = {"human_mirtron": "human_mirtron", "premirna": "premirna", "genome": "genome", "reads": "reads"}
