"""perfxl: the yearly round trip of budget performance targets (预算绩效目标) in Excel."""

__version__ = "0.1.0"
