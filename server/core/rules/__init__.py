"""Playbook rules as objects: one class per rule, built from a playbook as one set.

Adding a rule: its class here (in the module of its kind), its settings, texts and name in
models/playbook.py. Nothing else changes: `build_rules` finds it by name.
"""

from __future__ import annotations

from typing import Any

from models.playbook import Playbook, RuleName
from server.core.rules import language, talk, voice
from server.core.rules.base import Armed, Candidate, Evidence, Measures, Needs, Rule, registered

__all__ = ["Armed", "Candidate", "Evidence", "Measures", "Needs", "Rule", "build_rules"]
_KINDS = (talk, language, voice)  # importing them registers their rules


def build_rules(playbook: Playbook) -> list[Rule[Any]]:
    """The enabled rules of `playbook`, in the playbook's order."""
    classes = registered()
    rules: list[Rule[Any]] = []
    for name in RuleName:
        settings = getattr(playbook.rules, name.value)
        if settings.enabled:
            rules.append(classes[name](settings))
    return rules
