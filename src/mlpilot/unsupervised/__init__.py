"""Learning without (many) labels, book chapters 8–9: reduce, cluster, find anomalies, label.

Every step takes a table (or an array), turns it into numbers with :mod:`.inputs` (the same
fitted transformer later assigns new rows), and returns a result that can be printed,
saved as JSON and written as a self-contained HTML report (:mod:`.page`).
"""
