"""Stage 3, the claims: takes the tables and the one registry of published claims; gives verdicts with
their intervals: which lengths each cell solves, and every literature row of the reports, judged."""
