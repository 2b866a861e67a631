"""The dynamic "competitions" partitions every per-competition asset shares."""

import warnings

import dagster as dg

# Partitioned asset checks are marked preview in Dagster 1.13, but they are the documented way to check each
# partition; the warning would print on every import of the definitions.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

competitions_partitions = dg.DynamicPartitionsDefinition(name="competitions")
