"""Developer tools that do not ship in the wheel: the benchmark behind ``skindoctor bench`` and the
synthetic camera clips used by tests and benchmarks. Available in a source checkout (``pip install -e``)."""
