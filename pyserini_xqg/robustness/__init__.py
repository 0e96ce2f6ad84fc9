"""Robustness: the model-guided attack, per-query measures of how results move, the robustness report and the study."""
