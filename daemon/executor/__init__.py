"""The executor: performs policy and operator decisions through the pre-change backup gate."""
