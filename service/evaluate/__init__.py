"""Evaluation of answers on question sets, with a regression gate: ``citechat eval``."""
