"""Human coding: decision rules, the SQLite log, decisions merged into codes, queue, agreement, transfer."""
