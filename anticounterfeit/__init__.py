"""Anti-counterfeit codes: the code format, GS1 Digital Link helpers and offline region lookup."""
