"""Names of the evaluation suites (a light module: the CLI imports it without loading torch)."""
SUITES = ("table1", "table2", "id", "perturb")
