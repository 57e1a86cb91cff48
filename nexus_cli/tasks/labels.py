"""The labels that make a task a workflow stage: its workflow, its stage and the stage's persona.

``nexus workflow run`` writes them (:mod:`nexus_cli.workflows.instantiate`); the stage's persona
switch (:mod:`nexus_cli.tasks.stage_persona`), the task and workflow metrics and the cost report
read them. Labels come from ``tasks.jsonl``: a reader checks a name before it uses one.
"""

from __future__ import annotations

LABEL_WORKFLOW = "workflow:"
LABEL_STAGE = "stage:"
LABEL_PERSONA = "persona:"
