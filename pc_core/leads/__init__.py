"""The lead inventory and what acts on it directly: ``inventory`` (each partner's leads,
their canonical stage and marketplace status, notes, per-field change times),
``csv_import`` (CSV import with a per-row error report) and ``rooms`` (who may follow a
lead live in its Socket.IO room). The lead models live in ``pc_core.models.leads``."""
