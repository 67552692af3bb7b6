"""Hyperparameter search (`shochu tune`) and progressive distillation (`shochu progressive`)."""
