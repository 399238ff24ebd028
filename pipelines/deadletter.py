"""The tagged output every DoFn sends bad records to (with a reason), instead of raising."""

DEAD_LETTER = "dead_letter"
