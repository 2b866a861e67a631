"""The dynamic "competitions" partitions every per-competition asset shares."""

from __future__ import annotations

import dagster as dg

competitions_partitions = dg.DynamicPartitionsDefinition(name="competitions")
