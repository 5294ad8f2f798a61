"""A job's safety risk: what the job is (a workload declaration), and the regulator's rubric that
scores it in basis points of the notional. Pure, and used on both sides: the buyer's command
scores its own declaration, the oracle will score what the evidence shows ran."""
