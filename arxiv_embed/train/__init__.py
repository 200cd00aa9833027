"""Fine-tuning: base models, the token cache, length-grouped samplers, label-aware losses, torchrun."""
