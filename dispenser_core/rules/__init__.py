"""The discipline rules as data: punishment bands and how violation days are counted."""

from dispenser_core.rules.bands import Band, RuleSet, rule_set_for

__all__ = ["Band", "RuleSet", "rule_set_for"]
