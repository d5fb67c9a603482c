"""Training the MEMORY model: SFT with answer-only loss, merging, serving recipes."""
